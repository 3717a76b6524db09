/**
 * This module scope's cache runtime (runtime.ts), created lazily on first use: one per
 * function instance, surviving warm starts. Its marker watcher reads Redis (redis-marker-reader.ts)
 * and converts Redis's write times with the offset its stats publisher measured. The functions
 * go through the names below; tests and the benchmark construct runtimes of their own, or
 * configure this one from outside before the functions load (`useCacheFactory`).
 */
import { markerPollIntervalMsParam } from "../config";
import { Clock } from "../common/clock";
import { observeRedisCommands, redisTimeoutMs } from "../redis/client";
import { redisCommandPurpose } from "../redis/command-purposes";
import { CoherentCache, CoherentCacheOptions } from "./coherent-cache";
import { freshnessPromiseMs } from "../telemetry/freshness";
import { MarkerWatcher } from "./marker-watcher";
import { UsageMeter } from "../telemetry/meter";
import { redisMarkerReader } from "./redis-marker-reader";
import { CacheFactory, CacheRuntime } from "./runtime";
import { InstanceCacheStats } from "../telemetry/cache-telemetry";

export type { CacheFactory, InstanceCacheStats };
export { figuresFields } from "../telemetry/cache-telemetry";

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

/** The deploy-time poll interval (ms; the MARKER_POLL_INTERVAL_MS param, default 1000). */
export function markerPollIntervalMs(): number {
  const ms = markerPollIntervalMsParam.value();
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`${markerPollIntervalMsParam.name} must be a positive integer of ms, got ${ms}`);
  return ms;
}

let runtime: CacheRuntime | undefined;

/** This module scope's runtime, created on first use. */
export function cacheRuntime(): CacheRuntime {
  if (runtime) return runtime;
  runtime = new CacheRuntime({
    readMarkers: redisMarkerReader,
    pollIntervalMs: markerPollIntervalMs,
    scopeIdleMs: markerGuardedTtlMs,
    // Redis's clock to this machine's: this instance's offset from Redis, as measured at its
    // last stats publish (see MarkerWatcher.noteChange for what bounds the error left).
    writeTimeToWallMs: (self, writtenAtMs) => writtenAtMs - self.telemetry.publisher.redisClockOffsetMs(),
  });
  // Every Redis command this module scope sends, counted by purpose where it is sent (meter.ts),
  // in the meter of the moment (a reset replaces it).
  observeRedisCommands((command) => usageMeter().redisCommand(redisCommandPurpose(command)));
  return runtime;
}

/** The clock every module-scope cache reads; tests and benchmarks swap what is behind it (`useClock`). */
export const instanceClock: Clock = { now: () => cacheRuntime().clock.now() };

export function useClock(clock: Clock): void {
  cacheRuntime().useClock(clock);
}

/**
 * Replaces how caches are built, from outside the deployed code (the benchmark measures other
 * caching designs on the same handlers this way, as lru-cache takes its `perf` clock). Caches
 * are created when their modules load, so this must run first: it throws once any exists.
 */
export function useCacheFactory(factory: CacheFactory): void {
  cacheRuntime().useCacheFactory(factory);
}

/** A module-scope cache on this instance's clock and marker watcher. */
export function createCache<V>(options: Omit<CoherentCacheOptions, "clock" | "onFailClosedBypass" | "onHit" | "runFetch">): CoherentCache<V> {
  return cacheRuntime().createCache<V>(options);
}

/** This instance's Firestore usage meter (meter.ts). */
export function usageMeter(): UsageMeter {
  return cacheRuntime().telemetry.meter;
}

/** `handler` with every call counted as a request of `functionName` (what it reads and writes, and its Redis commands, too). */
export function meteredAs<A extends unknown[], R>(functionName: string, handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => usageMeter().request(functionName, () => handler(...args));
}

export function markerWatcher(): MarkerWatcher {
  return cacheRuntime().markerWatcher();
}

export function instanceCacheStats(): InstanceCacheStats {
  return cacheRuntime().stats();
}

/** A cold start, for tests: empty caches, a new watcher, no figures, the real clock. */
export function resetInstance(): void {
  cacheRuntime().reset();
}
