/**
 * The benchmark-only CACHE_POLICY switch: unset must be exactly the shipped cache, and the
 * two comparison policies must behave as documented (they are what `npm run bench` measures).
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../functions/src/cache/clock";
import { CoherentCache } from "../../functions/src/cache/coherent-cache";
import { MarkerWatcher } from "../../functions/src/cache/marker-watcher";
import { cacheForPolicy, cachePolicy, referenceCreditFlagKey, referenceCreditResetFlagged } from "../../functions/src/cache/policy";
import { testRedis } from "../support/redis";

describe("CACHE_POLICY (benchmark only)", () => {
  const saved = process.env.CACHE_POLICY;
  afterEach(() => {
    if (saved === undefined) delete process.env.CACHE_POLICY;
    else process.env.CACHE_POLICY = saved;
  });

  function setup(policy: "ours" | "none" | "reference") {
    const clock = new ManualClock();
    let markerReads = 0;
    const watcher = new MarkerWatcher({ clock, read: async (scopes) => (markerReads++, scopes.map(() => "1")) });
    const cache = cacheForPolicy<number>({ name: "t", ttlMs: 30_000, maxEntries: 10, maxBytes: 10_000, clock }, () => watcher, policy);
    let fetches = 0;
    const fetch = async () => ++fetches;
    return { cache, clock, fetch, fetches: () => fetches, markerReads: () => markerReads };
  }

  it("unset means the shipped cache, and a typo fails loudly", () => {
    delete process.env.CACHE_POLICY;
    assert.equal(cachePolicy(), "ours");
    const { cache } = setup(cachePolicy());
    assert.equal(Object.getPrototypeOf(cache), CoherentCache.prototype);
    process.env.CACHE_POLICY = "reference-ish";
    assert.throws(() => cachePolicy(), /CACHE_POLICY must be one of ours\/reference\/none/);
  });

  it("unset: the reference credit flag is never consulted, even when it is set in Redis", async () => {
    const uid = `policy-${Date.now()}`;
    await testRedis().set(referenceCreditFlagKey(uid), "1", { ex: 60 });
    delete process.env.CACHE_POLICY;
    assert.equal(await referenceCreditResetFlagged(uid), false);
    process.env.CACHE_POLICY = "reference";
    assert.equal(await referenceCreditResetFlagged(uid), true, "the reference policy reads it");
  });

  it("none: every call reads the source", async () => {
    const t = setup("none");
    for (let i = 0; i < 3; i++) await t.cache.get("k", ["s"], t.fetch);
    assert.equal(t.fetches(), 3);
  });

  it("reference: a local TTL cache that never reads markers", async () => {
    const t = setup("reference");
    await t.cache.get("k", ["s"], t.fetch);
    t.clock.advance(29_000);
    await t.cache.get("k", ["s"], t.fetch);
    assert.equal(t.fetches(), 1);
    assert.equal(t.markerReads(), 0);
    t.clock.advance(1_001);
    await t.cache.get("k", ["s"], t.fetch);
    assert.equal(t.fetches(), 2);
  });
});
