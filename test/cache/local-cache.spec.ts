import assert from "node:assert/strict";
import { ManualClock } from "../../functions/src/common/clock";
import { Fetched, LocalCache, LookupStatus } from "../../functions/src/cache/local-cache";
import { estimateBytes } from "../../functions/src/cache/values";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function newCache<V>(overrides: Partial<ConstructorParameters<typeof LocalCache>[0]> = {}) {
  const clock = new ManualClock(1_000);
  const cache = new LocalCache<V>({ name: "test", ttlMs: 30_000, maxEntries: 100, maxBytes: 1_000_000, clock, ...overrides });
  return { cache, clock };
}

describe("LocalCache", () => {
  describe("TTL (injected clock, no sleeping)", () => {
    it("serves an entry while its age is within the TTL and misses after", async () => {
      const { cache, clock } = newCache<string>();
      let fetches = 0;
      const fetch = async () => `v${++fetches}`;
      assert.equal(await cache.getOrFetch("k", fetch), "v1");
      clock.advance(30_000);
      assert.equal(await cache.getOrFetch("k", fetch), "v1");
      clock.advance(1);
      assert.equal(await cache.getOrFetch("k", fetch), "v2");
      assert.equal(fetches, 2);
    });

    it("honours a per-entry TTL", async () => {
      const { cache, clock } = newCache<number>();
      cache.set("short", 1, { ttlMs: 100 });
      cache.set("long", 2);
      clock.advance(101);
      assert.equal(cache.get("short"), undefined);
      assert.equal(cache.get("long")?.value, 2);
    });
  });

  describe("bounds", () => {
    it("evicts the least recently used entry past the entry bound", () => {
      const { cache } = newCache<number>({ maxEntries: 3 });
      cache.set("a", 1);
      cache.set("b", 2);
      cache.set("c", 3);
      assert.ok(cache.get("a")); // a is now more recent than b
      cache.set("d", 4);
      assert.equal(cache.get("b"), undefined, "b was least recently used");
      assert.ok(cache.get("a") && cache.get("c") && cache.get("d"));
      assert.equal(cache.stats().evictions, 1);
      assert.equal(cache.stats().entries, 3);
    });

    it("keeps the byte total under the byte bound, evicting LRU entries", () => {
      const value = "x".repeat(100); // ~216 bytes + key
      const perEntry = 2 * "k0".length + estimateBytes(value);
      const { cache } = newCache<string>({ maxBytes: perEntry * 3 + 10 });
      for (let i = 0; i < 5; i++) cache.set(`k${i}`, value);
      const stats = cache.stats();
      assert.equal(stats.entries, 3);
      assert.ok(stats.bytes <= perEntry * 3 + 10, `bytes ${stats.bytes}`);
      assert.equal(cache.get("k0"), undefined);
      assert.equal(cache.get("k1"), undefined);
      assert.ok(cache.get("k4"));
      assert.equal(stats.evictions, 2);
    });

    it("does not store an entry larger than the byte bound, and still returns it to the caller", async () => {
      const { cache } = newCache<string>({ maxBytes: 500 });
      const big = "y".repeat(1_000);
      assert.equal(cache.set("big", big), false);
      assert.equal(await cache.getOrFetch("big2", async () => big), big);
      assert.equal(cache.stats().entries, 0);
      assert.equal(cache.stats().tooLarge, 2);
    });

    it("estimates sizes in proportion to content", () => {
      const small = estimateBytes({ name: "a", tags: ["x"] });
      const large = estimateBytes({ name: "a".repeat(1000), tags: Array.from({ length: 100 }, () => "x") });
      assert.ok(large > small * 20, `${large} vs ${small}`);
      assert.ok(estimateBytes("abcd") >= 8, "a string costs at least its UTF-16 bytes");
    });
  });

  describe("single flight", () => {
    it("1,000 concurrent callers of one missing key cause exactly one fetch and all get its value", async () => {
      const { cache } = newCache<{ n: number }>();
      const gate = deferred<{ n: number }>();
      let fetches = 0;
      const callers = Array.from({ length: 1_000 }, () =>
        cache.getOrFetch("hot", () => {
          fetches++;
          return gate.promise;
        }),
      );
      gate.resolve({ n: 42 });
      const results = await Promise.all(callers);
      assert.equal(fetches, 1);
      assert.ok(results.every((r) => r.n === 42));
      const stats = cache.stats();
      assert.equal(stats.fetches, 1);
      assert.equal(stats.collapsedFetches, 999);
    });

    it("propagates one fetch error to every waiter and caches nothing", async () => {
      const { cache } = newCache<string>();
      const gate = deferred<string>();
      let fetches = 0;
      const fetch = () => {
        fetches++;
        return gate.promise;
      };
      const callers = Array.from({ length: 50 }, () =>
        cache.getOrFetch("k", fetch).then(
          () => "resolved",
          (e: Error) => e.message,
        ),
      );
      gate.reject(new Error("firestore down"));
      assert.deepEqual(new Set(await Promise.all(callers)), new Set(["firestore down"]));
      assert.equal(fetches, 1);
      assert.equal(cache.stats().entries, 0);
      assert.equal(cache.stats().fetchErrors, 1);
      // The next caller fetches again: the error was not cached.
      assert.equal(await cache.getOrFetch("k", async () => "ok"), "ok");
    });

    it("callers with a different validity tag do not join a fetch started under another tag", async () => {
      const { cache } = newCache<string>();
      const old = deferred<string>();
      const first = cache.getOrFetch("k", () => old.promise, { tag: "v1" });
      const second = cache.getOrFetch("k", async () => "fresh", { tag: "v2" });
      old.resolve("stale");
      assert.equal(await first, "stale");
      assert.equal(await second, "fresh");
      assert.equal(cache.get("k", "v2")?.value, "fresh");
      assert.equal(cache.get("k", "v1"), undefined, "an entry is only served under its own tag");
    });

    it("a caller whose `adopt` accepts a running fetch under another tag joins it, and its result is stored under the caller's tag", async () => {
      const wallClockStartMs = 1_767_225_600_000;
      const { cache } = newCache<string>({ wallClock: new ManualClock(wallClockStartMs) });
      const gate = deferred<string>();
      let fetches = 0;
      const fetch = () => (fetches++, gate.promise);
      const asked: Fetched[] = [];
      const [first, second] = [{} as LookupStatus, {} as LookupStatus];
      const starter = cache.getOrFetch("k", fetch, { tag: "?", status: first });
      const joiner = cache.getOrFetch("k", fetch, { tag: "v1", status: second, adopt: (fetched) => (asked.push(fetched), true) });
      gate.resolve("value");
      assert.deepEqual([await starter, await joiner], ["value", "value"]);
      assert.equal(fetches, 1);
      assert.deepEqual(asked, [{ tag: "?", fetchedAtMs: 1_000, fetchedAtWallMs: wallClockStartMs }], "asked about the flight, with its tag and start");
      assert.deepEqual([first, second], [{ get: "fetch" }, { get: "inflight", adopted: true }]);
      assert.equal(cache.get("k", "v1")?.value, "value", "stored under the adopter's tag");
      assert.equal(cache.get("k", "?"), undefined);
      assert.equal(cache.stats().collapsedFetches, 1);
    });

    it("a caller whose `adopt` refuses fetches on its own, and its result is the one stored", async () => {
      const { cache } = newCache<string>();
      const gate = deferred<string>();
      const starter = cache.getOrFetch("k", () => gate.promise, { tag: "?" });
      const refuser = cache.getOrFetch("k", async () => "fresh", { tag: "v1", adopt: () => false });
      gate.resolve("maybe stale");
      assert.deepEqual([await starter, await refuser], ["maybe stale", "fresh"]);
      assert.equal(cache.stats().fetches, 2);
      assert.equal(cache.get("k", "v1")?.value, "fresh");
    });

    it("a fetch that will not be stored is not offered for adoption", async () => {
      const { cache } = newCache<string>();
      const gate = deferred<string>();
      let asked = 0;
      const notStored = cache.getOrFetch("k", () => gate.promise, { tag: "?", store: false });
      const other = cache.getOrFetch("k", async () => "own", { tag: "v1", adopt: () => (asked++, true) });
      gate.resolve("unchecked");
      assert.deepEqual([await notStored, await other, asked], ["unchecked", "own", 0]);
    });
  });

  describe("adopting a stored entry", () => {
    it("an entry under another tag that `adopt` accepts is a hit, and carries the caller's tag from then on", async () => {
      const { cache, clock } = newCache<string>();
      await cache.getOrFetch("k", async () => "value", { tag: "?" });
      clock.advance(10);
      const status: LookupStatus = {};
      const asked: Fetched[] = [];
      assert.equal(await cache.getOrFetch("k", async () => "refetched", { tag: "v1", status, adopt: (fetched) => (asked.push(fetched), true) }), "value");
      assert.deepEqual(status, { get: "hit", adopted: true });
      assert.deepEqual(
        asked.map(({ tag, fetchedAtMs }) => ({ tag, fetchedAtMs })),
        [{ tag: "?", fetchedAtMs: 1_000 }],
      );
      assert.equal(cache.get("k", "v1")?.value, "value");
      assert.equal(cache.get("k", "?"), undefined);
      assert.deepEqual([cache.stats().hits, cache.stats().fetches], [2, 1]);
    });

    it("an entry `adopt` refuses is a miss", async () => {
      const { cache } = newCache<string>();
      await cache.getOrFetch("k", async () => "old", { tag: "?" });
      assert.equal(await cache.getOrFetch("k", async () => "new", { tag: "v1", adopt: () => false }), "new");
    });
  });

  describe("invalidation", () => {
    it("a fetch in flight when its key is invalidated returns to its callers but is never stored", async () => {
      const { cache } = newCache<string>();
      const gate = deferred<string>();
      const inFlight = cache.getOrFetch("user:1", () => gate.promise);
      const joined = cache.getOrFetch("user:1", async () => "never called");
      cache.invalidate("user:1");
      // A caller after the invalidation must not join the doomed fetch.
      const afterInvalidation = cache.getOrFetch("user:1", async () => "after");
      gate.resolve("before");
      assert.equal(await inFlight, "before");
      assert.equal(await joined, "before");
      assert.equal(await afterInvalidation, "after");
      assert.equal(cache.get("user:1")?.value, "after", "the stale result did not overwrite the fresh one");
      assert.equal(cache.stats().discardedFetches, 1);
    });

    it("the same race through prefix invalidation", async () => {
      const { cache } = newCache<string>();
      const gate = deferred<string>();
      const inFlight = cache.getOrFetch("user:1:slice", () => gate.promise);
      assert.equal(cache.invalidatePrefix("user:1:"), 1);
      gate.resolve("stale");
      assert.equal(await inFlight, "stale");
      assert.equal(cache.get("user:1:slice"), undefined);
    });

    it("drops every key with a prefix and nothing else", () => {
      const { cache } = newCache<number>();
      cache.set("user:1:a", 1);
      cache.set("user:1:b", 2);
      cache.set("user:10:a", 3);
      cache.set("user:2:a", 4);
      assert.equal(cache.invalidatePrefix("user:1:"), 2);
      assert.equal(cache.get("user:1:a"), undefined);
      assert.equal(cache.get("user:1:b"), undefined);
      assert.equal(cache.get("user:10:a")?.value, 3);
      assert.equal(cache.get("user:2:a")?.value, 4);
    });
  });

  describe("every value is a value", () => {
    for (const value of [null, false, 0, "", [], {}]) {
      it(`caches ${JSON.stringify(value)} as a hit`, async () => {
        const { cache } = newCache<unknown>();
        let fetches = 0;
        const fetch = async () => {
          fetches++;
          return value;
        };
        assert.deepEqual(await cache.getOrFetch("k", fetch), value);
        assert.deepEqual(await cache.getOrFetch("k", fetch), value);
        assert.equal(fetches, 1);
        assert.equal(cache.stats().hits, 1);
      });
    }
  });

  describe("mutation safety", () => {
    it("no caller can change the cached copy, at any depth", async () => {
      const { cache } = newCache<{ apps: { id: string; capabilities: string[] }[] }>();
      const served = await cache.getOrFetch("apps", async () => ({ apps: [{ id: "a", capabilities: ["chat"] }] }));
      assert.throws(() => served.apps.push({ id: "evil", capabilities: [] }), TypeError);
      assert.throws(() => {
        (served.apps[0] as { id: string }).id = "evil";
      }, TypeError);
      assert.throws(() => served.apps[0]?.capabilities.push("evil"), TypeError);
      const again = await cache.getOrFetch("apps", async () => ({ apps: [] }));
      assert.deepEqual(again, { apps: [{ id: "a", capabilities: ["chat"] }] });
    });
  });

  describe("figures", () => {
    it("counts hits, misses, hit rate, fetches, collapsed fetches and entries consistently", async () => {
      const { cache } = newCache<number>();
      await Promise.all([cache.getOrFetch("a", async () => 1), cache.getOrFetch("a", async () => 1)]);
      await cache.getOrFetch("a", async () => 1);
      await cache.getOrFetch("a", async () => 1);
      await cache.getOrFetch("b", async () => 2);
      const stats = cache.stats();
      // a: miss + miss(collapsed) + hit + hit ; b: miss
      assert.equal(stats.hits, 2);
      assert.equal(stats.misses, 3);
      assert.equal(stats.hitRate, 2 / 5);
      assert.equal(stats.fetches, 2);
      assert.equal(stats.collapsedFetches, 1);
      assert.equal(stats.entries, 2);
      assert.ok(stats.bytes > 0);
      assert.equal(stats.hits + stats.misses, stats.fetches + stats.collapsedFetches + stats.hits);
    });
  });
});
