/**
 * What `cacheStats` answers: the published snapshots of every live instance, added up per
 * cache, per function and for the fleet, with measured freshness first. Pure: the handler
 * reads the snapshots (fleet-stats.ts) and passes them here.
 */
import { CoherentCacheStats } from "../cache/coherent-cache";
import { freshnessPromiseMs } from "../cache/settings";
import { InstanceSnapshot, PublishedSnapshot, snapshotTtlMs, statsPublishIntervalMs } from "./fleet-stats";
import { FreshnessHistogram, FreshnessSummary, mergeHistograms, summarize } from "./freshness";
import { FunctionUsage, noRedisUsage, noUsage, RedisUsage } from "./meter";
import type { ListPrices } from "../prices";

/** List prices the spend estimate uses (US dollars per 100,000). */
export type { ListPrices };

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
  /**
   * A day at the rate of each instance's last minutes (between its oldest and newest snapshot
   * in the stream, when they are at least `minRateWindowMs` apart), else of its uptime (at least
   * a minute), at `prices`; `redis` includes `instanceWork`.
   */
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
  "readThroughLookups",
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

/**
 * The shortest span between two snapshots of one instance that the spend estimate takes as its
 * rate: one publish interval less some slack (an instance publishes at most once an interval,
 * at a marker poll).
 */
const minRateWindowMs = () => statsPublishIntervalMs() / 2;

/** What a day's spend is estimated from: counts, and the span they were counted over. */
interface CostCounts {
  reads: number;
  writes: number;
  redisCommands: number;
}

const costCounts = (usage: Partial<FunctionUsage> | undefined): CostCounts => ({
  reads: Number(usage?.reads) || 0,
  writes: Number(usage?.writes) || 0,
  redisCommands: Number(usage?.redisCommands) || 0,
});

const countsSince = (now: CostCounts, before: CostCounts): CostCounts => ({
  reads: Math.max(0, now.reads - before.reads),
  writes: Math.max(0, now.writes - before.writes),
  redisCommands: Math.max(0, now.redisCommands - before.redisCommands),
});

/**
 * One instance's counts for the estimate: since its oldest snapshot still in the stream (its
 * last minutes, so the estimate follows today's traffic, not the average since a start hours
 * ago), or all of them over its uptime when it has published once (at least a minute: a young
 * instance's first burst is no rate).
 */
function costBasis(newest: InstanceSnapshot, oldest: InstanceSnapshot | undefined, uptimeMs: number) {
  const byFunction = new Map<string, CostCounts>();
  const spanMs = oldest === undefined ? 0 : newest.publishedAtMs - oldest.publishedAtMs;
  const windowed = oldest !== undefined && oldest.startedAtMs === newest.startedAtMs && spanMs >= minRateWindowMs();
  for (const [name, usage] of Object.entries(newest.usage ?? {})) {
    const now = costCounts(usage);
    byFunction.set(name, windowed ? countsSince(now, costCounts(oldest.usage?.[name])) : now);
  }
  const work = costCounts(newest.instanceWork);
  const instanceWork = windowed ? countsSince(work, costCounts(oldest.instanceWork)) : work;
  return { byFunction, instanceWork, overMs: windowed ? spanMs : Math.max(uptimeMs, 60_000) };
}

/** Adds a day's worth of `counts` counted over `overMs`, at `prices`. */
function addCost(spend: FunctionSpend, counts: CostCounts, overMs: number, prices: ListPrices): void {
  const perDay = (count: number) => (count * dayMs) / overMs / 100_000;
  spend.estimatedUsdPerDay.reads += perDay(counts.reads) * prices.firestoreReadUsdPer100k;
  spend.estimatedUsdPerDay.writes += perDay(counts.writes) * prices.firestoreWriteUsdPer100k;
  spend.estimatedUsdPerDay.redis += perDay(counts.redisCommands) * prices.redisUsdPer100kCommands;
  spend.estimatedUsdPerDay.total = spend.estimatedUsdPerDay.reads + spend.estimatedUsdPerDay.writes + spend.estimatedUsdPerDay.redis;
}

/** Adds Redis commands (absent from older instances' snapshots). */
function addRedis(into: RedisUsage, usage: Partial<RedisUsage>): void {
  into.redisCommands += Number(usage.redisCommands) || 0;
  for (const [purpose, n] of Object.entries(usage.redisCommandsByPurpose ?? {}) as [keyof RedisUsage["redisCommandsByPurpose"], number][]) {
    into.redisCommandsByPurpose[purpose] = (into.redisCommandsByPurpose[purpose] ?? 0) + (Number(n) || 0);
  }
}

function addUsage(into: FunctionSpend, usage: FunctionUsage): void {
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
  addRedis(into, usage);
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
  const oldest = new Map<string, { snapshot: InstanceSnapshot; ageMs: number }>();
  for (const { snapshot, publishedAtRedisMs } of published) {
    const ageMs = Math.max(0, redisNowMs - publishedAtRedisMs);
    if (ageMs > snapshotTtlMs) continue;
    const key = `${snapshot.function}/${snapshot.instance}`;
    const seen = newest.get(key);
    // The instance's own measurement (± half a round trip) when it has one; else the entry id
    // against its send time, which also counts the trip to Redis.
    const clockOffsetMs = typeof snapshot.clockOffsetMs === "number" ? snapshot.clockOffsetMs : Math.round(publishedAtRedisMs - snapshot.publishedAtMs);
    if (!seen || ageMs < seen.ageMs) newest.set(key, { snapshot, ageMs, clockOffsetMs });
    const first = oldest.get(key);
    if (!first || ageMs > first.ageMs) oldest.set(key, { snapshot, ageMs });
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

  for (const [key, { snapshot, ageMs, clockOffsetMs }] of newest) {
    const uptimeMs = Math.max(0, snapshot.publishedAtMs - snapshot.startedAtMs) + ageMs;
    const basis = costBasis(snapshot, oldest.get(key)?.snapshot, uptimeMs);
    for (const [name, usage] of Object.entries(snapshot.usage ?? {})) {
      const spend = (spendByFunction[name] ??= emptySpend());
      addUsage(spend, usage);
      addCost(spend, basis.byFunction.get(name) ?? costCounts(undefined), basis.overMs, prices);
    }
    if (snapshot.instanceWork !== undefined) {
      const spend = (spendByFunction[snapshot.function] ??= emptySpend());
      addRedis(spend.instanceWork, snapshot.instanceWork);
      addCost(spend, basis.instanceWork, basis.overMs, prices);
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
      publishIntervalMs: statsPublishIntervalMs(),
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
