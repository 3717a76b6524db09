/**
 * What one function instance shares across requests (module scope survives warm starts):
 * its clock, its marker watcher (one MGET per poll interval for every cache), the registry
 * of its caches, and what it tells operators about them: the stats snapshot it publishes for
 * `cacheStats` at most once a minute (riding on a marker poll, see fleet-stats.ts), the
 * freshness it measures, and its log lines (logs.ts).
 */
import * as logs from "../logs";
import { markerPollIntervalMsParam } from "../config";
import { redis, redisTimeoutMs } from "../redis/client";
import { markerKey, markerTimeKey } from "../redis/markers";
import { Throttle } from "../throttle";
import { Clock, systemClock } from "./clock";
import { CoherentCache, CoherentCacheOptions, CoherentCacheStats } from "./coherent-cache";
import { instanceIdentity, InstanceIdentity, InstanceSnapshot, queuePublish, StatsPublisher } from "./fleet-stats";
import { FreshnessRecorder, freshnessPromiseMs, FreshnessSummary, mergeHistograms, scopeFamily, summarize } from "./freshness";
import { MarkerReader, MarkerWatcher, MarkerWatcherStats } from "./marker-watcher";

/**
 * The longest marker poll interval that keeps the contract's 2 s: a change is seen by every
 * request that starts one interval after its marker write, once that request's marker read
 * answers, and a read gives up after `redisTimeoutMs`.
 */
export const maxMarkerPollIntervalMs = freshnessPromiseMs - redisTimeoutMs;
/** Below this a busy instance would pay a marker read on nearly every request for no promise anyone made. */
export const minMarkerPollIntervalMs = 100;

/** The deploy-time poll interval (ms; the MARKER_POLL_INTERVAL_MS param, default 1000). */
export function markerPollIntervalMs(): number {
  const ms = markerPollIntervalMsParam.value();
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`${markerPollIntervalMsParam.name} must be a positive integer of ms, got ${ms}`);
  return ms;
}
/**
 * The TTL of data whose every change bumps a marker: only a safety net for a marker that was
 * lost (a trigger that never ran), since while markers can be read a change is seen within a
 * poll. While they cannot, each cache's own short bound applies (`unverifiedMaxAgeMs`).
 */
export const markerGuardedTtlMs = 60 * 60_000;
/** How often an instance writes its metric-friendly figures line (logs.cacheFigures). */
export const figuresLogIntervalMs = 5 * 60_000;

let currentClock: Clock = systemClock;
/** The clock every module-scope cache reads; tests and benchmarks swap what is behind it. */
export const instanceClock: Clock = { now: () => currentClock.now() };

export function useClock(clock: Clock): void {
  currentClock = clock;
}

const startedAtMs = Date.now();
const freshness = new FreshnessRecorder();
const publisher = new StatsPublisher(instanceClock);
const markersUnreadableLog = new Throttle(60_000, instanceClock);
const failClosedLog = new Throttle(60_000, instanceClock);
const staleServingLog = new Throttle(60_000, instanceClock);
const bypassedCaches = new Set<string>();
let figuresLoggedAtMs: number | undefined;

/** Redis answered the poll's pipeline but refused its MGET. */
class MarkerReadError extends Error {
  override name = "MarkerReadError";
}

/**
 * Every marker's version and, from its companion key in the same MGET, its write time, as
 * the watcher reads them (`version:writtenAtMs`). One command per poll; at most once a
 * minute the poll also carries this instance's stats snapshot (one XADD, same round trip).
 */
const readMarkersFromRedis: MarkerReader = async (scopes) => {
  if (scopes.length === 0) return [];
  const keys = [...scopes.map(markerKey), ...scopes.map(markerTimeKey)];
  // Not before the instance has looked anything up (its first request polls before it does):
  // a snapshot without figures would only say so for a minute.
  const snapshot = hasLookedUp() && publisher.takeTurn() ? instanceSnapshot() : undefined;
  maybeLogFigures(snapshot);
  let values: unknown;
  if (snapshot === undefined) {
    values = await redis().mget<(string | null)[]>(...keys);
  } else {
    const pipeline = redis().pipeline();
    pipeline.mget(...keys);
    const sentAtMs = Date.now();
    snapshot.publishedAtMs = sentAtMs;
    queuePublish(pipeline, snapshot, sentAtMs);
    const [markers, published] = await pipeline.exec<[unknown, unknown]>({ keepErrors: true });
    if (published.error === undefined) publisher.noteReply(String(published.result), sentAtMs, Date.now());
    else if (markers.error === undefined) logs.cacheStatsPublishFailed(published.error);
    if (markers.error !== undefined) throw new MarkerReadError(markers.error);
    values = markers.result;
  }
  const list = Array.isArray(values) ? values : [];
  return scopes.map((_scope, i) => {
    const version = list[i];
    const writtenAt = list[scopes.length + i];
    if (version === null || version === undefined) return null;
    return writtenAt === null || writtenAt === undefined ? String(version) : `${String(version)}:${String(writtenAt)}`;
  });
};

