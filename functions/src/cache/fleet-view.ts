/**
 * What `cacheStats` answers: the published snapshots of every live instance, added up per
 * cache, per function and for the fleet, with measured freshness first. Pure: the handler
 * reads the snapshots (fleet-stats.ts) and passes them here.
 */
import { CoherentCacheStats } from "./coherent-cache";
import { InstanceSnapshot, PublishedSnapshot, snapshotTtlMs, statsPublishIntervalMs } from "./fleet-stats";
import { FreshnessHistogram, freshnessPromiseMs, FreshnessSummary, mergeHistograms, summarize } from "./freshness";
import { FunctionUsage, noRedisUsage, noUsage, RedisUsage } from "./meter";

/** List prices the spend estimate uses (US dollars per 100,000). */
export interface ListPrices {
  firestoreReadUsdPer100k: number;
  firestoreWriteUsdPer100k: number;
  /** Upstash pay-as-you-go, per 100,000 commands. */
  redisUsdPer100kCommands: number;
}

/** What one function's live instances spent: their meters' counts added up (since each started). */
export interface FunctionSpend extends FunctionUsage {
  instances: number;
  readsPerRequest: number;
  /** The Redis commands of this function's requests, per request. */
  redisCommandsPerRequest: number;
  /**
   * The Redis commands this function's instances sent for all their requests at once (marker
   * polls, stats publishes, anything outside a request): not in `redisCommands`, in the cost.
   */
  instanceWork: RedisUsage;
  /** The counts over each instance's uptime, scaled to a day, at `prices`; `redis` includes `instanceWork`. */
  estimatedUsdPerDay: { reads: number; writes: number; redis: number; total: number };
}

/** Counters summed across instances; `hitRate` is recomputed from the sums. */
const summedCacheFields = [
  "entries",
  "bytes",
  "hits",
  "misses",
  "evictions",
  "fetches",
  "fetchErrors",
  "collapsedFetches",
  "patchedFetches",
  "adoptedEntries",
  "invalidations",
  "discardedFetches",
  "tooLarge",
  "bypassedWhileMarkersUnreadable",
  "servedWhileMarkersUnreadable",
] as const;

type SummedCacheField = (typeof summedCacheFields)[number];

export type CacheTotals = Record<SummedCacheField, number> & { hitRate: number; instances: number; securitySensitive: boolean };

export interface MarkerTotals {
  markerChecks: number;
  markerCheckErrors: number;
  markerChangesSeen: number;
  trackedScopes: number;
  healthyInstances: number;
  unhealthyInstances: number;
}

export interface InstanceLine {
  function: string;
  instance: string;
  /** Since the snapshot was published (Redis's clock); 0 for the instance answering. */
  snapshotAgeMs: number;
  uptimeMs: number;
  markersHealthy: boolean;
  lookups: number;
  hitRate: number;
  /** Marker changes this instance measured (freshness samples, all families). */
  changesMeasured: number;
  /** Redis's clock minus the instance's (ms), as the instance measured it at a publish. */
  clockOffsetMs: number | null;
}

export interface FleetView {
  /** First: how fresh the fleet actually is, against the contract's 2 s. */
  freshness: {
    promiseMs: number;
    /** "kept": no measured change reached an instance later than the promise. */
    verdict: "kept" | "missed" | "no changes measured yet";
    overall: FreshnessSummary;
    byFamily: Record<string, FreshnessSummary>;
    /** What a sample is, and how far instance clocks can move it. */
    measuredAs: string;
    clockSkew: { maxAbsOffsetMs: number | null; instancesMeasured: number };
  };
  fleet: {
    liveInstances: number;
    functions: number;
    /** An instance is live while its last snapshot is younger than this. */
    liveWindowMs: number;
    publishIntervalMs: number;
    oldestSnapshotAgeMs: number | null;
    newestSnapshotAgeMs: number | null;
  };
  /** Totals per cache, over every live instance of every function. */
  caches: Record<string, CacheTotals>;
  markers: MarkerTotals;
  /** Totals per function. */
  functions: Record<string, { instances: number; caches: Record<string, CacheTotals>; markers: MarkerTotals; freshness: FreshnessSummary }>;
  /** Firestore reads and writes and Redis commands per function (the instances' usage meters), and what they cost a day. */
  spend: { prices: ListPrices; byFunction: Record<string, FunctionSpend>; estimatedUsdPerDay: number };
  instances: InstanceLine[];
}

const dayMs = 24 * 60 * 60_000;

function emptySpend(): FunctionSpend {
  return {
    ...noUsage(),
    instances: 0,
    readsPerRequest: 0,
    redisCommandsPerRequest: 0,
    instanceWork: noRedisUsage(),
    estimatedUsdPerDay: { reads: 0, writes: 0, redis: 0, total: 0 },
  };
}

/** A day's worth of `count` events counted over `uptimeMs` (at least a minute: a young instance's first burst is no rate). */
const perDay = (count: number, uptimeMs: number) => (count * dayMs) / Math.max(uptimeMs, 60_000);

