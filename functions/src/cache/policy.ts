/**
 * BENCHMARK ONLY: the cache policy switch read by `npm run bench` (bench/run.ts), so the
 * same functions code can be measured with no cache, with the reference backend's caching
 * rules, and as it ships. Production never sets `CACHE_POLICY`; unset (or "ours") means
 * the code as it is, and nothing in this file then changes any behaviour or costs anything.
 *
 * - `ours`: `CoherentCache` (TTL + cross-instance invalidation markers polled once a second).
 * - `none`: every read goes to Firestore (no storing, no single flight, no markers).
 * - `reference`: what the old Python backend did: a local TTL cache with local-only
 *   invalidation (no markers: other instances keep serving until the TTL), the naive
 *   get-miss-fetch-set pattern (no single flight; a fetch that started before an
 *   invalidation can write stale data back), a missing tester document (`None`) never
 *   cached, and for credits a 120 s Redis boolean flag set by the Stripe webhook and read on
 *   every credits call (every reader refetches while it is set).
 */
import { redis } from "../redis/client";
import { CoherentCache, CoherentCacheOptions } from "./coherent-cache";
import { FetchOptions } from "./local-cache";
import { MarkerWatcher } from "./marker-watcher";

export const cachePolicies = ["ours", "reference", "none"] as const;
export type CachePolicy = (typeof cachePolicies)[number];

/** The policy of this process: `CACHE_POLICY`, unset = `ours`. A typo fails loudly. */
export function cachePolicy(): CachePolicy {
  const raw = process.env.CACHE_POLICY ?? "";
  if (raw === "") return "ours";
  if ((cachePolicies as readonly string[]).includes(raw)) return raw as CachePolicy;
  throw new Error(`CACHE_POLICY must be one of ${cachePolicies.join("/")} (benchmark only), got ${JSON.stringify(raw)}`);
}

/** No cache: the source is read on every call. */
class UncachedCache<V> extends CoherentCache<V> {
  override get(_key: string, _scopes: readonly string[], fetch: () => Promise<V>): Promise<V> {
    return fetch();
  }
}

/**
 * The reference's "null is never cached": it stored what a document read returned, and a
 * missing tester document (a non-tester, most users) read as None. Keyed by cache name.
 */
const referenceNotFound: Record<string, (value: unknown) => boolean> = {
  testerRecords: (value) => (value as { tester?: unknown } | undefined)?.tester === false,
};

/** The reference's local TTL cache: no markers, no single flight, no write-back guard. */
class ReferenceCache<V> extends CoherentCache<V> {
  private readonly isNotFound: (value: unknown) => boolean;

  constructor(options: CoherentCacheOptions, watcher: () => MarkerWatcher) {
    super(options, watcher);
    this.isNotFound = referenceNotFound[options.name] ?? ((value) => value === null || value === undefined);
  }

  override async get(key: string, _scopes: readonly string[], fetch: () => Promise<V>, options: Omit<FetchOptions, "tag" | "store"> = {}): Promise<V> {
    const hit = this.local.get(key);
    if (hit) return hit.value;
    const value = await fetch();
    if (!this.isNotFound(value)) this.local.set(key, value, { ttlMs: options.ttlMs });
    return value;
  }
}

/** The cache `createCache` builds under the current policy. */
export function cacheForPolicy<V>(options: CoherentCacheOptions, watcher: () => MarkerWatcher, policy: CachePolicy = cachePolicy()): CoherentCache<V> {
  if (policy === "none") return new UncachedCache<V>(options, watcher);
  if (policy === "reference") return new ReferenceCache<V>(options, watcher);
  return new CoherentCache<V>(options, watcher);
}

/** The reference's credit-reset flag: a boolean with a 120 s expiry. */
export const referenceCreditFlagTtlSeconds = 120;
export const referenceCreditFlagKey = (uid: string) => `credits_reset:${uid}`;

/**
 * `reference` only (no Redis call otherwise): whether the credit-reset flag is set, read on
 * every credits call; while it is set every call refetches. A Redis failure reads as unset.
 */
export async function referenceCreditResetFlagged(uid: string): Promise<boolean> {
  if (cachePolicy() !== "reference") return false;
  try {
    return (await redis().get(referenceCreditFlagKey(uid))) !== null;
  } catch {
    return false;
  }
}

/** `reference` only: the Stripe webhook sets the user's 120 s credit-reset flag. */
export async function setReferenceCreditResetFlag(uid: string): Promise<void> {
  if (cachePolicy() !== "reference") return;
  await redis().set(referenceCreditFlagKey(uid), "1", { ex: referenceCreditFlagTtlSeconds });
}