let lookedUp = false;

function hasLookedUp(): boolean {
  lookedUp ||= caches.some((cache) => {
    const { hits, misses } = cache.local.stats();
    return hits + misses > 0;
  });
  return lookedUp;
}

function onChangeSeen(scope: string, delayMs: number | undefined): void {
  freshness.record(scope, delayMs);
  if (delayMs !== undefined && delayMs > freshnessPromiseMs) {
    staleServingLog.run((skipped) =>
      logs.freshnessPromiseMissed({ family: scopeFamily(scope), delayMs: Math.round(delayMs), promiseMs: freshnessPromiseMs, lateChangesSinceLastLine: skipped + 1 }),
    );
  }
}

function onFailClosedBypass(cacheName: string): void {
  bypassedCaches.add(cacheName);
  failClosedLog.run((skipped) => {
    logs.failClosedBypasses({ caches: [...bypassedCaches].sort(), bypassesSinceLastLine: skipped + 1 });
    bypassedCaches.clear();
  });
}

let watcher: MarkerWatcher | undefined;

export function markerWatcher(): MarkerWatcher {
  watcher ??= new MarkerWatcher({
    read: readMarkersFromRedis,
    pollIntervalMs: markerPollIntervalMs(),
    scopeIdleMs: markerGuardedTtlMs,
    clock: instanceClock,
    onReadError: (error) => markersUnreadableLog.run((skipped) => logs.markersUnreadable(error, { failedReadsSinceLastLine: skipped + 1 })),
    onReadRecovered: (unreadableMs) => {
      for (const cache of caches) cache.dropFailClosedEntries();
      markersUnreadableLog.reset();
      logs.markersReadableAgain({ unreadableMs: Math.round(unreadableMs) });
    },
    // Redis's clock to this machine's: this instance's offset from Redis, as measured at its
    // last stats publish (see MarkerWatcher.noteChange for what bounds the error left).
    writeTimeToWallMs: (writtenAtMs) => writtenAtMs - publisher.redisClockOffsetMs(),
    onChangeSeen,
  });
  return watcher;
}

const caches: CoherentCache<unknown>[] = [];

/** Builds the cache behind each `createCache`. */
export type CacheFactory = <V>(options: CoherentCacheOptions, watcher: () => MarkerWatcher) => CoherentCache<V>;

const coherentCaches: CacheFactory = (options, watcher) => new CoherentCache(options, watcher);
let cacheFactory: CacheFactory = coherentCaches;

/**
 * Replaces how caches are built, from outside the deployed code (the benchmark measures other
 * caching designs on the same handlers this way, as lru-cache takes its `perf` clock). Caches
 * are created when their modules load, so this must run first: it throws once any exists.
 */
export function useCacheFactory(factory: CacheFactory): void {
  if (caches.length > 0) throw new Error(`useCacheFactory: ${caches.length} caches were already created; call it before loading the functions`);
  cacheFactory = factory;
}

/** A module-scope cache on this instance's clock and marker watcher. */
export function createCache<V>(options: Omit<CoherentCacheOptions, "clock" | "onFailClosedBypass">): CoherentCache<V> {
  const cache = cacheFactory<V>({ ...options, clock: instanceClock, onFailClosedBypass }, markerWatcher);
  caches.push(cache as CoherentCache<unknown>);
  return cache;
}

const noWatcherYet: MarkerWatcherStats = { markerChecks: 0, markerCheckErrors: 0, markerChangesSeen: 0, trackedScopes: 0, markersHealthy: false };

export interface InstanceCacheStats {
  instance: InstanceIdentity;
  caches: CoherentCacheStats[];
  markers: MarkerWatcherStats;
  /** Measured freshness per scope family, since this instance started. */
  freshness: Record<string, FreshnessSummary>;
}

