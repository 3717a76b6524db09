/**
 * A module-scope cache kept honest across instances: every entry is stored under the
 * versions of the invalidation markers it depends on, and served only while those versions
 * are still the instance's current view (re-read from Redis at most once per poll interval).
 */
import { FetchOptions, LocalCache, LocalCacheOptions, LocalCacheStats } from "./local-cache";
import { MarkerWatcher } from "./marker-watcher";

export interface CoherentCacheOptions extends LocalCacheOptions {
  /**
   * Data derived from the tester flag: when markers cannot be read it is not served from
   * (or stored in) the cache but read from the source every time (fail closed). Other data
   * is served within its TTL (fail open).
   */
  securitySensitive?: boolean;
  /** Called on every fail-closed read (for the operators' log line; see cache/instance.ts). */
  onFailClosedBypass?: (cacheName: string) => void;
}

export interface CoherentCacheStats extends LocalCacheStats {
  securitySensitive: boolean;
  bypassedWhileMarkersUnreadable: number;
  servedWhileMarkersUnreadable: number;
}

export class CoherentCache<V> {
  readonly local: LocalCache<V>;
  private readonly securitySensitive: boolean;
  private readonly onFailClosedBypass: (cacheName: string) => void;
  private bypassed = 0;
  private servedUnchecked = 0;

  constructor(
    options: CoherentCacheOptions,
    private readonly watcher: () => MarkerWatcher,
  ) {
    this.local = new LocalCache<V>(options);
    this.securitySensitive = options.securitySensitive ?? false;
    this.onFailClosedBypass = options.onFailClosedBypass ?? (() => undefined);
  }

  /**
   * The value for `key`, which depends on the marker `scopes`; `fetch` reads it from the
   * source when it is missing, expired or invalidated.
   */
  async get(key: string, scopes: readonly string[], fetch: () => Promise<V>, options: Omit<FetchOptions, "tag" | "store"> = {}): Promise<V> {
    const view = await this.watcher().view(scopes);
    if (!view.fresh) {
      if (this.securitySensitive) {
        this.bypassed++;
        this.onFailClosedBypass(this.local.name);
        return this.local.getOrFetch(key, fetch, { ...options, tag: view.tag, store: false });
      }
      this.servedUnchecked++;
    }
    return this.local.getOrFetch(key, fetch, { ...options, tag: view.tag });
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
      bypassedWhileMarkersUnreadable: this.bypassed,
      servedWhileMarkersUnreadable: this.servedUnchecked,
    };
  }
}
