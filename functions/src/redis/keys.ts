/**
 * The product's Redis keys besides the markers' (markers.ts), spelt once, here in the Redis
 * floor: the modules that write them import them from here, and so does the command classifier
 * (command-purposes.ts), which thereby loads no feature and no telemetry.
 */
import { monthKey, UtcMonth } from "../common/utc-month";
import { scopes } from "./markers";

/** The stream every instance publishes its stats snapshots to (telemetry/fleet-stats.ts). */
export const statsStreamKey = "cachestats:snapshots";

/** A user's enabled apps, a set, and an app's install counter (apps/enrichment.ts). */
export const enabledAppsKey = (uid: string) => `users:${uid}:enabled_apps`;
export const installsKey = (appId: string) => `apps:${appId}:installs`;

/**
 * The set a marker scope carries as its payload, read by the poll in the same step as the
 * version whenever the version is not the one the instance holds (redis/poll.ts): a user's
 * enabled apps ride on their `enabled:{uid}` marker, which every change to the set bumps.
 */
export function markerPayloadKey(scope: string): string | undefined {
  const prefix = scopes.enabledApps("");
  return scope.startsWith(prefix) && scope.length > prefix.length ? enabledAppsKey(scope.slice(prefix.length)) : undefined;
}

/** The marker scope whose version is the user's usage total for the month (credits/ledger.ts). */
export function usageScope(uid: string, month: UtcMonth): string {
  return scopes.usage(uid, monthKey(month));
}

/** Beside the usage figure: its base hash and its recent-report log (credits/ledger.ts). */
export const usageStateKey = (uid: string, month: UtcMonth) => `credits:usage-base:${uid}:${monthKey(month)}`;
export const usageLogKey = (uid: string, month: UtcMonth) => `credits:usage-log:${uid}:${monthKey(month)}`;

/** The per-session key that makes the freemium threshold fire once per session (credits/threshold.ts). */
export function thresholdKey(uid: string, sessionId: string): string {
  return `credits:threshold:${uid}:${sessionId}`;
}
/** Longer than any live session; the key only has to outlive the session it belongs to. */
export const thresholdKeyTtlSeconds = 2 * 24 * 60 * 60;
