/**
 * What one function instance shares across requests (module scope survives warm starts): its
 * clock, its marker watcher (one MGET per poll interval for every cache), the registry of its
 * caches, and the telemetry it keeps on them (telemetry.ts). One runtime per module scope is
 * created lazily (cache/instance.ts); tests and the benchmark construct their own.
 */
import { Clock, systemClock } from "../common/clock";
import { CoherentCache, CoherentCacheOptions } from "./coherent-cache";
import { MarkerReader, MarkerWatcher, MarkerWatcherStats } from "./marker-watcher";
import { CacheTelemetry, InstanceCacheStats, noWatcherYet } from "../telemetry/cache-telemetry";

/** Builds the cache behind each `createCache` (the benchmark swaps in other designs). */
export type CacheFactory = <V>(options: CoherentCacheOptions, watcher: () => MarkerWatcher) => CoherentCache<V>;

const coherentCaches: CacheFactory = (options, watcher) => new CoherentCache(options, watcher);

export interface CacheRuntimeOptions {
  /** Reads marker readings for the watcher (the Redis one publishes the stats snapshot too). */
  readMarkers: (runtime: CacheRuntime) => MarkerReader;
  /** The marker poll interval (ms); read when the watcher is first needed. */
  pollIntervalMs: () => number;
  /** A scope no request asked for in this long (ms) leaves the poll. */
  scopeIdleMs: number;
  /** Converts a marker's write time (Redis's clock) to this machine's wall clock. */
  writeTimeToWallMs?: (runtime: CacheRuntime, writtenAtMs: number) => number;
  /** Default: performance.now(). */
  clock?: Clock;
  /** Default: CoherentCache. */
  cacheFactory?: CacheFactory;
}

export class CacheRuntime {
  private currentClock: Clock;
  /** The clock every cache of this runtime reads; `useClock` swaps what is behind it. */
  readonly clock: Clock = { now: () => this.currentClock.now() };
  private currentTelemetry: CacheTelemetry;
  private readonly caches: CoherentCache<unknown>[] = [];
  private cacheFactory: CacheFactory;
  private watcher: MarkerWatcher | undefined;

  constructor(private readonly options: CacheRuntimeOptions) {
    this.currentClock = options.clock ?? systemClock;
    this.cacheFactory = options.cacheFactory ?? coherentCaches;
    this.currentTelemetry = this.newTelemetry();
  }

  /** Freshness, the stats publisher and the figure logs of this runtime. */
  get telemetry(): CacheTelemetry {
    return this.currentTelemetry;
  }

  private newTelemetry(): CacheTelemetry {
    return new CacheTelemetry(this.clock, {
      caches: () => this.caches.map((cache) => cache.stats()),
      markers: () => this.markerStats(),
    });
  }

  useClock(clock: Clock): void {
    this.currentClock = clock;
  }

  /**
   * Replaces how caches are built. Caches are created when their modules load, so this must
   * come first: it throws once any exists.
   */
  useCacheFactory(factory: CacheFactory): void {
    if (this.caches.length > 0) throw new Error(`useCacheFactory: ${this.caches.length} caches were already created; call it before loading the functions`);
    this.cacheFactory = factory;
  }

  /** A cache on this runtime's clock and marker watcher. */
  createCache<V>(options: Omit<CoherentCacheOptions, "clock" | "onFailClosedBypass" | "onHit" | "runFetch">): CoherentCache<V> {
    const cache = this.cacheFactory<V>(
      {
        ...options,
        clock: this.clock,
        onFailClosedBypass: (name) => this.telemetry.onFailClosedBypass(name),
        onHit: () => this.telemetry.meter.hit(options.name),
        runFetch: (work) => this.telemetry.meter.fetch(options.name, work),
      },
      () => this.markerWatcher(),
    );
    this.caches.push(cache as CoherentCache<unknown>);
    return cache;
  }

  markerWatcher(): MarkerWatcher {
    this.watcher ??= new MarkerWatcher({
      read: this.options.readMarkers(this),
      pollIntervalMs: this.options.pollIntervalMs(),
      scopeIdleMs: this.options.scopeIdleMs,
      clock: this.clock,
      onReadError: (error) => this.telemetry.onMarkersUnreadable(error),
      onReadRecovered: (unreadableMs) => {
        for (const cache of this.caches) cache.dropFailClosedEntries();
        this.telemetry.onMarkersReadableAgain(unreadableMs);
      },
      ...(this.options.writeTimeToWallMs ? { writeTimeToWallMs: (ms: number) => this.options.writeTimeToWallMs!(this, ms) } : {}),
      onChangeSeen: (scope, delayMs) => this.telemetry.onChangeSeen(scope, delayMs),
    });
    return this.watcher;
  }

  markerStats(): MarkerWatcherStats {
    return this.watcher?.stats() ?? noWatcherYet;
  }

  stats(): InstanceCacheStats {
    return this.telemetry.stats();
  }

  /** A cold start (tests): empty caches, a new watcher, no figures, the real clock. */
  reset(): void {
    for (const cache of this.caches) cache.local.clear();
    this.watcher = undefined;
    this.currentTelemetry = this.newTelemetry();
    this.currentClock = systemClock;
  }
}
