/**
 * What one instance tells operators about its caches: the freshness it measures, what its
 * requests cost (the usage meter), the stats snapshot it publishes for `cacheStats` at most once
 * a minute (riding on a marker poll, see fleet-stats.ts), and its log lines (logs.ts), each
 * throttled to once a minute. It hears the engine through the events a cache runtime tells
 * (cache/runtime.ts `CacheEvents`), and reads the engine's own figures through `TelemetrySource`.
 */
import { CoherentCacheStats } from "../cache/coherent-cache";
import { MarkerWatcherStats } from "../cache/marker-watcher";
import { CacheEvents } from "../cache/runtime";
import { freshnessPromiseMs } from "../cache/settings";
import { Clock } from "../common/clock";
import { Throttle } from "../common/throttle";
import * as logs from "../logs";
import { instanceIdentity, InstanceIdentity, InstanceSnapshot, StatsPublisher } from "./fleet-stats";
import { FreshnessRecorder, FreshnessSummary, mergeHistograms, scopeFamily, summarize } from "./freshness";
import { FunctionUsage, RedisUsage, UsageMeter } from "./meter";

/** How often an instance writes its metric-friendly figures line (logs.cacheFigures). */
export const figuresLogIntervalMs = 5 * 60_000;

export interface InstanceCacheStats {
  instance: InstanceIdentity;
  caches: CoherentCacheStats[];
  markers: MarkerWatcherStats;
  /** Measured freshness per scope family, since this instance started. */
  freshness: Record<string, FreshnessSummary>;
  /** Firestore reads and writes and Redis commands per function, since this instance started (meter.ts). */
  usage: Record<string, FunctionUsage>;
  /** The instance's own Redis commands (marker polls, stats publishes, anything outside a request). */
  instanceWork: RedisUsage;
  /** Of those, how many each function's requests sent (meter.ts, instanceWorkStartedBy). */
  instanceWorkStartedBy: Record<string, number>;
}

/** What the telemetry needs to know of the runtime it reports on. */
export interface TelemetrySource {
  caches(): CoherentCacheStats[];
  markers(): MarkerWatcherStats;
}

export class CacheTelemetry implements CacheEvents {
  readonly freshness = new FreshnessRecorder();
  readonly meter = new UsageMeter(() => instanceIdentity().function);
  readonly publisher: StatsPublisher;
  private readonly startedAtMs = Date.now();
  private readonly markersUnreadableLog: Throttle;
  private readonly failClosedLog: Throttle;
  private readonly staleServingLog: Throttle;
  private readonly bypassedCaches = new Set<string>();
  private figuresLoggedAtMs: number | undefined;
  private lookedUp = false;

  constructor(
    private readonly clock: Clock,
    private readonly source: TelemetrySource,
  ) {
    this.publisher = new StatsPublisher(clock);
    this.markersUnreadableLog = new Throttle(60_000, clock);
    this.failClosedLog = new Throttle(60_000, clock);
    this.staleServingLog = new Throttle(60_000, clock);
  }

  onHit(cacheName: string): void {
    this.meter.hit(cacheName);
  }

  runFetch<T>(cacheName: string, work: () => Promise<T>): Promise<T> {
    return this.meter.fetch(cacheName, work);
  }

  /** A change seen by the watcher, `delayMs` after its marker write: a sample, and a line if late. */
  onChangeSeen(scope: string, delayMs: number | undefined): void {
    this.freshness.record(scope, delayMs);
    if (delayMs !== undefined && delayMs > freshnessPromiseMs) {
      this.staleServingLog.run((skipped) =>
        logs.freshnessPromiseMissed({
          family: scopeFamily(scope),
          delayMs: Math.round(delayMs),
          promiseMs: freshnessPromiseMs,
          lateChangesSinceLastLine: skipped + 1,
        }),
      );
    }
  }

  onFailClosedBypass(cacheName: string): void {
    this.bypassedCaches.add(cacheName);
    this.failClosedLog.run((skipped) => {
      logs.failClosedBypasses({ caches: [...this.bypassedCaches].sort(), bypassesSinceLastLine: skipped + 1 });
      this.bypassedCaches.clear();
    });
  }

  onMarkersUnreadable(error: unknown): void {
    this.markersUnreadableLog.run((skipped) => logs.markersUnreadable(error, { failedReadsSinceLastLine: skipped + 1 }));
  }

  onMarkersReadableAgain(unreadableMs: number): void {
    this.markersUnreadableLog.reset();
    logs.markersReadableAgain({ unreadableMs: Math.round(unreadableMs) });
  }

  /** This instance's stats publish is overdue (StatsPublisher.overdue): an instance that reads its sources instead of polling polls for it. */
  publishOverdue(): boolean {
    return this.hasLookedUp() && this.publisher.overdue();
  }

  /** Whether any cache has served a lookup (else a snapshot would only say it has nothing). */
  hasLookedUp(): boolean {
    this.lookedUp ||= this.source.caches().some((cache) => cache.hits + cache.misses > 0);
    return this.lookedUp;
  }

  /** Whether this instance has served any cached read (else it has nothing to report). */
  hasFigures(): boolean {
    return this.source.markers().markerChecks > 0;
  }

  stats(): InstanceCacheStats {
    const perFamily: Record<string, FreshnessSummary> = {};
    for (const [family, histogram] of Object.entries(this.freshness.snapshot())) perFamily[family] = summarize(histogram);
    return {
      instance: instanceIdentity(),
      caches: this.source.caches(),
      markers: this.source.markers(),
      freshness: perFamily,
      usage: this.meter.snapshot(),
      instanceWork: this.meter.instanceWorkSnapshot(),
      instanceWorkStartedBy: this.meter.instanceWorkStartedBy(),
    };
  }

  /** What this instance publishes: the caches it used, its markers, its freshness histograms. */
  snapshot(): InstanceSnapshot {
    const used = this.source.caches().filter((c) => c.hits + c.misses + c.entries + c.fetches + c.bypassedWhileMarkersUnreadable > 0);
    return {
      v: 1,
      ...instanceIdentity(),
      startedAtMs: this.startedAtMs,
      publishedAtMs: Date.now(),
      caches: used,
      markers: this.source.markers(),
      freshness: this.freshness.snapshot(),
      usage: this.meter.snapshot(),
      instanceWork: this.meter.instanceWorkSnapshot(),
      clockOffsetMs: this.publisher.measuredOffsetMs(),
    };
  }

  /** Every `figuresLogIntervalMs`, at a poll: the figures line operators build metrics from. */
  maybeLogFigures(snapshot: InstanceSnapshot | undefined): void {
    const nowMs = this.clock.now();
    this.figuresLoggedAtMs ??= nowMs;
    if (nowMs - this.figuresLoggedAtMs < figuresLogIntervalMs) return;
    this.figuresLoggedAtMs = nowMs;
    logs.cacheFigures(figuresFields(snapshot ?? this.snapshot()));
  }
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
    perCache[c.name] = {
      entries: c.entries,
      bytes: c.bytes,
      hits: c.hits,
      misses: c.misses,
      hitRate: c.hitRate,
      evictions: c.evictions,
      fetches: c.fetches,
      collapsedFetches: c.collapsedFetches,
    };
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
