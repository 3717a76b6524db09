/**
 * A module-scope cache kept honest across instances: every entry is stored under the
 * versions of the invalidation markers it depends on, and served only while those versions
 * are still the instance's current view (re-read from Redis at most once per poll interval).
 *
 * So while markers can be read, the TTL is only a safety net for a lost marker and can be
 * long; when they cannot, an entry is served only while its fetch is at most
 * `unverifiedMaxAgeMs` old (the contract's short bound), or not at all (`securitySensitive`).
 */
import { Fetched, FetchOptions, LocalCache, LocalCacheOptions, LocalCacheStats, LookupStatus } from "./local-cache";
import { MarkerWatcher } from "./marker-watcher";

export interface CoherentCacheOptions extends LocalCacheOptions {
  /**
   * While markers cannot be read: serve an entry only if its fetch started at most this long
   * ago, else refetch it (ms). Default: `ttlMs`.
   */
  unverifiedMaxAgeMs?: number;
  /**
   * Data derived from the tester flag: when markers cannot be read it is not served from
   * (or stored in) the cache but read from the source every time (fail closed). Other data
   * is served within its TTL (fail open).
   */
  securitySensitive?: boolean;
  /** Called on every fail-closed read (for the operators' log line; see cache/instance.ts). */
  onFailClosedBypass?: (cacheName: string) => void;
  /**
   * What one fetch costs at the source (US dollars: one document read, say). When a poll is due
   * and costs this request more than that (MarkerWatcher.readThroughCheaper), the lookup reads
   * the source instead: a value fetched within the last poll interval serves, as fresh as a
   * poll would make it. Unset: every due lookup polls. Not for security-sensitive data.
   */
  readThroughUsd?: () => number;
}

export interface CoherentCacheStats extends LocalCacheStats {
  securitySensitive: boolean;
  /** Misses answered by re-reading only the changed ids (see GetOptions.patch). */
  patchedFetches: number;
  /** Entries (or fetches still running) begun before their markers were read, kept once a poll showed no change since. */
  adoptedEntries: number;
  bypassedWhileMarkersUnreadable: number;
  servedWhileMarkersUnreadable: number;
  /** Lookups that read the source (or a value it gave within the poll interval) instead of polling: it was cheaper. */
  readThroughLookups: number;
}

const unverifiedTagPrefix = "unverified:";

/** How to bring a stored value up to date from the ids its markers' change logs name. */
export type Patch<V> = (previous: V, changedIds: readonly string[]) => Promise<V>;

export type { LookupStatus };

export interface GetOptions<V> extends Omit<FetchOptions, "tag" | "store" | "maxAgeMs" | "adopt"> {
  /**
   * When the entry is invalidated and every change since it was stored is in its markers'
   * logs, re-read only the changed ids instead of calling `fetch`.
   */
  patch?: Patch<V>;
  /**
   * When every scope is new to the instance, fetch now and leave the poll to a later lookup
   * (MarkerWatcher.viewOfNewScopes): there is no entry to check, and the request learns from
   * this value what its poll should carry.
   */
  leavePoll?: boolean;
}

export class CoherentCache<V> {
  readonly local: LocalCache<V>;
  private readonly unverifiedMaxAgeMs: number;
  private readonly securitySensitive: boolean;
  private readonly onFailClosedBypass: (cacheName: string) => void;
  private bypassed = 0;
  private servedUnchecked = 0;
  private patched = 0;
  private adopted = 0;
  private readThrough = 0;
  private readonly readThroughUsd: (() => number) | undefined;

  constructor(
    options: CoherentCacheOptions,
    private readonly watcher: () => MarkerWatcher,
  ) {
    this.local = new LocalCache<V>(options);
    this.unverifiedMaxAgeMs = options.unverifiedMaxAgeMs ?? options.ttlMs;
    this.securitySensitive = options.securitySensitive ?? false;
    this.onFailClosedBypass = options.onFailClosedBypass ?? (() => undefined);
    this.readThroughUsd = options.securitySensitive === true ? undefined : options.readThroughUsd;
  }

