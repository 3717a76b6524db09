/**
 * Marker logic with an injected clock and an in-memory marker source, so every timing and
 * fault is exact. The same code against the real Redis gateway: coherent-cache.integration.spec.ts.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../functions/src/cache/clock";
import { CoherentCache } from "../../functions/src/cache/coherent-cache";
import { MarkerWatcher } from "../../functions/src/cache/marker-watcher";

class MarkerSource {
  versions = new Map<string, number>();
  reads = 0;
  failing = false;
  bump(scope: string) {
    this.versions.set(scope, (this.versions.get(scope) ?? 0) + 1);
  }
  read = async (scopes: readonly string[]) => {
    this.reads++;
    if (this.failing) throw new Error("redis unreachable");
    return scopes.map((s) => (this.versions.has(s) ? String(this.versions.get(s)) : null));
  };
}

function setup(options: { securitySensitive?: boolean } = {}) {
  const clock = new ManualClock();
  const source = new MarkerSource();
  const watcher = new MarkerWatcher({ read: source.read, clock, pollIntervalMs: 1000 });
  const cache = new CoherentCache<string>({ name: "t", ttlMs: 30_000, maxEntries: 100, maxBytes: 100_000, clock, ...options }, () => watcher);
  let fetches = 0;
  let current = "v0";
  const fetch = async () => {
    fetches++;
    return current;
  };
  return {
    clock,
    source,
    watcher,
    cache,
    fetch,
    setSource: (v: string) => (current = v),
    fetches: () => fetches,
  };
}

describe("CoherentCache + MarkerWatcher", () => {
  it("reads a new scope's marker before fetching, then serves hits with no marker read inside the interval", async () => {
    const t = setup();
    assert.equal(await t.cache.get("tester:u1", ["tester:u1"], t.fetch), "v0");
    assert.equal(t.source.reads, 1);
    for (let i = 0; i < 100; i++) assert.equal(await t.cache.get("tester:u1", ["tester:u1"], t.fetch), "v0");
    assert.equal(t.source.reads, 1, "no Redis command per request");
    assert.equal(t.fetches(), 1);
  });

  it("a bumped marker is seen by the first request after the poll interval, and never before a fetch is stored", async () => {
    const t = setup();
    await t.cache.get("k", ["s"], t.fetch);
    t.setSource("v1");
    t.source.bump("s");
    t.clock.advance(999);
    assert.equal(await t.cache.get("k", ["s"], t.fetch), "v0", "inside the interval the old view holds");
    t.clock.advance(1);
    assert.equal(await t.cache.get("k", ["s"], t.fetch), "v1");
    assert.equal(t.source.reads, 2);
    assert.equal(t.watcher.stats().markerChangesSeen, 1);
  });

  it("one poll covers every tracked scope, in one read", async () => {
    const t = setup();
    for (let i = 0; i < 50; i++) await t.cache.get(`k${i}`, [`s${i}`], t.fetch);
    const readsAfterFirstTouch = t.source.reads;
    t.clock.advance(1000);
    await t.cache.get("k0", ["s0"], t.fetch);
    assert.equal(t.source.reads, readsAfterFirstTouch + 1);
  });

  it("concurrent requests share one marker poll", async () => {
    const t = setup();
    await t.cache.get("k", ["s"], t.fetch);
    t.clock.advance(1000);
    await Promise.all(Array.from({ length: 100 }, () => t.cache.get("k", ["s"], t.fetch)));
    assert.equal(t.source.reads, 2);
  });

  it("concurrent first requests for different new scopes all get a fresh view (none bypasses)", async () => {
    const t = setup({ securitySensitive: true });
    await Promise.all(["a", "b", "c", "d"].map((s) => t.cache.get(`k:${s}`, [s], t.fetch)));
    assert.equal(t.cache.stats().bypassedWhileMarkersUnreadable, 0);
    assert.equal(t.cache.stats().entries, 4, "every result was stored");
  });

  it("a change committed while a fetch runs is never served once its marker is seen", async () => {
    const t = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowFetch = async () => {
      const value = "stale-read";
      await gate;
      return value;
    };
    const inFlight = t.cache.get("k", ["s"], slowFetch);
    await new Promise((r) => setImmediate(r));
    // The change commits and its trigger bumps the marker while the fetch is still running.
    t.source.bump("s");
    t.setSource("fresh");
    release();
    assert.equal(await inFlight, "stale-read");
    t.clock.advance(1000);
    assert.equal(await t.cache.get("k", ["s"], t.fetch), "fresh");
  });

  it("entries depending on several scopes are invalid when any one changes", async () => {
    const t = setup();
    await t.cache.get("slice:u1", ["tester:u1", "apps:owner:u1"], t.fetch);
    t.setSource("v1");
    t.source.bump("apps:owner:u1");
    t.clock.advance(1000);
    assert.equal(await t.cache.get("slice:u1", ["tester:u1", "apps:owner:u1"], t.fetch), "v1");
  });

  it("a marker that expired (reads null) after being seen counts as a change", async () => {
    const t = setup();
    t.source.bump("s");
    await t.cache.get("k", ["s"], t.fetch);
    t.source.versions.delete("s");
    t.setSource("v1");
    t.clock.advance(1000);
    assert.equal(await t.cache.get("k", ["s"], t.fetch), "v1");
  });

  it("forgetting a tracked scope is safe: the entry is served again only if the version is unchanged", async () => {
    const clock = new ManualClock();
    const source = new MarkerSource();
    const watcher = new MarkerWatcher({ read: source.read, clock, pollIntervalMs: 1000, maxScopes: 1 });
    const cache = new CoherentCache<string>({ name: "t", ttlMs: 30_000, maxEntries: 100, maxBytes: 100_000, clock }, () => watcher);
    let value = "a0";
    await cache.get("a", ["sa"], async () => value);
    await cache.get("b", ["sb"], async () => "b0"); // pushes "sa" out of the watcher
    source.bump("sa");
    value = "a1";
    assert.equal(await cache.get("a", ["sa"], async () => value), "a1");
  });

  describe("when markers cannot be read", () => {
    it("security-sensitive data bypasses the cache (fail closed) and nothing throws", async () => {
      const t = setup({ securitySensitive: true });
      await t.cache.get("tester:u1", ["tester:u1"], t.fetch);
      t.source.failing = true;
      t.clock.advance(1000);
      t.setSource("from-firestore");
      assert.equal(await t.cache.get("tester:u1", ["tester:u1"], t.fetch), "from-firestore");
      assert.equal(await t.cache.get("tester:u1", ["tester:u1"], t.fetch), "from-firestore");
      assert.equal(t.fetches(), 3);
      assert.equal(t.source.reads, 2, "inside the interval a dead Redis is not asked again");
      assert.equal(t.cache.stats().bypassedWhileMarkersUnreadable, 2);
    });

    it("other data is served within its TTL (fail open), then refetched after the TTL", async () => {
      const t = setup();
      await t.cache.get("mentor:u1", ["mentor:u1"], t.fetch);
      t.source.failing = true;
      t.setSource("v1");
      t.clock.advance(1000);
      assert.equal(await t.cache.get("mentor:u1", ["mentor:u1"], t.fetch), "v0");
      t.clock.advance(29_001);
      assert.equal(await t.cache.get("mentor:u1", ["mentor:u1"], t.fetch), "v1");
    });

    it("a scope first seen during the outage is fetched, and refetched once markers are back", async () => {
      const t = setup();
      t.source.failing = true;
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v0");
      t.source.failing = false;
      t.setSource("v1");
      t.clock.advance(1000);
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v1", "an entry stored under an unknown version is not trusted later");
    });

    it("markers resume when Redis is back, and changes made meanwhile are seen", async () => {
      const t = setup({ securitySensitive: true });
      await t.cache.get("k", ["s"], t.fetch);
      t.source.failing = true;
      t.clock.advance(1000);
      await t.cache.get("k", ["s"], t.fetch);
      t.source.failing = false;
      t.source.bump("s");
      t.setSource("v2");
      t.clock.advance(1000);
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v2");
      const fetchesNow = t.fetches();
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v2");
      assert.equal(t.fetches(), fetchesNow, "cached again once markers are healthy");
      assert.equal(t.watcher.stats().markersHealthy, true);
    });
  });
});
