/**
 * Per-caller data that lives in Redis: which apps the caller enabled
 * (`users:{uid}:enabled_apps`, a set) and each app's install count (`apps:{appId}:installs`).
 *
 * Both are cached per instance, to the contract's freshness, and both ride on the marker poll,
 * the one command an instance sends for a request anyway (redis/poll.ts):
 * - a user's enabled set changes only through enableApp/disableApp, whose script bumps the
 *   user's `enabled:{uid}` marker in the same step: the instance that handled the change drops
 *   its entry at once, the others follow the marker within a poll; while markers cannot be
 *   read an entry is served at most 30 s after its fetch. The poll that reads the marker at a
 *   version new to the instance reads the set in the same step, so the entry is built from it
 *   (for a user first seen between polls, one early read of the same kind: `pollForMissing`);
 *   SMEMBERS only while markers cannot be read;
 * - install counts are a popularity figure, allowed to lag by up to 60 s. Every poll carries the
 *   counts of the apps the instance served in the last 10 minutes once they are 15 s old, and a
 *   list is built from those while they are at most 30 s old, then kept 30 s; an MGET only for
 *   a list with a count no poll has brought lately (an app this instance has not served in 10
 *   minutes, or any while Redis fails).
 */
import { LRUCache } from "lru-cache";
import { cacheNames } from "../cache/names";
import { markerGuardedTtlMs } from "../cache/settings";
import { Throttle } from "../common/throttle";
import { createCache, instanceRuntime } from "../instance/runtime";
import * as logs from "../logs";
import { redis } from "../redis/client";
import { enabledAppsKey, installsKey } from "../redis/keys";
import { scopes } from "../redis/markers";
import { listHash } from "./catalog";
import { App, AvailableApp } from "./model";

export { enabledAppsKey, installsKey };

/** The contract's bound on `enabled` served while markers cannot be read. */
export const enabledAppsUnverifiedMaxAgeMs = 30_000;
/** The contract's bound on `installs`, markers readable or not. */
export const installsMaxAgeMs = 60_000;
/** A list of counts is kept this long, and built from polled counts at most this old: never more than `installsMaxAgeMs` in all. */
const installsHalfLifeMs = installsMaxAgeMs / 2;
/** A served count this old is asked of the next poll, so the polls keep every served count within `installsHalfLifeMs`. */
export const installsRideAfterMs = 15_000;

const enabledAppsCache = createCache<string[]>({
  name: cacheNames.enabledApps,
  ttlMs: markerGuardedTtlMs,
  unverifiedMaxAgeMs: enabledAppsUnverifiedMaxAgeMs,
  maxEntries: 100_000,
  maxBytes: 16 * 1024 * 1024,
});

/** Counts in the order of the app list the key names (`listHash` of its ids). */
const installCountsCache = createCache<number[]>({
  name: cacheNames.installCounts,
  ttlMs: installsHalfLifeMs,
  maxEntries: 10_000,
  maxBytes: 16 * 1024 * 1024,
});

const enrichmentWarning = new Throttle(60_000, instanceRuntime().clock);

/** Install counts seen last, served while Redis cannot be read (a count is public, not per user). */
const lastKnownInstalls = new LRUCache<string, number>({ max: 50_000 });
/** Counts the marker polls brought, by app, with when they were asked for (on the instance clock: the poll read them after). */
const polledInstalls = new LRUCache<string, { count: number; askedAtMs: number }>({ max: 50_000 });
/** When this instance last served each app's count (instance clock), most recent last: their counts ride on its polls. */
const servedInstalls = new Map<string, number>();
/** An app served within this long (ms) has its count kept fresh by the polls. */
const installsServedWindowMs = 10 * 60_000;
/** Most counts one poll carries (a few KB of keys). */
const maxInstallsPerPoll = 1_000;

/**
 * The counts of the apps this instance served in the last `installsServedWindowMs` ride on its
 * marker polls once they are `installsRideAfterMs` old: a list is then built from them with no
 * command of its own, also for a user who comes back minutes later.
 */
let riding: { appIds: string[]; askedAtMs: number } | undefined;
instanceRuntime().addPollRider({
  keys() {
    const nowMs = instanceRuntime().clock.now();
    const appIds: string[] = [];
    for (const [appId, servedAtMs] of servedInstalls) {
      if (nowMs - servedAtMs > installsServedWindowMs) {
        servedInstalls.delete(appId);
        continue;
      }
      if (appIds.length < maxInstallsPerPoll && nowMs - (polledInstalls.get(appId)?.askedAtMs ?? -Infinity) >= installsRideAfterMs) appIds.push(appId);
    }
    riding = appIds.length === 0 ? undefined : { appIds, askedAtMs: nowMs };
    return appIds.map(installsKey);
  },
  read(values) {
    if (riding === undefined) return;
    const { appIds, askedAtMs } = riding;
    appIds.forEach((appId, i) => {
      const count = parseCount(values[i]);
      polledInstalls.set(appId, { count, askedAtMs });
      lastKnownInstalls.set(appId, count);
    });
    riding = undefined;
  },
  reset() {
    polledInstalls.clear();
    servedInstalls.clear();
    lastKnownInstalls.clear();
    riding = undefined;
  },
});