  /**
   * The value for `key`, which depends on the marker `scopes`; `fetch` reads it from the
   * source when it is missing, expired or invalidated (or `options.patch` updates it).
   */
  async get(key: string, scopes: readonly string[], fetch: () => Promise<V>, options: GetOptions<V> = {}): Promise<V> {
    const { patch, leavePoll, ...fetchOptions } = options;
    const status: LookupStatus = (fetchOptions.status ??= {});
    const watcher = this.watcher();
    if (this.readThroughUsd !== undefined && watcher.readThroughCheaper(this.readThroughUsd)) {
      status.markers = "readThrough";
      this.readThrough++;
      // Read now, the value is at least as fresh as the versions held: it serves under them until
      // a poll shows a change. A scope not read yet is read by the next poll, which adopts the
      // value only if no change can have been missed (MarkerWatcher.adoptable), as between polls.
      const tag = watcher.currentView(scopes).tag;
      watcher.expect(scopes);
      try {
        // Strictly within the interval: a value read exactly one interval ago is as old as a
        // poll that is due, and is read again.
        return await this.local.getOrFetch(key, fetch, { ...fetchOptions, tag, maxAgeMs: watcher.intervalMs - 1 });
      } catch (error) {
        // The source failed: the poll it was to spare tells whether the stored value still holds.
        if (this.local.peek(key) === undefined) throw error;
        status.markers = undefined;
        status.get = undefined;
      }
    }
    const view = (leavePoll === true ? watcher.viewOfNewScopes(scopes) : undefined) ?? (await watcher.view(scopes));
    status.markers = !view.readable ? "unreadable" : view.known ? "fresh" : "pending";
    if (!view.readable) {
      if (this.securitySensitive) {
        this.bypassed++;
        this.onFailClosedBypass(this.local.name);
        return this.local.getOrFetch(key, fetch, { ...fetchOptions, tag: view.tag, store: false });
      }
      this.servedUnchecked++;
      // A scope never read has no version to store under: what is fetched now gets its own
      // tag, so it is not adopted once markers can be read again (a change committed meanwhile
      // may not have bumped its marker yet). An entry fetched before the outage still serves.
      const tag = view.known || this.local.has(key, view.tag, this.unverifiedMaxAgeMs) ? view.tag : unverifiedTagPrefix + view.tag;
      return this.local.getOrFetch(key, fetch, { ...fetchOptions, tag, maxAgeMs: this.unverifiedMaxAgeMs });
    }
    const adopt = view.fresh ? (fetched: Fetched) => this.adoptable(scopes, fetched) : undefined;
    return this.local.getOrFetch(key, patch === undefined ? fetch : this.patchOrFetch(key, scopes, fetch, patch, status), {
      ...fetchOptions,
      tag: view.tag,
      adopt,
    });
  }

  /**
   * What was fetched while some of its scopes were not read yet carries their version as
   * unknown; once a poll has read them, it holds for the current versions if no bump can have
   * happened that its fetch missed (MarkerWatcher.adoptable). A stored entry is then served,
   * and a fetch still running is joined: one fetch per key however the callers' views of the
   * markers differ while the poll that reads them is under way.
   */
  private adoptable(scopes: readonly string[], fetched: Fetched): boolean {
    if (!this.watcher().adoptable(scopes, fetched.tag, fetched.fetchedAtWallMs)) return false;
    this.adopted++;
    return true;
  }

  /** The fetch for a miss: a patch of the stored entry when the marker logs cover every change since. */
  private patchOrFetch(key: string, scopes: readonly string[], fetch: () => Promise<V>, patch: Patch<V>, status: LookupStatus): () => Promise<V> {
    return () => {
      const stored = this.local.peek(key);
      const changedIds = stored === undefined ? undefined : this.watcher().changedIdsSince(scopes, stored.tag);
      if (stored === undefined || changedIds === undefined) return fetch();
      this.patched++;
      status.patched = true;
      return patch(stored.value, changedIds);
    };
  }

  /** This instance made the change itself: drop the entry now, without waiting for markers. */
  invalidate(key: string): void {
    this.local.invalidate(key);
  }

  /**
   * Markers are readable again after an outage: fail-closed data stored before it is dropped.
   * A change committed during the outage could not bump its marker; its trigger's retry will,
   * but tester-derived data must not wait for that (nor for the TTL).
   */
  dropFailClosedEntries(): void {
    if (this.securitySensitive) this.local.clear();
  }

  invalidatePrefix(prefix: string): number {
    return this.local.invalidatePrefix(prefix);
  }

  stats(): CoherentCacheStats {
    return {
      ...this.local.stats(),
      securitySensitive: this.securitySensitive,
      patchedFetches: this.patched,
      adoptedEntries: this.adopted,
      bypassedWhileMarkersUnreadable: this.bypassed,
      servedWhileMarkersUnreadable: this.servedUnchecked,
      readThroughLookups: this.readThrough,
    };
  }
}
