/**
 * The instance-local cache: lru-cache for storage (TTL, entry and byte bounds, LRU order),
 * plus our own single flight rather than lru-cache's `fetch()`. `fetch()` does share one
 * in-flight load per key, but not with the semantics we need:
 * - a flight belongs to a validity tag (the invalidation-marker versions it was fetched
 *   under): a caller asking with another tag does not join it, and a stored entry fetched
 *   under old markers is a miss, whatever bookkeeping happened in between; unless the caller
 *   says the entry or flight holds for its tag too (`adopt`), and then both are one: a key has
 *   at most one flight, and what would be served from its entry is served from its flight;
 * - a flight running when its key is invalidated still returns to its callers but is never
 *   stored (`fetch()` aborts it on delete: its callers get a rejection, or with
 *   `ignoreFetchAbort` the stale value is stored);
 * - a flight may be shared without being stored (`store: false`, fail closed);
 * - frozen values, so no caller can change what every other caller is served;
 * - figures cheap enough to leave on.
 */
import { LRUCache } from "lru-cache";
import { Clock, systemClock, wallClock } from "../common/clock";
import { deepFreeze, estimateBytes } from "./values";

export interface LocalCacheOptions {
  name: string;
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
  /** TTLs and ages (ms, monotonic). Default: performance.now(). */
  clock?: Clock;
  /** Wall-clock ms (Unix), to compare a fetch with times stamped elsewhere. Default: Date.now(). */
  wallClock?: Clock;
  /** Told of every hit (the usage meter counts what hits save). */
  onHit?: () => void;
  /** Runs each fetch (the usage meter counts what a fetch reads). Default: runs it. */
  runFetch?: <T>(work: () => Promise<T>) => Promise<T>;
}

/**
 * What one lookup did, the way lru-cache reports it: pass an object in `status`, read it after
 * the call. Filled by LocalCache (`get`) and CoherentCache (the rest).
 */
export interface LookupStatus {
  /** `hit`: served from the cache; `fetch`: this caller fetched; `inflight`: joined a fetch already running. */
  get?: "hit" | "fetch" | "inflight";
  /** The fetched value was not stored (fail closed). */
  notStored?: true;
  /**
   * The markers of the entry's scopes: read (`fresh`), a scope waits for the next poll
   * (`pending`), Redis failed (`unreadable`), or not polled: reading the source was cheaper (`readThrough`).
   */
  markers?: "fresh" | "pending" | "unreadable" | "readThrough";
  /** The fetch re-read only the ids the markers' logs named. */
  patched?: true;
  /** An entry or a running fetch, begun before its scopes were read, was kept: the poll showed no change since. */
  adopted?: true;
}

export interface FetchOptions {
  /** Validity tag: a stored entry is served only to a caller asking with the same tag. */
  tag?: string;
  /** Overrides the cache's TTL for this entry. */
  ttlMs?: number;
  /**
   * Serve a stored entry only if its fetch started at most this long ago (ms on the cache's
   * clock); an older one is a miss and is refetched. Unset: any entry within its TTL.
   */
  maxAgeMs?: number;
  /** When false the result is shared with concurrent callers but not stored (fail closed). */
  store?: boolean;
  /** Filled with what this lookup did. */
  status?: LookupStatus;
  /**
   * Whether the data of a stored entry, or of a fetch still running, under another tag holds
   * for this caller's tag too (asked only when nothing under `tag` serves). A true answer is
   * always acted on: the caller is served from it (a hit, or joining the flight) and it
   * carries `tag` from then on.
   */
  adopt?: (fetched: Fetched) => boolean;
}

/** What a stored entry or a running flight was fetched under, and when its fetch began. */
export interface Fetched {
  tag: string;
  /** On the cache's clock. */
  fetchedAtMs: number;
  /** The same instant on the wall clock. */
  fetchedAtWallMs: number;
}

export interface LocalCacheStats {
  name: string;
  entries: number;
  bytes: number;
  maxEntries: number;
  maxBytes: number;
  hits: number;
  misses: number;
  hitRate: number;
  evictions: number;
  fetches: number;
  fetchErrors: number;
  collapsedFetches: number;
  invalidations: number;
  discardedFetches: number;
  tooLarge: number;
}

