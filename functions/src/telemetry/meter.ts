/**
 * What each function's requests cost in Firestore, counted in process: Cloud Monitoring's
 * Firestore metrics have no per-function or per-collection dimension, so an operator cannot
 * see which function spends the bill (omi built the same meter for the same reason).
 *
 * Counted as Firestore bills: a document read per document returned (a get of a missing
 * document is a read too, and counted apart as not found), a query that returns nothing one
 * read, an aggregation one read per 1,000 index entries it matched (at least one), a write per
 * document a commit writes. Each count goes to the function whose request is running
 * (`request`; in production an instance serves one function, its default) and to a
 * collection. A cache hit is counted with the reads it saved: what that cache's fetches read on
 * average.
 *
 * Redis commands are counted too, by purpose (redis/command-purposes.ts), as Upstash bills
 * them: every command the client sends (redis/client.ts publishes each in the sender's async
 * context, and the instance runtime hands it to `redisCommand`), so they agree with what
 * Upstash counts. A request's commands go to its function; the instance's own work goes to its
 * own bucket (`instanceWork`): the marker poll and the stats publish riding on it, which serve
 * every request at once (whichever request started the poll), and any command sent outside a
 * request. The client auto-pipelines: commands of concurrent requests sent in one batch are
 * counted in the context of the call that opened it. In production an instance serves one
 * function, so that never moves a command between functions; a process serving several (the
 * test harness) can, under concurrent calls.
 *
 * It costs a few map updates per request and command and no I/O: the figures ride on the
 * instance's stats snapshot, published at most once a minute (fleet-stats.ts).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { instanceWorkPurposes, RedisCommandPurpose } from "../redis/command-purposes";

/** Redis commands, as Upstash bills them, by purpose. */
export interface RedisUsage {
  redisCommands: number;
  redisCommandsByPurpose: Partial<Record<RedisCommandPurpose, number>>;
}

export interface FunctionUsage extends RedisUsage {
  requests: number;
  /** Billed document reads, not-found gets included. */
  reads: number;
  notFoundReads: number;
  writes: number;
  readsByCollection: Record<string, number>;
  writesByCollection: Record<string, number>;
  cacheHits: number;
  /** What the hits would have read: each hit times its cache's reads per fetch so far. */
  readsSaved: number;
}

interface FunctionCounts extends FunctionUsage {
  hitsByCache: Record<string, number>;
}

// readsSaved stays 0 here: it is derived when a snapshot is taken.
const emptyCounts = (): FunctionCounts => ({ ...noUsage(), hitsByCache: {} });

/** A function with no usage counted yet. */
export function noUsage(): FunctionUsage {
  return {
    requests: 0,
    reads: 0,
    notFoundReads: 0,
    writes: 0,
    readsByCollection: {},
    writesByCollection: {},
    cacheHits: 0,
    readsSaved: 0,
    ...noRedisUsage(),
  };
}

export function noRedisUsage(): RedisUsage {
  return { redisCommands: 0, redisCommandsByPurpose: {} };
}

function countCommand(into: RedisUsage, purpose: RedisCommandPurpose): void {
  into.redisCommands++;
  into.redisCommandsByPurpose[purpose] = (into.redisCommandsByPurpose[purpose] ?? 0) + 1;
}

const copyRedisUsage = (usage: RedisUsage): RedisUsage => ({ redisCommands: usage.redisCommands, redisCommandsByPurpose: { ...usage.redisCommandsByPurpose } });

export class UsageMeter {
  private readonly requestScope = new AsyncLocalStorage<string>();
  private readonly fetchScope = new AsyncLocalStorage<{ reads: number }>();
  private readonly byFunction = new Map<string, FunctionCounts>();
  private readonly fetchesByCache = new Map<string, { fetches: number; reads: number }>();
  private readonly instanceWork = noRedisUsage();
  /** The instance's own commands sent while a request of each function ran (the poll it found due). */
  private readonly instanceWorkStarted = new Map<string, number>();

  /** `defaultFunction`: the function work outside any `request` belongs to (the one this instance serves). */
  constructor(private readonly defaultFunction: () => string) {}

