/**
 * What one function instance shares across requests (module scope survives warm starts):
 * its clock, its marker watcher (one MGET per poll interval for every cache), and the
 * registry of its caches for `cacheStats`.
 */
import { redis } from "../redis/client";
import { ThrottledWarning } from "../throttled-warning";
import { markerKey } from "../redis/markers";
import { Clock, systemClock } from "./clock";
import { CoherentCache, CoherentCacheOptions, CoherentCacheStats } from "./coherent-cache";
import { MarkerReader, MarkerWatcher, MarkerWatcherStats } from "./marker-watcher";
import { cacheForPolicy } from "./policy";

/** Within the contract's 2 s freshness bound with room for one Redis round trip. */
export const markerPollIntervalMs = 1000;

let currentClock: Clock = systemClock;
/** The clock every module-scope cache reads; tests and benchmarks swap what is behind it. */
export const instanceClock: Clock = { now: () => currentClock.now() };

export function useClock(clock: Clock): void {
  currentClock = clock;
}

const readMarkersFromRedis: MarkerReader = async (scopes) => {
  if (scopes.length === 0) return [];
  return redis().mget<(string | null)[]>(...scopes.map(markerKey));
};

let watcher: MarkerWatcher | undefined;
const markersUnreadable = new ThrottledWarning(
  "Invalidation markers unreadable: tester-derived data is read from Firestore, the rest served within TTL",
  60_000,
  instanceClock,
);

export function markerWatcher(): MarkerWatcher {
  watcher ??= new MarkerWatcher({
    read: readMarkersFromRedis,
    pollIntervalMs: markerPollIntervalMs,
    clock: instanceClock,
    onReadError: (error) => markersUnreadable.warn(error),
  });
  return watcher;
}

const caches: CoherentCache<unknown>[] = [];

/**
 * A module-scope cache on this instance's clock and marker watcher. (`CACHE_POLICY`, a
 * benchmark-only switch in ./policy.ts, swaps in the no-cache or reference behaviour; unset,
 * this is a CoherentCache.)
 */
export function createCache<V>(options: Omit<CoherentCacheOptions, "clock">): CoherentCache<V> {
  const cache = cacheForPolicy<V>({ ...options, clock: instanceClock }, markerWatcher);
  caches.push(cache as CoherentCache<unknown>);
  return cache;
}

export interface InstanceCacheStats {
  caches: CoherentCacheStats[];
  markers: MarkerWatcherStats;
}

export function instanceCacheStats(): InstanceCacheStats {
  return {
    caches: caches.map((cache) => cache.stats()),
    markers: watcher?.stats() ?? { markerChecks: 0, markerCheckErrors: 0, markerChangesSeen: 0, trackedScopes: 0, markersHealthy: false },
  };
}

/** A cold start, for tests: empty caches, a new watcher, the real clock. */
export function resetInstance(): void {
  for (const cache of caches) cache.local.clear();
  watcher = undefined;
  markersUnreadable.reset();
  currentClock = systemClock;
}
