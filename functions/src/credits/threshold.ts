/**
 * The freemium threshold: true exactly once per session, on the first report that takes the
 * remaining seconds to `freemiumThresholdSeconds` or below. A session's calls may land on any
 * instance, so "once" is decided in Redis on a per-session key (kept 48 h, longer than any
 * session): by the ledger's count script (credits/ledger.ts), atomically with the fleet's
 * figure, whenever that figure answers. This module decides when it cannot (Redis down, or a
 * ledger that keeps no figure): `SET NX` on the same key, or once per session on this
 * instance while Redis is unreachable.
 */
import { Throttle } from "../common/throttle";
import { instanceRuntime } from "../instance/runtime";
import * as logs from "../logs";
import { redis } from "../redis/client";
import { thresholdKey, thresholdKeyTtlSeconds } from "../redis/keys";

export const freemiumThresholdSeconds = 180;

export { thresholdKey };

// While Redis is down every call fails here: one line a minute per instance, not one per call.
const localDecisionWarning = new Throttle(60_000, instanceRuntime().clock);

interface SessionMemory {
  /** Sessions known to have had their threshold (Redis said so, or fired here). */
  thresholdSeenSessions: Set<string>;
}

/** Whether this call is the session's first at or below the threshold. */
export async function thresholdReached(uid: string, sessionId: string, remaining: number | null, memory: SessionMemory): Promise<boolean> {
  if (remaining === null || remaining > freemiumThresholdSeconds || memory.thresholdSeenSessions.has(sessionId)) return false;
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