/** Adds Redis commands (absent from older instances' snapshots) and their cost. */
function addRedis(into: RedisUsage, spend: FunctionSpend, usage: Partial<RedisUsage>, uptimeMs: number, prices: ListPrices): void {
  const commands = Number(usage.redisCommands) || 0;
  into.redisCommands += commands;
  for (const [purpose, n] of Object.entries(usage.redisCommandsByPurpose ?? {}) as [keyof RedisUsage["redisCommandsByPurpose"], number][]) {
    into.redisCommandsByPurpose[purpose] = (into.redisCommandsByPurpose[purpose] ?? 0) + (Number(n) || 0);
  }
  spend.estimatedUsdPerDay.redis += (perDay(commands, uptimeMs) / 100_000) * prices.redisUsdPer100kCommands;
  spend.estimatedUsdPerDay.total = spend.estimatedUsdPerDay.reads + spend.estimatedUsdPerDay.writes + spend.estimatedUsdPerDay.redis;
}

function addUsage(into: FunctionSpend, usage: FunctionUsage, uptimeMs: number, prices: ListPrices): void {
  into.instances++;
  into.requests += usage.requests;
  into.reads += usage.reads;
  into.notFoundReads += usage.notFoundReads;
  into.writes += usage.writes;
  into.cacheHits += usage.cacheHits;
  into.readsSaved += usage.readsSaved;
  for (const [collection, n] of Object.entries(usage.readsByCollection)) into.readsByCollection[collection] = (into.readsByCollection[collection] ?? 0) + n;
  for (const [collection, n] of Object.entries(usage.writesByCollection)) into.writesByCollection[collection] = (into.writesByCollection[collection] ?? 0) + n;
  into.readsPerRequest = into.requests === 0 ? 0 : into.reads / into.requests;
  into.estimatedUsdPerDay.reads += (perDay(usage.reads, uptimeMs) / 100_000) * prices.firestoreReadUsdPer100k;
  into.estimatedUsdPerDay.writes += (perDay(usage.writes, uptimeMs) / 100_000) * prices.firestoreWriteUsdPer100k;
  addRedis(into, into, usage, uptimeMs, prices);
  into.redisCommandsPerRequest = into.requests === 0 ? 0 : into.redisCommands / into.requests;
}

const measuredAs =
  "per change an instance saw: from the marker write (Redis's clock, converted with the instance's measured offset) to the " +
  "instance's first answer from the new version, counted from the first request after the write when the instance was idle; " +
  "the write time is clamped between the instance's previous and current read of the marker, so skew cannot push a sample " +
  "outside that window. Percentiles are histogram bucket upper bounds; max is exact.";

function emptyCacheTotals(securitySensitive: boolean): CacheTotals {
  const totals = { hitRate: 0, instances: 0, securitySensitive } as CacheTotals;
  for (const field of summedCacheFields) totals[field] = 0;
  return totals;
}

function addCache(into: Record<string, CacheTotals>, cache: CoherentCacheStats): void {
  const totals = (into[cache.name] ??= emptyCacheTotals(cache.securitySensitive === true));
  for (const field of summedCacheFields) totals[field] += Number(cache[field]) || 0;
  totals.instances++;
  const lookups = totals.hits + totals.misses;
  totals.hitRate = lookups === 0 ? 0 : totals.hits / lookups;
}

function emptyMarkerTotals(): MarkerTotals {
  return { markerChecks: 0, markerCheckErrors: 0, markerChangesSeen: 0, trackedScopes: 0, healthyInstances: 0, unhealthyInstances: 0 };
}

function addMarkers(into: MarkerTotals, snapshot: InstanceSnapshot): void {
  const m = snapshot.markers;
  into.markerChecks += Number(m.markerChecks) || 0;
  into.markerCheckErrors += Number(m.markerCheckErrors) || 0;
  into.markerChangesSeen += Number(m.markerChangesSeen) || 0;
  into.trackedScopes += Number(m.trackedScopes) || 0;
  if (m.markersHealthy === true) into.healthyInstances++;
  else into.unhealthyInstances++;
}

function lookupsOf(snapshot: InstanceSnapshot): { lookups: number; hits: number } {
  let hits = 0;
  let lookups = 0;
  for (const cache of snapshot.caches) {
    hits += Number(cache.hits) || 0;
    lookups += (Number(cache.hits) || 0) + (Number(cache.misses) || 0);
  }
  return { lookups, hits };
}

/**
 * The fleet view of the live snapshots (the newest per instance). `own`, the answering
 * instance's figures taken now, stands in for its published one (fresher, age 0).
 */
