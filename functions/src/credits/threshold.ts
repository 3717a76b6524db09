/**
 * The freemium threshold: true exactly once per session when remaining first drops to
 * `freemiumThresholdSeconds` or below. A session's calls may land on any instance, so "once"
 * is decided in Redis on a per-session key: by the ledger's count script (credits/ledger.ts),
 * atomically with the fleet's figure, whenever that figure answers. This module decides when
 * it cannot (Redis down, or a ledger that keeps no figure): `SET NX` on the same key, or once
 * per session on this instance while Redis is unreachable. A rise back above the threshold
 * (upgrade, new month) re-arms it by deleting the key.
 */
import { instanceClock } from "../cache/instance";
import * as logs from "../logs";
import { redis } from "../redis/client";
import { Throttle } from "../throttle";

export const freemiumThresholdSeconds = 180;
/** Longer than any live session; the key only has to outlive the session it belongs to. */
export const thresholdKeyTtlSeconds = 2 * 24 * 60 * 60;

export function thresholdKey(uid: string, sessionId: string): string {
  return `credits:threshold:${uid}:${sessionId}`;
}

// While Redis is down every call fails here: one line a minute per instance, not one per call.
const rearmWarning = new Throttle(60_000, instanceClock);
const localDecisionWarning = new Throttle(60_000, instanceClock);

interface SessionMemory {
  rearmedSessions: Set<string>;
  thresholdSeenSessions: Set<string>;
}

/** Whether this call is the session's first at or below the threshold. */
export async function thresholdReached(uid: string, sessionId: string, remaining: number | null, memory: SessionMemory): Promise<boolean> {
  if (remaining === null || remaining > freemiumThresholdSeconds) {
    if (!memory.rearmedSessions.has(sessionId)) {
      try {
        await redis().del(thresholdKey(uid, sessionId));
        memory.rearmedSessions.add(sessionId);
        memory.thresholdSeenSessions.delete(sessionId);
      } catch (error) {
        // Not marked as re-armed: the next call tries again.
        rearmWarning.run((skipped) => logs.thresholdRearmFailed({ uid, error, failuresSinceLastLine: skipped + 1 }));
      }
    }
    return false;
  }
  if (memory.thresholdSeenSessions.has(sessionId)) return false;
  try {
    const set = await redis().set(thresholdKey(uid, sessionId), "1", { nx: true, ex: thresholdKeyTtlSeconds });
    memory.thresholdSeenSessions.add(sessionId);
    return set === "OK";
  } catch (error) {
    // Redis unreachable: fire once per session on this instance rather than never, so the
    // client still gets its prompt to set up on-device transcription.
    localDecisionWarning.run((skipped) => logs.thresholdDecidedLocally({ uid, error, failuresSinceLastLine: skipped + 1 }));
    memory.thresholdSeenSessions.add(sessionId);
    return true;
  }
}
