/**
 * The Redis keys of the credits path (the usage ledger, ledger.ts, and the freemium threshold,
 * threshold.ts), apart from the modules that use them, so what only needs their names (the Redis
 * command classifier) loads no cache.
 */
import { scopes } from "../redis/markers";
import type { UtcMonth } from "./time";

/** `YYYY-MM`: the month part of the usage keys. */
export function monthKey(month: UtcMonth): string {
  return `${month.year}-${String(month.month).padStart(2, "0")}`;
}

/** The marker scope whose version is the user's usage total for the month. */
export function usageScope(uid: string, month: UtcMonth): string {
  return scopes.usage(uid, monthKey(month));
}

export const usageStateKey = (uid: string, month: UtcMonth) => `credits:usage-base:${uid}:${monthKey(month)}`;
export const usageLogKey = (uid: string, month: UtcMonth) => `credits:usage-log:${uid}:${monthKey(month)}`;

/** The per-session key that makes the freemium threshold fire once per session. */
export function thresholdKey(uid: string, sessionId: string): string {
  return `credits:threshold:${uid}:${sessionId}`;
}