export function fleetView(published: readonly PublishedSnapshot[], redisNowMs: number, own: InstanceSnapshot | undefined, prices: ListPrices): FleetView {
  const newest = new Map<string, { snapshot: InstanceSnapshot; ageMs: number; clockOffsetMs: number | null }>();
  for (const { snapshot, publishedAtRedisMs } of published) {
    const ageMs = Math.max(0, redisNowMs - publishedAtRedisMs);
    if (ageMs > snapshotTtlMs) continue;
    const key = `${snapshot.function}/${snapshot.instance}`;
    const seen = newest.get(key);
    // The instance's own measurement (± half a round trip) when it has one; else the entry id
    // against its send time, which also counts the trip to Redis.
    const clockOffsetMs = typeof snapshot.clockOffsetMs === "number" ? snapshot.clockOffsetMs : Math.round(publishedAtRedisMs - snapshot.publishedAtMs);
    if (!seen || ageMs < seen.ageMs) newest.set(key, { snapshot, ageMs, clockOffsetMs });
  }
  if (own) {
    const key = `${own.function}/${own.instance}`;
    newest.set(key, {
      snapshot: own,
      ageMs: 0,
      clockOffsetMs: typeof own.clockOffsetMs === "number" ? own.clockOffsetMs : (newest.get(key)?.clockOffsetMs ?? null),
    });
  }

  const caches: Record<string, CacheTotals> = {};
  const markers = emptyMarkerTotals();
  const functions: FleetView["functions"] = {};
  const familyHistograms = new Map<string, FreshnessHistogram[]>();
  const functionHistograms = new Map<string, FreshnessHistogram[]>();
  const instances: InstanceLine[] = [];
  const spendByFunction: Record<string, FunctionSpend> = {};

  for (const { snapshot, ageMs, clockOffsetMs } of newest.values()) {
    // A day's spend is estimated over the instance's uptime, at least a minute (a young instance's first burst is no rate).
    const uptimeMs = Math.max(0, snapshot.publishedAtMs - snapshot.startedAtMs) + ageMs;
    for (const [name, usage] of Object.entries(snapshot.usage ?? {})) addUsage((spendByFunction[name] ??= emptySpend()), usage, uptimeMs, prices);
    if (snapshot.instanceWork !== undefined) {
      const spend = (spendByFunction[snapshot.function] ??= emptySpend());
      addRedis(spend.instanceWork, spend, snapshot.instanceWork, uptimeMs, prices);
    }
    const fn = (functions[snapshot.function] ??= { instances: 0, caches: {}, markers: emptyMarkerTotals(), freshness: summarize(mergeHistograms([])) });
    fn.instances++;
    for (const cache of snapshot.caches) {
      addCache(caches, cache);
      addCache(fn.caches, cache);
    }
    addMarkers(markers, snapshot);
    addMarkers(fn.markers, snapshot);
    for (const [family, histogram] of Object.entries(snapshot.freshness)) {
      familyHistograms.set(family, [...(familyHistograms.get(family) ?? []), histogram]);
      functionHistograms.set(snapshot.function, [...(functionHistograms.get(snapshot.function) ?? []), histogram]);
    }
    const { lookups, hits } = lookupsOf(snapshot);
    instances.push({
      function: snapshot.function,
      instance: snapshot.instance,
      snapshotAgeMs: ageMs,
      uptimeMs: Math.max(0, snapshot.publishedAtMs - snapshot.startedAtMs) + ageMs,
      markersHealthy: snapshot.markers.markersHealthy === true,
      lookups,
      hitRate: lookups === 0 ? 0 : hits / lookups,
      changesMeasured: Object.values(snapshot.freshness).reduce((total, h) => total + (Number(h.samples) || 0), 0),
      clockOffsetMs,
    });
  }
  for (const [name, histograms] of functionHistograms) {
    const fn = functions[name];
    if (fn) fn.freshness = summarize(mergeHistograms(histograms));
  }

  const byFamily: Record<string, FreshnessSummary> = {};
  for (const [family, histograms] of [...familyHistograms].sort(([a], [b]) => a.localeCompare(b))) byFamily[family] = summarize(mergeHistograms(histograms));
  const overall = summarize(mergeHistograms([...familyHistograms.values()].flat()));
  const offsets = instances.map((i) => i.clockOffsetMs).filter((o): o is number => o !== null);
  const ages = instances.map((i) => i.snapshotAgeMs);
  instances.sort((a, b) => a.function.localeCompare(b.function) || a.snapshotAgeMs - b.snapshotAgeMs);

  return {
    freshness: {
      promiseMs: freshnessPromiseMs,
      verdict: overall.samples === 0 ? "no changes measured yet" : overall.promiseKept ? "kept" : "missed",
      overall,
      byFamily,
      measuredAs,
      clockSkew: { maxAbsOffsetMs: offsets.length === 0 ? null : Math.max(...offsets.map(Math.abs)), instancesMeasured: offsets.length },
    },
    fleet: {
      liveInstances: newest.size,
      functions: Object.keys(functions).length,
      liveWindowMs: snapshotTtlMs,
      publishIntervalMs: statsPublishIntervalMs,
      oldestSnapshotAgeMs: ages.length === 0 ? null : Math.max(...ages),
      newestSnapshotAgeMs: ages.length === 0 ? null : Math.min(...ages),
    },
    caches,
    markers,
    functions,
    spend: {
      prices,
      byFunction: spendByFunction,
      estimatedUsdPerDay: Object.values(spendByFunction).reduce((total, f) => total + f.estimatedUsdPerDay.total, 0),
    },
    instances,
  };
}