/** `apps` are about to be served: their counts ride on this instance's polls from the next one on (the request's own, when it has yet to poll). */
export function noteServed(apps: readonly App[]): void {
  const nowMs = instanceRuntime().clock.now();
  for (const app of apps) {
    // Re-inserted, so the map stays in order of last service (the oldest are pruned first).
    servedInstalls.delete(app.id);
    servedInstalls.set(app.id, nowMs);
  }
  for (const appId of servedInstalls.keys()) {
    if (servedInstalls.size <= 50_000) break;
    servedInstalls.delete(appId);
  }
}

// The cached public list is one frozen array shared by most callers: hash its ids once.
const listKeys = new WeakMap<readonly App[], string>();

function listKey(apps: readonly App[]): string {
  let key = listKeys.get(apps);
  if (key === undefined) {
    key = listHash(apps.map((app) => app.id));
    listKeys.set(apps, key);
  }
  return key;
}

function parseCount(raw: unknown): number {
  const count = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : 0;
  return Number.isFinite(count) && count > 0 ? Math.floor(count) : 0;
}

async function readEnabledApps(uid: string): Promise<string[]> {
  // The poll that read the user's marker at the version this instance holds read the set with it.
  const polled = instanceRuntime().markerWatcher().payload(scopes.enabledApps(uid));
  if (polled !== undefined) return [...polled];
  const members = await redis().smembers(enabledAppsKey(uid));
  return members.map(String).sort();
}

/** The count a poll brought for `appId`, if it is fresh enough to build a list from (at most `installsHalfLifeMs` old). */
function polledCount(appId: string, nowMs: number): number | undefined {
  const polled = polledInstalls.get(appId);
  return polled !== undefined && nowMs - polled.askedAtMs <= installsHalfLifeMs ? polled.count : undefined;
}

async function readInstallCounts(apps: readonly App[]): Promise<number[]> {
  const nowMs = instanceRuntime().clock.now();
  const polled = apps.map((app) => polledCount(app.id, nowMs));
  if (polled.every((count) => count !== undefined)) return polled as number[];
  const raw = await redis().mget<unknown[]>(...apps.map((app) => installsKey(app.id)));
  return apps.map((app, i) => {
    const count = parseCount(raw[i]);
    lastKnownInstalls.set(app.id, count);
    return count;
  });
}

/**
 * A user's enabled set not read with their marker yet (a user first seen between polls), or a
 * list with a count no poll has brought (an app this instance has not served lately): rather
 * than an SMEMBERS and an MGET of their own, one command of the poll's kind reads them now (the
 * set with the user's marker, the counts as riders: MarkerWatcher.readEarly). Not while markers
 * cannot be read: then each is read for itself.
 */
async function pollForMissing(uid: string, apps: readonly App[]): Promise<void> {
  const watcher = instanceRuntime().markerWatcher();
  const scope = scopes.enabledApps(uid);
  const nowMs = instanceRuntime().clock.now();
  const setMissing = watcher.payload(scope) === undefined && !enabledAppsCache.local.has(uid, watcher.currentView([scope]).tag);
  const countMissing = !installCountsCache.local.has(listKey(apps), "") && apps.some((app) => polledCount(app.id, nowMs) === undefined);
  if (!setMissing && !countMissing) return;
  await watcher.readEarly(setMissing ? [scope] : []);
}

/** Every lookup `getAvailableApps` makes for `uid` will need their enabled set: the poll under way or next reads it with their marker. */
export function expectEnrichment(uid: string): void {
  instanceRuntime()
    .markerWatcher()
    .expect([scopes.enabledApps(uid)]);
}

/** The caller changed their enabled set on this instance: drop it here at once (others follow the marker). */
export function forgetEnabledApps(uid: string): void {
  enabledAppsCache.invalidate(uid);
  // The set the last poll read with the marker is the one before this change.
  instanceRuntime().markerWatcher().dropPayload(scopes.enabledApps(uid));
}

/** A new object per app and caller: the cached app is frozen and shared by every caller. */
function toAvailable(app: App, enabled: boolean, installs: number): AvailableApp {
  // `disabled` is left out: it is always false here (disabled apps are never served).
  return {
    id: app.id,
    name: app.name,
    uid: app.uid,
    private: app.private,
    approved: app.approved,
    status: app.status,
    category: app.category,
    description: app.description,
    image: app.image,
    capabilities: [...app.capabilities],
    created_at: app.created_at,
    enabled,
    installs,
    rejected: app.status === "rejected",
  };
}

/**
 * The apps with the caller's `enabled` and the current `installs`. When Redis fails, the apps
 * are still served: `enabled: false` (never another user's value) and the last known counts.
 */
export async function enrich(uid: string, apps: readonly App[]): Promise<AvailableApp[]> {
  if (apps.length === 0) return [];
  noteServed(apps);
  await pollForMissing(uid, apps);
  const warn = (error: unknown) => enrichmentWarning.run((skipped) => logs.enrichmentUnavailable(error, { failuresSinceLastLine: skipped + 1 }));
  const [enabledIds, counts] = await Promise.all([
    enabledAppsCache.get(uid, [scopes.enabledApps(uid)], () => readEnabledApps(uid)).catch((error: unknown) => (warn(error), [] as string[])),
    installCountsCache
      .get(listKey(apps), [], () => readInstallCounts(apps))
      .catch((error: unknown) => (warn(error), apps.map((app) => lastKnownInstalls.get(app.id) ?? 0))),
  ]);
  const enabled = new Set(enabledIds);
  return apps.map((app, i) => toAvailable(app, enabled.has(app.id), counts[i] ?? 0));
}
