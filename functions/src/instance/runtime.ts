/**
 * This module scope's runtime: one per function instance, surviving warm starts, created on
 * first use. It joins the cache engine (cache/runtime.ts) to the operators' telemetry
 * (telemetry/): the engine's marker watcher reads Redis through a reader that also publishes
 * the stats snapshot (redis-marker-reader.ts), and converts Redis's write times with the offset
 * that publisher measured; what the caches and the watcher do goes to the telemetry.
 *
 * It also holds what the instance keeps across requests beyond its caches, and everything code
 * outside the deployed functions may replace: the clock, the cache factory, the usage ledger and
 * the Redis command observer. They reach it one way, its constructor: that code (the benchmark's
 * preload) calls `configureInstance` once, before the functions load; the functions only ask
 * for the runtime (`instanceRuntime`). A test harness may later swap the clock (`useClock`) or
 * start cold (`reset`).
 */
import { CoherentCache } from "../cache/coherent-cache";
import { MarkerWatcher, PollRider } from "../cache/marker-watcher";
import { CacheFactory, CacheRuntime, RuntimeCacheOptions } from "../cache/runtime";
import { markerGuardedTtlMs, markerPollIntervalMs } from "../cache/settings";
import { Clock } from "../common/clock";
import { RequestRate } from "../common/request-rate";
import type { UsageLedger } from "../credits/ledger";
import { observeRedisCommands, RedisCommandObserver } from "../redis/client";
import { redisCommandPurpose } from "../redis/command-purposes";
import { redisCommandUsd } from "../prices";
import { CacheTelemetry, InstanceCacheStats } from "../telemetry/cache-telemetry";
import { UsageMeter } from "../telemetry/meter";
import { redisMarkerReader } from "./redis-marker-reader";

/** What outside code may give the runtime; each has a default that the deployed functions use. */
export interface InstanceRuntimeOptions {
  /** Default: performance.now(). */
  clock?: Clock;
  /** How caches are built. Default: CoherentCache (the benchmark measures other designs on the same handlers this way). */
  cacheFactory?: CacheFactory;
  /**
   * The credits path's fleet figure. Default: none given, and the credits path chooses by price
   * between the Redis ledger and a sum of the month per answer (credits/credit-cache.ts
   * `usageLedger`); the benchmark's reference gives one that keeps no figure.
   */
  usageLedger?: UsageLedger;
  /**
   * Hears every Redis command this process sends, where it is sent (redis/client.ts). Default:
   * counts it by purpose in the usage meter of the moment (a reset replaces the meter).
   */
  commandObserver?: RedisCommandObserver;
}

export class InstanceRuntime {
  private readonly caches: CacheRuntime;
  private currentTelemetry: CacheTelemetry;
  readonly usageLedger: UsageLedger | undefined;
  readonly commandObserver: RedisCommandObserver;
  private usageWrites = 0;
  /**
   * Requests lately, per function: how many requests one marker poll serves. Every function is
   * its own service in production, so a poll serves its own function's requests only; where
   * functions share a process (the emulator, the benchmark) a lookup weighs a poll the same way.
   */
  private readonly requestRates = new Map<string, RequestRate>();

  constructor(options: InstanceRuntimeOptions = {}) {
    this.caches = new CacheRuntime({
      readMarkers: redisMarkerReader(() => this.telemetry),
      pollIntervalMs: markerPollIntervalMs,
      scopeIdleMs: markerGuardedTtlMs,
      // Redis's clock to this machine's: this instance's offset from Redis, as measured at its
      // last stats publish (see MarkerWatcher.noteChange for what bounds the error left).
      writeTimeToWallMs: (writtenAtMs) => writtenAtMs - this.telemetry.publisher.redisClockOffsetMs(),
      clock: options.clock,
      cacheFactory: options.cacheFactory,
      events: () => this.telemetry,
      // A poll is one Upstash command: at its price, a lookup whose source is cheaper to read
      // than its share of a poll reads the source (MarkerWatcher.readThroughCheaper).
      pollUsd: redisCommandUsd,
      requestsPerMs: () => this.requestRates.get(this.meter.currentFunction())?.perMs() ?? 0,
      // The stats publish rides on a poll: an instance that reads its sources instead polls for
      // it when it is overdue, so cacheStats still sees it.
      pollWanted: () => this.telemetry.publishOverdue(),
    });
    this.currentTelemetry = this.newTelemetry();
    this.usageLedger = options.usageLedger;
    this.commandObserver = options.commandObserver ?? ((command) => this.meter.redisCommand(redisCommandPurpose(command)));
    // For the life of the process: one runtime per module scope.
    observeRedisCommands(this.commandObserver);
  }

