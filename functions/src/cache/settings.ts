/**
 * The freshness the engine promises, and the settings that keep it: the marker poll interval
 * (a deploy-time param, bounded by the promise) and the TTL of data whose every change bumps a
 * marker. The telemetry measures against the same promise (telemetry/freshness.ts).
 */
import { markerPollIntervalMsParam } from "../config";
import { redisTimeoutMs } from "../redis/client";

/** The contract's promise: every instance reflects a committed change within 2 s of its marker write. */
export const freshnessPromiseMs = 2_000;

/**
 * The longest marker poll interval that keeps the contract's 2 s: a change is seen by every
 * request that starts one interval after its marker write, once that request's marker read
 * answers, and a read gives up after `redisTimeoutMs`.
 */
export const maxMarkerPollIntervalMs = freshnessPromiseMs - redisTimeoutMs;
/** Below this a busy instance would pay a marker read on nearly every request for no promise anyone made. */
export const minMarkerPollIntervalMs = 100;
/**
 * The TTL of data whose every change bumps a marker: only a safety net for a marker that was
 * lost (a trigger that never ran), since while markers can be read a change is seen within a
 * poll. While they cannot, each cache's own short bound applies (`unverifiedMaxAgeMs`).
 */
export const markerGuardedTtlMs = 60 * 60_000;

/** The deploy-time poll interval (ms; the MARKER_POLL_INTERVAL_MS param, default 1200: `maxMarkerPollIntervalMs`). */
export function markerPollIntervalMs(): number {
  const ms = markerPollIntervalMsParam.value();
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`${markerPollIntervalMsParam.name} must be a positive integer of ms, got ${ms}`);
  return ms;
}
