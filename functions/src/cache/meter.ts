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
 * It costs a few map updates per request and no I/O: the figures ride on the instance's stats
 * snapshot, published at most once a minute (fleet-stats.ts).
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface FunctionUsage {
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
  return { requests: 0, reads: 0, notFoundReads: 0, writes: 0, readsByCollection: {}, writesByCollection: {}, cacheHits: 0, readsSaved: 0 };
}

export class UsageMeter {
  private readonly requestScope = new AsyncLocalStorage<string>();
  private readonly fetchScope = new AsyncLocalStorage<{ reads: number }>();
  private readonly byFunction = new Map<string, FunctionCounts>();
  private readonly fetchesByCache = new Map<string, { fetches: number; reads: number }>();

  /** `defaultFunction`: the function work outside any `request` belongs to (the one this instance serves). */
  constructor(private readonly defaultFunction: () => string) {}

  private current(): FunctionCounts {
    const name = this.requestScope.getStore() ?? this.defaultFunction();
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
        readsSaved: Math.round(readsSaved),
      };
    }
    return usage;
  }
}