export function instanceCacheStats(): InstanceCacheStats {
  const perFamily: Record<string, FreshnessSummary> = {};
  for (const [family, histogram] of Object.entries(freshness.snapshot())) perFamily[family] = summarize(histogram);
  return {
    instance: instanceIdentity(),
    caches: caches.map((cache) => cache.stats()),
    markers: watcher?.stats() ?? noWatcherYet,
    freshness: perFamily,
  };
}

/** Whether this instance has served any cached read (else it has nothing to report). */
export function instanceHasCacheFigures(): boolean {
  return (watcher?.stats().markerChecks ?? 0) > 0;
}

/** What this instance publishes: the caches it used, its markers, its freshness histograms. */
export function instanceSnapshot(): InstanceSnapshot {
  const used = caches.map((cache) => cache.stats()).filter((c) => c.hits + c.misses + c.entries + c.fetches + c.bypassedWhileMarkersUnreadable > 0);
  return {
    v: 1,
    ...instanceIdentity(),
    startedAtMs,
    publishedAtMs: Date.now(),
    caches: used,
    markers: watcher?.stats() ?? noWatcherYet,
    freshness: freshness.snapshot(),
    clockOffsetMs: publisher.measuredOffsetMs(),
  };
}

/** Every `figuresLogIntervalMs`, at a poll: the figures line operators build metrics from. */
function maybeLogFigures(snapshot: InstanceSnapshot | undefined): void {
  const nowMs = instanceClock.now();
  figuresLoggedAtMs ??= nowMs;
  if (nowMs - figuresLoggedAtMs < figuresLogIntervalMs) return;
  figuresLoggedAtMs = nowMs;
  logs.cacheFigures(figuresFields(snapshot ?? instanceSnapshot()));
}

/** Flat numbers first (easy to extract into log-based metrics), then the detail per cache and family. */
export function figuresFields(snapshot: InstanceSnapshot): Record<string, unknown> {
  const sum = (field: "hits" | "misses" | "entries" | "bytes" | "evictions" | "bypassedWhileMarkersUnreadable" | "servedWhileMarkersUnreadable") =>
    snapshot.caches.reduce((total, cache) => total + cache[field], 0);
  const hits = sum("hits");
  const lookups = hits + sum("misses");
  const overall = summarize(mergeHistograms(Object.values(snapshot.freshness)));
  const perFamily: Record<string, FreshnessSummary> = {};
  for (const [family, histogram] of Object.entries(snapshot.freshness)) perFamily[family] = summarize(histogram);
  const perCache: Record<string, unknown> = {};
  for (const c of snapshot.caches) {
    perCache[c.name] = { entries: c.entries, bytes: c.bytes, hits: c.hits, misses: c.misses, hitRate: c.hitRate, evictions: c.evictions, fetches: c.fetches, collapsedFetches: c.collapsedFetches };
  }
  return {
    function: snapshot.function,
    instance: snapshot.instance,
    uptimeMs: snapshot.publishedAtMs - snapshot.startedAtMs,
    lookups,
    hitRate: lookups === 0 ? 0 : hits / lookups,
    entries: sum("entries"),
    bytes: sum("bytes"),
    evictions: sum("evictions"),
    failClosedBypasses: sum("bypassedWhileMarkersUnreadable"),
    servedWhileMarkersUnreadable: sum("servedWhileMarkersUnreadable"),
    markersHealthy: snapshot.markers.markersHealthy,
    markerChecks: snapshot.markers.markerChecks,
    markerCheckErrors: snapshot.markers.markerCheckErrors,
    freshnessSamples: overall.samples,
    freshnessP50Ms: overall.p50Ms,
    freshnessP99Ms: overall.p99Ms,
    freshnessMaxMs: overall.maxMs,
    freshnessOverPromise: overall.overPromise,
    freshness: perFamily,
    caches: perCache,
  };
}

/** A cold start, for tests: empty caches, a new watcher, no figures, the real clock. */
export function resetInstance(): void {
  for (const cache of caches) cache.local.clear();
  watcher = undefined;
  freshness.reset();
  publisher.reset();
  markersUnreadableLog.reset();
  failClosedLog.reset();
  staleServingLog.reset();
  bypassedCaches.clear();
  figuresLoggedAtMs = undefined;
  lookedUp = false;
  currentClock = systemClock;
}