  /** The function whose request is running here (outside any request: the one this instance serves). */
  currentFunction(): string {
    return this.requestScope.getStore() ?? this.defaultFunction();
  }

  private current(): FunctionCounts {
    return this.countsOf(this.currentFunction());
  }

  private countsOf(name: string): FunctionCounts {
    let counts = this.byFunction.get(name);
    if (counts === undefined) {
      counts = emptyCounts();
      this.byFunction.set(name, counts);
    }
    return counts;
  }

  /** One request of `functionName`: what `work` causes is counted to it. */
  request<T>(functionName: string, work: () => Promise<T>): Promise<T> {
    return this.requestScope.run(functionName, () => {
      this.current().requests++;
      return work();
    });
  }

  /** `documents` billed reads of `collection`, `notFound` of them gets of missing documents. */
  reads(collection: string, documents: number, notFound = 0): void {
    const counts = this.current();
    counts.reads += documents;
    counts.notFoundReads += notFound;
    counts.readsByCollection[collection] = (counts.readsByCollection[collection] ?? 0) + documents;
    const fetch = this.fetchScope.getStore();
    if (fetch) fetch.reads += documents;
  }

  writes(collection: string, documents: number): void {
    const counts = this.current();
    counts.writes += documents;
    counts.writesByCollection[collection] = (counts.writesByCollection[collection] ?? 0) + documents;
  }

  /** A cache's fetch: the reads it causes are what a later hit of that cache saves. */
  async fetch<T>(cache: string, work: () => Promise<T>): Promise<T> {
    const scope = { reads: 0 };
    try {
      return await this.fetchScope.run(scope, work);
    } finally {
      const totals = this.fetchesByCache.get(cache) ?? { fetches: 0, reads: 0 };
      totals.fetches++;
      totals.reads += scope.reads;
      this.fetchesByCache.set(cache, totals);
    }
  }

  hit(cache: string): void {
    const counts = this.current();
    counts.cacheHits++;
    counts.hitsByCache[cache] = (counts.hitsByCache[cache] ?? 0) + 1;
  }

  /** One Redis command being sent: to the current request's function, or to the instance's own work. */
  redisCommand(purpose: RedisCommandPurpose): void {
    const requestOf = this.requestScope.getStore();
    if (!instanceWorkPurposes.has(purpose)) {
      countCommand(requestOf === undefined ? this.instanceWork : this.countsOf(requestOf), purpose);
      return;
    }
    countCommand(this.instanceWork, purpose);
    if (requestOf !== undefined) this.instanceWorkStarted.set(requestOf, (this.instanceWorkStarted.get(requestOf) ?? 0) + 1);
  }

  /**
   * The instance's own commands by the function whose request sent them (found the poll due):
   * in production one function's; where an instance serves several (the benchmark), how to share
   * that work out by who needed it (a request that read its source instead of polling started none).
   */
  instanceWorkStartedBy(): Record<string, number> {
    return Object.fromEntries(this.instanceWorkStarted);
  }

  /** The instance's own Redis commands since it started (outside requests, and its polls and publishes). */
  instanceWorkSnapshot(): RedisUsage {
    return copyRedisUsage(this.instanceWork);
  }

  /** The figures per function since this instance started. */
  snapshot(): Record<string, FunctionUsage> {
    const perFetch = (cache: string) => {
      const totals = this.fetchesByCache.get(cache);
      return totals === undefined || totals.fetches === 0 ? 0 : totals.reads / totals.fetches;
    };
    const usage: Record<string, FunctionUsage> = {};
    for (const [name, { hitsByCache, ...counts }] of this.byFunction) {
      const readsSaved = Object.entries(hitsByCache).reduce((saved, [cache, hits]) => saved + hits * perFetch(cache), 0);
      usage[name] = {
        ...counts,
        readsByCollection: { ...counts.readsByCollection },
        writesByCollection: { ...counts.writesByCollection },
        ...copyRedisUsage(counts),
        readsSaved: Math.round(readsSaved),
      };
    }
    return usage;
  }
}
