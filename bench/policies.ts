/**
 * The designs `npm run bench` compares ours with, built from outside the deployed code: the
 * instance processes of the `none` and `reference` runs load bench/policy-preload.ts first,
 * which hands `configureInstance` (functions/src/instance/runtime.ts) the factory below, so every
 * `createCache` in the functions builds one of these instead of a CoherentCache. The `ours`
 * run loads nothing: it is the code as deployed.
 *
 * - `none`: every read goes to the source (no storing, no single flight, no markers).
 * - `reference`: what the old Python backend did: a local TTL cache (30 s for app data and
 *   mentor settings, 15 min for credits) with local-only invalidation (no markers: other
 *   instances keep serving until the TTL), the naive get-miss-fetch-set pattern (no single
 *   flight; a fetch that started before an invalidation can write stale data back), a missing
 *   tester document (`None`) never cached, the enabled set and install counts read fresh on
 *   every call, and for credits a 120 s reset flag set by the Stripe webhook and read on
 *   every credits call (every reader refetches while it is set).
 *
 * Neither kept a fleet-wide usage figure: their instances are also handed `noFleetLedger`
 * (by the same `configureInstance`), so credits are what each instance knows
 * (its cached sum and the usage it recorded itself), as the reference served them.
 */
// Only modules that create no cache are loaded with this one: the preload must hand over its
// factory before any function module creates its caches (configureInstance throws after).
import { CoherentCache, CoherentCacheOptions, GetOptions } from "../functions/src/cache/coherent-cache";
import type { CacheFactory } from "../functions/src/cache/runtime";
import type { UsageLedger } from "../functions/src/credits/ledger";
import { MarkerWatcher } from "../functions/src/cache/marker-watcher";
import { cacheNames } from "../functions/src/cache/names";
import { redis } from "../functions/src/redis/client";
import { markerTimeKey } from "../functions/src/redis/markers";

export const benchPolicies = ["none", "reference", "ours"] as const;
export type BenchPolicy = (typeof benchPolicies)[number];

/** The environment variable the preload reads (set on the instance processes by bench/run.ts). */
export const benchPolicyEnv = "BENCH_POLICY";

/** The policies a bench command runs: BENCH_POLICIES (comma-separated), or all three. */
export function policiesToRun(): BenchPolicy[] {
  return (process.env.BENCH_POLICIES ?? benchPolicies.join(","))
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean)
    .map(parsePolicy);
}

export function parsePolicy(raw: string | undefined): BenchPolicy {
  if ((benchPolicies as readonly (string | undefined)[]).includes(raw)) return raw as BenchPolicy;
  throw new Error(`${benchPolicyEnv} must be one of ${benchPolicies.join("/")}, got ${JSON.stringify(raw)}`);
}

/** No cache: the source is read on every call. */
class UncachedCache<V> extends CoherentCache<V> {
  override get(_key: string, _scopes: readonly string[], fetch: () => Promise<V>): Promise<V> {
    return fetch();
  }
}

/** The reference's TTL per cache (ms); caches it did not have are read fresh (`uncached`). */
const referenceTtlMs: Record<string, number | "uncached"> = {
  [cacheNames.publicApps]: 30_000,
  [cacheNames.ownApps]: 30_000,
  [cacheNames.testerRecords]: 30_000,
  [cacheNames.testerApps]: 30_000,
  [cacheNames.mentorFrequency]: 30_000,
  [cacheNames.credits]: 15 * 60_000,
  [cacheNames.enabledApps]: "uncached",
  [cacheNames.installCounts]: "uncached",
};

/**
 * The reference's "null is never cached": it stored what a document read returned, and a
 * missing tester document (a non-tester, most users) read as None.
 */
const referenceNotFound: Record<string, (value: unknown) => boolean> = {
  [cacheNames.testerRecords]: (value) => (value as { tester?: unknown } | undefined)?.tester === false,
};

/** How long the reference's webhook kept a user's credit-reset flag set. */
export const referenceCreditFlagTtlMs = 120_000;

/**
 * The reference's credit-reset flag, read on every credits call (one Redis GET, as it did).
 * Its webhook set a flag with a 120 s expiry where ours bumps the `credits:{uid}` marker; the
 * marker's time key records that same instant, so the flag is "set" while that write is less
 * than 120 s old. A Redis failure reads as unset.
 */
async function referenceCreditResetFlagged(creditsScope: string): Promise<boolean> {
  try {
    const raw = await redis().get<string | number>(markerTimeKey(creditsScope));
    if (raw === null) return false;
    const writtenAtMs = Number(String(raw).split("|")[0]);
    return Date.now() - writtenAtMs < referenceCreditFlagTtlMs;
  } catch {
    return false;
  }
}

/** The reference's local TTL cache: no markers, no single flight, no write-back guard. */
class ReferenceCache<V> extends CoherentCache<V> {
  private readonly ttlMs: number;
  private readonly isNotFound: (value: unknown) => boolean;
  private readonly readsCreditFlag: boolean;

  constructor(options: CoherentCacheOptions, watcher: () => MarkerWatcher, ttlMs: number) {
    super({ ...options, ttlMs }, watcher);
    this.ttlMs = ttlMs;
    this.isNotFound = referenceNotFound[options.name] ?? ((value) => value === null || value === undefined);
    this.readsCreditFlag = options.name === cacheNames.credits;
  }

  override async get(key: string, scopes: readonly string[], fetch: () => Promise<V>, _options: GetOptions<V> = {}): Promise<V> {
    if (this.readsCreditFlag && scopes[0] !== undefined && (await referenceCreditResetFlagged(scopes[0]))) this.local.invalidate(key);
    const hit = this.local.get(key);
    if (hit) return hit.value;
    const value = await fetch();
    if (!this.isNotFound(value)) this.local.set(key, value, { ttlMs: this.ttlMs });
    return value;
  }
}

/** The factory each policy's instances build their caches with (`ours`: the deployed one). */
export function cacheFactoryFor(policy: Exclude<BenchPolicy, "ours">): CacheFactory {
  return <V>(options: CoherentCacheOptions, watcher: () => MarkerWatcher): CoherentCache<V> => {
    if (policy === "none") return new UncachedCache<V>(options, watcher);
    const ttlMs = referenceTtlMs[options.name];
    if (ttlMs === undefined) throw new Error(`bench/policies.ts: no reference rule for the cache "${options.name}"; add one to referenceTtlMs`);
    if (ttlMs === "uncached") return new UncachedCache<V>(options, watcher);
    return new ReferenceCache<V>(options, watcher, ttlMs);
  };
}

/**
 * The usage ledger of `none` and `reference`: it keeps no fleet figure. Handed to
 * `configureInstance` (functions/src/instance/runtime.ts) by bench/policy-preload.ts, so the credits
 * path finds no fleet figure (`count` and `rebuild` resolve undefined, without a Redis command)
 * and falls back to what the reference did: the instance's own cached sum (15 min TTL, the
 * credit-reset flag) minus the usage that instance recorded itself. Reports made on other
 * instances are seen at the next refresh, not within 2 s.
 */
export const noFleetLedger: UsageLedger = {
  count: async () => undefined,
  rebuild: async () => undefined,
};