interface Entry<V> extends Fetched {
  value: V;
  bytes: number;
  /** When the fetch that produced the value started (the data is at least this fresh). */
  fetchedAtMs: number;
}

interface Flight<V> extends Fetched {
  promise: Promise<V>;
  /** What the result is stored under: the starter's tag, or the tag of a caller that adopted the flight. */
  tag: string;
  store: boolean;
}

const noTag = "";

export class LocalCache<V> {
  readonly name: string;
  private readonly lru: LRUCache<string, Entry<V>>;
  private readonly flights = new Map<string, Flight<V>>();
  private readonly maxBytes: number;
  private readonly clock: Clock;
  private readonly wallClock: Clock;
  private readonly onHit: () => void;
  private readonly runFetch: <T>(work: () => Promise<T>) => Promise<T>;
  private readonly counts = {
    hits: 0,
    misses: 0,
    evictions: 0,
    fetches: 0,
    fetchErrors: 0,
    collapsedFetches: 0,
    invalidations: 0,
    discardedFetches: 0,
    tooLarge: 0,
  };

  constructor(options: LocalCacheOptions) {
    this.name = options.name;
    this.maxBytes = options.maxBytes;
    this.clock = options.clock ?? systemClock;
    this.wallClock = options.wallClock ?? wallClock;
    this.onHit = options.onHit ?? (() => undefined);
    this.runFetch = options.runFetch ?? ((work) => work());
    this.lru = new LRUCache<string, Entry<V>>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      maxEntrySize: options.maxBytes,
      sizeCalculation: (entry) => Math.max(1, entry.bytes),
      ttl: options.ttlMs,
      // Every read sees the injected clock's current time (the default caches it for 1 ms).
      ttlResolution: 0,
      perf: this.clock,
      dispose: (_entry, _key, reason) => {
        if (reason === "evict") this.counts.evictions++;
      },
    });
  }

  /**
   * The stored value for `key` if it is within its TTL, was stored under `tag` and (with
   * `maxAgeMs`) was fetched at most that long ago; counts a hit or miss.
   */
  get(key: string, tag: string = noTag, maxAgeMs?: number): { value: V } | undefined {
    const entry = this.lru.get(key);
    if (this.serves(entry, tag, maxAgeMs)) {
      this.counts.hits++;
      this.onHit();
      return entry;
    }
    this.counts.misses++;
    return undefined;
  }

  /** The stored entry within its TTL, whatever its tag, without counting a lookup or touching LRU order. */
  peek(key: string): { value: V; tag: string; fetchedAtMs: number; fetchedAtWallMs: number } | undefined {
    return this.lru.peek(key);
  }

  /** Whether `get(key, tag, maxAgeMs)` would hit, without counting a lookup. */
  has(key: string, tag: string, maxAgeMs?: number): boolean {
    return this.serves(this.lru.peek(key), tag, maxAgeMs);
  }

  private serves(entry: Entry<V> | undefined, tag: string, maxAgeMs: number | undefined): entry is Entry<V> {
    return entry !== undefined && entry.tag === tag && (maxAgeMs === undefined || this.clock.now() - entry.fetchedAtMs <= maxAgeMs);
  }

  /** Stores a value (frozen). Returns false when it is larger than the byte bound. */
  set(key: string, value: V, options: { tag?: string; ttlMs?: number; fetchedAtMs?: number; fetchedAtWallMs?: number } = {}): boolean {
    const bytes = key.length * 2 + estimateBytes(value);
    if (bytes > this.maxBytes) {
      this.counts.tooLarge++;
      this.lru.delete(key);
      return false;
    }
    const fetchedAtMs = options.fetchedAtMs ?? this.clock.now();
    const fetchedAtWallMs = options.fetchedAtWallMs ?? this.wallClock.now();
    this.lru.set(key, { value: deepFreeze(value), tag: options.tag ?? noTag, bytes, fetchedAtMs, fetchedAtWallMs }, { ttl: options.ttlMs });
    return true;
  }

  /**
   * The cached value, or the result of one `fetch` shared by every concurrent caller of the
   * same key that it holds for: the same tag, or one whose `adopt` accepts it. A failed fetch
   * rejects all of them and stores nothing.
   */
  async getOrFetch(key: string, fetch: () => Promise<V>, options: FetchOptions = {}): Promise<V> {
    const tag = options.tag ?? noTag;
    const store = options.store ?? true;
    const status = options.status ?? {};
    if (store) {
      this.adoptUnderTag(this.lru.peek(key), tag, options.adopt, status, (entry) => this.serves(entry, entry.tag, options.maxAgeMs));
      const hit = this.get(key, tag, options.maxAgeMs);
      if (hit) {
        status.get = "hit";
        return hit.value;
      }
    } else {
      this.counts.misses++;
      status.notStored = true;
    }
    const running = this.flights.get(key);
    // A flight that will not be stored (fail closed) read what could not be checked: it is
    // shared with the callers of its own tag only.
    this.adoptUnderTag(running, tag, options.adopt, status, (flight) => flight.store);
    if (running !== undefined && running.tag === tag) {
      this.counts.collapsedFetches++;
      status.get = "inflight";
      return running.promise;
    }
    status.get = "fetch";
    return this.startFlight(key, tag, fetch, store, options.ttlMs);
  }

  /**
   * Gives `fetched` (the key's stored entry or running flight) the caller's tag when it is
   * under another one, `eligible`, and the caller's `adopt` says its data holds for `tag`.
   * An adopted flight stores its result under `tag`: the tag every later caller asks with.
   */
  private adoptUnderTag<F extends Fetched>(
    fetched: F | undefined,
    tag: string,
    adopt: FetchOptions["adopt"],
    status: LookupStatus,
    eligible: (fetched: F) => boolean,
  ): void {
    if (fetched === undefined || fetched.tag === tag || adopt === undefined || !eligible(fetched)) return;
    if (!adopt({ tag: fetched.tag, fetchedAtMs: fetched.fetchedAtMs, fetchedAtWallMs: fetched.fetchedAtWallMs })) return;
    fetched.tag = tag;
    status.adopted = true;
  }

  private startFlight(key: string, tag: string, fetch: () => Promise<V>, store: boolean, ttlMs?: number): Promise<V> {
    this.counts.fetches++;
    const flight: Flight<V> = { tag, store, fetchedAtMs: this.clock.now(), fetchedAtWallMs: this.wallClock.now(), promise: undefined as unknown as Promise<V> };
    flight.promise = (async () => {
      try {
        const value = deepFreeze(await this.runFetch(fetch));
        // Still the current flight: nothing invalidated the key while we were fetching.
        if (this.flights.get(key) === flight) {
          const { fetchedAtMs, fetchedAtWallMs } = flight;
          if (store) this.set(key, value, { tag: flight.tag, ttlMs, fetchedAtMs, fetchedAtWallMs });
        } else {
          this.counts.discardedFetches++;
        }
        return value;
      } catch (error) {
        this.counts.fetchErrors++;
        throw error;
      } finally {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      }
    })();
    this.flights.set(key, flight);
    return flight.promise;
  }

  /** Drops a key, and makes any fetch for it that is running now unable to store its result. */
  invalidate(key: string): void {
    this.counts.invalidations++;
    this.lru.delete(key);
    this.flights.delete(key);
  }

  /** Drops every key that starts with `prefix` (for example all of one user's keys). */
  invalidatePrefix(prefix: string): number {
    let dropped = 0;
    for (const key of new Set([...this.lru.keys(), ...this.flights.keys()])) {
      if (key.startsWith(prefix)) {
        this.invalidate(key);
        dropped++;
      }
    }
    return dropped;
  }

  clear(): void {
    this.lru.clear();
    this.flights.clear();
  }

  stats(): LocalCacheStats {
    const lookups = this.counts.hits + this.counts.misses;
    return {
      name: this.name,
      entries: this.lru.size,
      bytes: this.lru.calculatedSize,
      maxEntries: this.lru.max,
      maxBytes: this.maxBytes,
      ...this.counts,
      hitRate: lookups === 0 ? 0 : this.counts.hits / lookups,
    };
  }
}
