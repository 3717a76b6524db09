/**
 * `recordTranscriptionUsage`, called about once a minute by each live transcription session:
 * one atomic write to this hour's usage document, then the credits answer from the cache
 * (no Firestore read on most calls).
 */
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import { CallableRequest } from "firebase-functions/https";
import { z } from "zod";
import { requireUid } from "../auth";
import { parseData } from "../errors";
import { firestore } from "../firestore";
import { currentCredits, noteUsageWritten } from "./credit-cache";
import { thresholdReached } from "./threshold";
import { hourlyUsageDocId, wallNowMs } from "./time";

/** Longer than the once-a-minute cadence with room for a late or merged report, not more. */
export const maxSecondsPerCall = 3600;
export const maxWordsPerCall = 100_000;

export const usageRequestSchema = z
  .object({
    // Part of a Redis key: short, and no separators that could reach another key space.
    sessionId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "must be 1-128 characters of A-Z a-z 0-9 _ -"),
    transcriptionSeconds: z.number().int().min(0).max(maxSecondsPerCall),
    wordsTranscribed: z.number().int().min(0).max(maxWordsPerCall).optional(),
  })
  .strict();

export interface UsageResult {
  remainingSeconds: number | null;
  hasCredits: boolean;
  freemiumThresholdReached: boolean;
  action: "setup_on_device_stt" | "none";
}

/**
 * The single write for one report: both counters as server-side increments, merged into the
 * hour's document (created by the first report of the hour). Exported so a test can check
 * the write itself, as well as its effect on the server.
 */
export function hourlyUsageWrite(at: Date, seconds: number, words: number): { id: string; data: Record<string, unknown> } {
  const id = hourlyUsageDocId(at);
  return {
    id,
    data: {
      transcription_seconds: FieldValue.increment(seconds),
      words_transcribed: FieldValue.increment(words),
      year: at.getUTCFullYear(),
      month: at.getUTCMonth() + 1,
      day: at.getUTCDate(),
      hour: at.getUTCHours(),
      id,
      // The instance's clock, not serverTimestamp(): the same clock chose the hour, and a
      // third transform would make the write costlier for no gain.
      last_updated: Timestamp.fromMillis(at.getTime()),
    },
  };
}

export async function recordTranscriptionUsageHandler(request: CallableRequest<unknown>): Promise<UsageResult> {
  const uid = requireUid(request);
  const { sessionId, transcriptionSeconds, wordsTranscribed = 0 } = parseData(usageRequestSchema, request.data);
  let usage: { seconds: number; writeSeq: number } | undefined;
  if (transcriptionSeconds > 0 || wordsTranscribed > 0) {
    const { id, data } = hourlyUsageWrite(new Date(wallNowMs()), transcriptionSeconds, wordsTranscribed);
    await firestore().collection("users").doc(uid).collection("hourly_usage").doc(id).set(data, { merge: true });
    usage = { seconds: transcriptionSeconds, writeSeq: noteUsageWritten() };
  }
  const credits = await currentCredits(uid, usage);
  const remaining = credits.remainingSeconds;
  const reached = await thresholdReached(uid, sessionId, remaining, credits.state);
  return {
    remainingSeconds: remaining,
    hasCredits: remaining === null || remaining > 0,
    freemiumThresholdReached: reached,
    action: reached ? "setup_on_device_stt" : "none",
  };
}
