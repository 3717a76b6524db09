/**
 * What one function instance's caches share across requests (module scope survives warm
 * starts): the clock they read, their marker watcher (one poll command per interval for every
 * cache) and the registry of the caches. It knows nothing of who reports on it: what its caches
 * and watcher do goes to `events` (instance/runtime.ts gives it the operators' telemetry), the
 * engine's one seam to whatever watches it.
 */
import { Clock, systemClock } from "../common/clock";
import { CoherentCache, CoherentCacheOptions, CoherentCacheStats } from "./coherent-cache";
import { MarkerReader, MarkerWatcher, MarkerWatcherStats, PollRider } from "./marker-watcher";

/** Builds the cache behind each `createCache` (the benchmark swaps in other designs). */
export type CacheFactory = <V>(options: CoherentCacheOptions, watcher: () => MarkerWatcher) => CoherentCache<V>;

const coherentCaches: CacheFactory = (options, watcher) => new CoherentCache(options, watcher);

/** A cache's options as the module creating it gives them: the runtime adds its clock and its events. */
export type RuntimeCacheOptions = Omit<CoherentCacheOptions, "clock" | "onFailClosedBypass" | "onHit" | "runFetch">;

/** What the caches and the marker watcher of a runtime tell whoever watches them. */
export interface CacheEvents {
  /** A lookup of `cacheName` served from the cache. */
  onHit(cacheName: string): void;
  /** Runs each fetch of `cacheName` (to count what it reads). */
  runFetch<T>(cacheName: string, work: () => Promise<T>): Promise<T>;
  /** A fail-closed read: markers cannot be read, so security-sensitive data bypassed the cache. */
  onFailClosedBypass(cacheName: string): void;
  onMarkersUnreadable(error: unknown): void;
  onMarkersReadableAgain(unreadableMs: number): void;
  /** A marker change the watcher saw, `delayMs` after its write (undefined: the write time is unknown). */
  onChangeSeen(scope: string, delayMs: number | undefined): void;
}

const unheard: CacheEvents = {
  onHit: () => undefined,
  runFetch: (_cacheName, work) => work(),
  onFailClosedBypass: () => undefined,
  onMarkersUnreadable: () => undefined,
  onMarkersReadableAgain: () => undefined,
  onChangeSeen: () => undefined,
};

const noWatcherYet: MarkerWatcherStats = { markerChecks: 0, markerCheckErrors: 0, markerChangesSeen: 0, trackedScopes: 0, markersHealthy: false };

export interface CacheRuntimeOptions {
  /** Reads marker readings for the watcher. */
  readMarkers: MarkerReader;
  /** The marker poll interval (ms); read when the watcher is first needed. */
  pollIntervalMs: () => number;
  /** A scope no request asked for in this long (ms) leaves the poll. */
  scopeIdleMs: number;
  /** Converts a marker's write time (Redis's clock) to this machine's wall clock. */
  writeTimeToWallMs?: (writtenAtMs: number) => number;
  /** Default: performance.now(). */
  clock?: Clock;
  /** Default: CoherentCache. */
  cacheFactory?: CacheFactory;
  /** Who hears what happens, asked anew at each event (so a reset can replace it). Default: nobody. */
  events?: () => CacheEvents;
  /** The price of one poll (US dollars), for lookups that may read their source instead (MarkerWatcher). Default: none. */
  pollUsd?: () => number;
  /** Requests per ms lately among those one poll serves (MarkerWatcher). Default: 0. */
  requestsPerMs?: () => number;
  /** Whether something should ride on the next poll now (MarkerWatcher). Default: never. */
  pollWanted?: () => boolean;
}

export class CacheRuntime {
  private currentClock: Clock;
  /** The clock every cache of this runtime reads; `useClock` swaps what is behind it. */
  readonly clock: Clock = { now: () => this.currentClock.now() };
  private readonly caches: CoherentCache<unknown>[] = [];
  private readonly cacheFactory: CacheFactory;
  private watcher: MarkerWatcher | undefined;
  private readonly riders: PollRider[] = [];

  constructor(private readonly options: CacheRuntimeOptions) {
    this.currentClock = options.clock ?? systemClock;
    this.cacheFactory = options.cacheFactory ?? coherentCaches;
  }

  private events(): CacheEvents {
    return this.options.events?.() ?? unheard;
  }

  useClock(clock: Clock): void {
    this.currentClock = clock;
  }

  /** A cache on this runtime's clock and marker watcher. */
  createCache<V>(options: RuntimeCacheOptions): CoherentCache<V> {
    const cache = this.cacheFactory<V>(
      {
        ...options,
        clock: this.clock,
        onFailClosedBypass: (name) => this.events().onFailClosedBypass(name),
        onHit: () => this.events().onHit(options.name),
        runFetch: (work) => this.events().runFetch(options.name, work),
      },
      () => this.markerWatcher(),
    );
    this.caches.push(cache as CoherentCache<unknown>);
    return cache;
  }

  markerWatcher(): MarkerWatcher {
    this.watcher ??= new MarkerWatcher({
      read: this.options.readMarkers,
      pollIntervalMs: this.options.pollIntervalMs(),
      scopeIdleMs: this.options.scopeIdleMs,
      clock: this.clock,
      onReadError: (error) => this.events().onMarkersUnreadable(error),
      onReadRecovered: (unreadableMs) => {
        for (const cache of this.caches) cache.dropFailClosedEntries();
        this.events().onMarkersReadableAgain(unreadableMs);
      },
      ...(this.options.writeTimeToWallMs ? { writeTimeToWallMs: this.options.writeTimeToWallMs } : {}),
      onChangeSeen: (scope, delayMs) => this.events().onChangeSeen(scope, delayMs),
      ...(this.options.pollUsd ? { pollUsd: this.options.pollUsd } : {}),
      ...(this.options.requestsPerMs ? { requestsPerMs: this.options.requestsPerMs } : {}),
      ...(this.options.pollWanted ? { pollWanted: this.options.pollWanted } : {}),
      riders: () => this.riders,
    });
    return this.watcher;
  }

  /** `rider` rides on every marker poll of this runtime (its watcher's, and any new one's after a reset). */
  addRider(rider: PollRider): void {
    this.riders.push(rider);
  }

  cacheStats(): CoherentCacheStats[] {
    return this.caches.map((cache) => cache.stats());
  }

  markerStats(): MarkerWatcherStats {
    return this.watcher?.stats() ?? noWatcherYet;
  }

  /** A cold start (tests): empty caches, a new watcher, the real clock. */
  reset(): void {
    for (const cache of this.caches) cache.local.clear();
    for (const rider of this.riders) rider.reset?.();
    this.watcher = undefined;
    this.currentClock = systemClock;
  }
}