  private newTelemetry(): CacheTelemetry {
    return new CacheTelemetry(this.clock, {
      caches: () => this.caches.cacheStats(),
      markers: () => this.caches.markerStats(),
    });
  }

  /** The clock every module-scope cache reads, and the credits path's time; `useClock` swaps what is behind it. */
  get clock(): Clock {
    return this.caches.clock;
  }

  useClock(clock: Clock): void {
    this.caches.useClock(clock);
  }

  /** Freshness, the usage meter, the stats publisher and the figure logs of this instance. */
  get telemetry(): CacheTelemetry {
    return this.currentTelemetry;
  }

  /** This instance's Firestore and Redis usage meter (telemetry/meter.ts). */
  get meter(): UsageMeter {
    return this.telemetry.meter;
  }

  /** A module-scope cache on this instance's clock and marker watcher. */
  createCache<V>(options: RuntimeCacheOptions): CoherentCache<V> {
    return this.caches.createCache<V>(options);
  }

  markerWatcher(): MarkerWatcher {
    return this.caches.markerWatcher();
  }

  /** `rider` rides on every marker poll of this instance (cache/marker-watcher.ts, PollRider). */
  addPollRider(rider: PollRider): void {
    this.caches.addRider(rider);
  }

  /** A request of `functionName` arrived (every metered handler says so). */
  noteRequest(functionName: string): void {
    let rate = this.requestRates.get(functionName);
    if (rate === undefined) this.requestRates.set(functionName, (rate = new RequestRate({ now: () => this.clock.now() })));
    rate.note();
  }

  /** Called after each usage write this instance completes; returns the write's sequence number. */
  noteUsageWritten(): number {
    return ++this.usageWrites;
  }

  /** Usage writes this instance has completed (what a credits fetch starting now includes). */
  get usageWritesCompleted(): number {
    return this.usageWrites;
  }

  stats(): InstanceCacheStats {
    return this.telemetry.stats();
  }

  /** A cold start, for tests: empty caches, a new watcher, no figures, the real clock. */
  reset(): void {
    this.caches.reset();
    this.currentTelemetry = this.newTelemetry();
  }
}

let runtime: InstanceRuntime | undefined;

/** This module scope's runtime, created on first use. */
export function instanceRuntime(): InstanceRuntime {
  runtime ??= new InstanceRuntime();
  return runtime;
}

/**
 * Creates this module scope's runtime with `options`, from outside the deployed code. Caches are
 * created when their modules load, so this must run first: it throws once the runtime exists.
 */
export function configureInstance(options: InstanceRuntimeOptions): InstanceRuntime {
  if (runtime) throw new Error("configureInstance: the instance runtime already exists; configure it before loading the functions");
  runtime = new InstanceRuntime(options);
  return runtime;
}

/** A module-scope cache on this instance's clock and marker watcher. */
export function createCache<V>(options: RuntimeCacheOptions): CoherentCache<V> {
  return instanceRuntime().createCache<V>(options);
}

/** This instance's usage meter. */
export function usageMeter(): UsageMeter {
  return instanceRuntime().meter;
}

/** `handler` with every call counted as a request of `functionName` (what it reads and writes, and its Redis commands, too). */
export function meteredAs<A extends unknown[], R>(functionName: string, handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => {
    instanceRuntime().noteRequest(functionName);
    return usageMeter().request(functionName, () => handler(...args));
  };
}
