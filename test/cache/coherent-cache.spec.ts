/**
 * Marker logic with an injected clock and an in-memory marker source, so every timing and
 * fault is exact. The same code against the real Redis gateway: coherent-cache.integration.spec.ts.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../functions/src/common/clock";
import { CoherentCache } from "../../functions/src/cache/coherent-cache";
import type { LookupStatus } from "../../functions/src/cache/coherent-cache";
import { MarkerWatcher } from "../../functions/src/cache/marker-watcher";
import { decodeMarkerReading } from "../../functions/src/redis/markers";
import { shortFormMarkers } from "../support/markers";

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
  const watcher = new MarkerWatcher({ read: shortFormMarkers(source.read), clock, pollIntervalMs: 1000 });
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
  it("reads markers before the first fetch, then serves hits with no marker read inside the interval", async () => {
    const t = setup();
    assert.equal(await t.cache.get("tester:u1", ["tester:u1"], t.fetch), "v0");
    assert.equal(t.source.reads, 1);
    for (let i = 0; i < 100; i++) assert.equal(await t.cache.get("tester:u1", ["tester:u1"], t.fetch), "v0");
    assert.equal(t.source.reads, 1, "no Redis command per request");
    assert.equal(t.fetches(), 1);
  });

  it("reports what each get did through a status object (as lru-cache does)", async () => {
    const t = setup({ securitySensitive: true });
    const status = async (key: string, scopes: string[], options: { patch?: (v: string, ids: readonly string[]) => Promise<string> } = {}) => {
      const s: LookupStatus = {};
      await t.cache.get(key, scopes, t.fetch, { ...options, status: s });
      return s;
    };
    assert.deepEqual(await status("k", ["s"]), { markers: "fresh", get: "fetch" });
    assert.deepEqual(await status("k", ["s"]), { markers: "fresh", get: "hit" });
    assert.deepEqual(await status("other", ["new-scope"]), { markers: "pending", get: "fetch" }, "a scope first seen between polls waits for the next");
    const [first, second] = [{} as LookupStatus, {} as LookupStatus];
    t.source.bump("s");
    t.clock.advance(1000);
    await Promise.all([t.cache.get("k", ["s"], t.fetch, { status: first }), t.cache.get("k", ["s"], t.fetch, { status: second })]);
    assert.deepEqual([first.get, second.get], ["fetch", "inflight"], "the second caller joined the first one's fetch");
    t.source.bump("s");
    t.clock.advance(1000);
    assert.deepEqual(await status("k", ["s"], { patch: async (v) => v }), { markers: "fresh", get: "fetch" }, "no log: a full fetch, not a patch");
    t.source.failing = true;
    t.clock.advance(1000);
    assert.deepEqual(await status("k", ["s"]), { markers: "unreadable", notStored: true, get: "fetch" }, "fail closed: read, not stored");
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
    const watcher = new MarkerWatcher({ read: shortFormMarkers(source.read), clock, pollIntervalMs: 1000, maxScopes: 1 });
    const cache = new CoherentCache<string>({ name: "t", ttlMs: 30_000, maxEntries: 100, maxBytes: 100_000, clock }, () => watcher);
    let value = "a0";
    await cache.get("a", ["sa"], async () => value);
    clock.advance(1000);
    await cache.get("b", ["sb"], async () => "b0"); // this poll reads "sb", which pushes "sa" out of the watcher
    source.bump("sa");
    value = "a1";
    assert.equal(await cache.get("a", ["sa"], async () => value), "a1");
  });

  it("a scope no request asked for in scopeIdleMs is no longer polled; asked again, it is read again", async () => {
    const clock = new ManualClock();
    const polled: string[][] = [];
    const read = async (scopes: readonly string[]) => (polled.push([...scopes].sort()), scopes.map(() => "1"));
    const watcher = new MarkerWatcher({ read: shortFormMarkers(read), clock, pollIntervalMs: 1000, scopeIdleMs: 60_000 });
    const cache = new CoherentCache<string>({ name: "t", ttlMs: 60_000, maxEntries: 100, maxBytes: 100_000, clock }, () => watcher);
    await cache.get("busy", ["busy"], async () => "b");
    clock.advance(1000);
    await cache.get("idle", ["idle"], async () => "i");
    for (let second = 0; second < 61; second++) {
      clock.advance(1000);
      await cache.get("busy", ["busy"], async () => "b");
    }
    assert.deepEqual(polled.at(-1), ["busy"], "the idle scope dropped out of the poll");
    assert.ok(
      polled.some((scopes) => scopes.includes("idle")),
      "it was polled while in use",
    );
    await cache.get("idle", ["idle"], async () => "i2");
    clock.advance(1000);
    await cache.get("idle", ["idle"], async () => "i3");
    assert.deepEqual(polled.at(-1), ["busy", "idle"], "asked again: read again with the next poll");
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
  describe("TTL as a safety net", () => {
    function setupLong() {
      const clock = new ManualClock();
      const source = new MarkerSource();
      const watcher = new MarkerWatcher({ read: shortFormMarkers(source.read), clock, pollIntervalMs: 1000 });
      const cache = new CoherentCache<string>(
        { name: "t", ttlMs: 3_600_000, unverifiedMaxAgeMs: 30_000, maxEntries: 100, maxBytes: 100_000, clock },
        () => watcher,
      );
      let fetches = 0;
      const fetch = async () => `v${++fetches}`;
      return { clock, source, cache, fetch, fetches: () => fetches };
    }

    it("while markers can be read, an unchanged entry lives its whole TTL, however old", async () => {
      const t = setupLong();
      await t.cache.get("k", ["s"], t.fetch);
      for (let minute = 0; minute < 59; minute++) {
        t.clock.advance(60_000);
        assert.equal(await t.cache.get("k", ["s"], t.fetch), "v1");
      }
      t.clock.advance(60_001);
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v2", "the safety net still ends it");
    });

    it("while markers cannot be read, an entry is served only while its fetch is at most unverifiedMaxAgeMs old", async () => {
      const t = setupLong();
      await t.cache.get("k", ["s"], t.fetch);
      t.clock.advance(10 * 60_000);
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v1", "markers readable: served");
      t.source.failing = true;
      t.clock.advance(1000);
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v2", "markers unreadable: 10 min is too old, refetched");
      t.clock.advance(29_000);
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v2", "the refetched entry is served within the bound");
      t.clock.advance(1_001);
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v3");
      assert.equal(t.cache.stats().servedWhileMarkersUnreadable, 3);
    });
  });

  /** Readings as Redis answers them with write times (`version:writtenAtMs`; null: no marker). */
  const timedMarkerReadings = (markers: Map<string, { version: number; writtenAtMs: number }>, scopes: readonly string[]) =>
    scopes.map((s) => (markers.has(s) ? `${markers.get(s)!.version}:${markers.get(s)!.writtenAtMs}` : null));

  /** A fail-closed cache and its watcher on one clock for everything: the instance's, the wall's and Redis's. */
  function cacheOnOneClock(clock: ManualClock, read: (scopes: readonly string[]) => Promise<(string | null)[]>) {
    const watcher = new MarkerWatcher({ read: shortFormMarkers(read), clock, pollIntervalMs: 1000, writeTimeToWallMs: (ms) => ms, wallClock: clock });
    const cache = new CoherentCache<string>(
      { name: "t", ttlMs: 3_600_000, maxEntries: 100, maxBytes: 100_000, clock, wallClock: clock, securitySensitive: true },
      () => watcher,
    );
    return { watcher, cache };
  }

  describe("a scope first seen between polls", () => {
    /** Markers with write times on the test clock, as Redis stamps them (`version:writtenAtMs`). */
    function setupTimed() {
      const clock = new ManualClock();
      const markers = new Map<string, { version: number; writtenAtMs: number }>();
      let reads = 0;
      const read = async (scopes: readonly string[]) => {
        reads++;
        return timedMarkerReadings(markers, scopes);
      };
      const bump = (scope: string) => markers.set(scope, { version: (markers.get(scope)?.version ?? 0) + 1, writtenAtMs: clock.now() });
      const { cache } = cacheOnOneClock(clock, read);
      let source = "v0";
      let fetches = 0;
      const fetch = async () => (fetches++, source);
      return { clock, bump, cache, fetch, reads: () => reads, fetches: () => fetches, setSource: (v: string) => (source = v) };
    }

    it("costs no marker read: its entry is fetched at once and kept at the next poll when the marker shows no bump since", async () => {
      const t = setupTimed();
      await t.cache.get("warm", ["warm"], t.fetch);
      assert.equal(t.reads(), 1);
      t.bump("old"); // a marker bumped long before
      t.clock.advance(5_000);
      await t.cache.get("warm", ["warm"], t.fetch); // the poll that makes the next one not due
      for (const scope of ["never-bumped", "old"]) assert.equal(await t.cache.get(scope, [scope], t.fetch), "v0");
      assert.equal(t.reads(), 2, "the new scopes waited for the next poll");
      t.clock.advance(1000);
      for (const scope of ["never-bumped", "old"]) assert.equal(await t.cache.get(scope, [scope], t.fetch), "v0");
      assert.equal(t.fetches(), 3, "both entries adopted under the versions the poll read");
      assert.equal(t.cache.stats().adoptedEntries, 2);
    });

    it("a bump after its fetch began makes the entry a miss, so the change is never served past the poll", async () => {
      const t = setupTimed();
      await t.cache.get("warm", ["warm"], t.fetch);
      t.clock.advance(5_000);
      await t.cache.get("warm", ["warm"], t.fetch);
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v0");
      t.clock.advance(10);
      t.bump("s"); // the change commits after the fetch began
      t.setSource("v1");
      t.clock.advance(1000);
      assert.equal(await t.cache.get("k", ["s"], t.fetch), "v1");
      assert.equal(t.cache.stats().adoptedEntries, 0);
    });

    it("a marker written within a poll interval before the fetch is not trusted (clock margin)", async () => {
      const t = setupTimed();
      await t.cache.get("warm", ["warm"], t.fetch);
      t.clock.advance(5_000);
      t.bump("s");
      t.clock.advance(500);
      await t.cache.get("warm", ["warm"], t.fetch);
      await t.cache.get("k", ["s"], t.fetch);
      t.clock.advance(1000);
      await t.cache.get("k", ["s"], t.fetch);
      assert.equal(t.fetches(), 3, "refetched: the write was 500 ms before the fetch");
    });
  });

  describe("one fetch per key while the poll that reads its scope is under way", () => {
    /**
     * A cold instance as it meets a burst: a first poll reads only the first cache's scope;
     * between polls a request for a new key fetches it under the unknown version of its scope;
     * the next request is due and waits for the poll that reads that scope. Marker reads and
     * the fetch are held until the test answers them; one clock for the instance, the wall and
     * Redis.
     */
    function setupCold() {
      const clock = new ManualClock();
      const markers = new Map<string, { version: number; writtenAtMs: number }>();
      const polls: { scopes: string[]; answer: () => void }[] = [];
      const read = (scopes: readonly string[]) =>
        new Promise<(string | null)[]>((resolve) =>
          polls.push({
            scopes: [...scopes],
            answer: () => resolve(timedMarkerReadings(markers, scopes)),
          }),
        );
      const { cache } = cacheOnOneClock(clock, read);
      let source = "v0";
      let fetches = 0;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      /** Reads the source when it begins (as a query does), answers when released. */
      const fetch = async () => {
        fetches++;
        const value = source;
        await released;
        return value;
      };
      const settle = () => new Promise((resolve) => setImmediate(resolve));
      const get = (status: LookupStatus = {}) => cache.get("k", ["s"], fetch, { status });
      /**
       * The first poll reads "warm" alone; 10 ms later a request between polls starts the key's
       * fetch under the unknown version of "s" (`between`); a poll interval later a request is
       * due (`waiting`) and starts the poll that reads "s", still running when this returns.
       */
      const coldStart = async (betweenStatus: LookupStatus, waitingStatus: LookupStatus) => {
        const warm = cache.get("warm", ["warm"], async () => "w");
        await settle();
        polls[0]!.answer();
        await warm;
        clock.advance(10);
        const between = get(betweenStatus);
        await settle();
        clock.advance(1_000);
        const waiting = get(waitingStatus);
        await settle();
        assert.deepEqual(
          polls.map((poll) => poll.scopes),
          [["warm"], ["warm", "s"]],
          "the second poll reads the key's scope",
        );
        return { between, waiting };
      };
      return {
        clock,
        cache,
        polls,
        get,
        coldStart,
        settle,
        release: () => release(),
        fetches: () => fetches,
        bump: (scope: string) => markers.set(scope, { version: (markers.get(scope)?.version ?? 0) + 1, writtenAtMs: clock.now() }),
        setSource: (v: string) => (source = v),
      };
    }

    it("a request waiting for that poll joins the fetch another began under the unknown version before it", async () => {
      const t = setupCold();
      const [betweenStatus, waitingStatus] = [{} as LookupStatus, {} as LookupStatus];
      const { between, waiting } = await t.coldStart(betweenStatus, waitingStatus);
      t.polls[1]!.answer(); // no marker for "s"
      await t.settle();
      t.release();
      assert.deepEqual([await waiting, await between], ["v0", "v0"]);
      assert.equal(t.fetches(), 1, "one fetch for both");
      assert.deepEqual(betweenStatus, { markers: "pending", get: "fetch" });
      assert.deepEqual(waitingStatus, { markers: "fresh", get: "inflight", adopted: true });
      const later: LookupStatus = {};
      assert.equal(await t.get(later), "v0");
      assert.deepEqual(later, { markers: "fresh", get: "hit" }, "stored under the version the poll read");
      assert.equal(t.cache.stats().adoptedEntries, 1);
    });

    it("the same when that fetch was already stored: its entry is kept", async () => {
      const t = setupCold();
      t.bump("s"); // a change long before the fetch below (by more than the clock margin)
      t.clock.advance(1_500);
      const waitingStatus: LookupStatus = {};
      const { between, waiting } = await t.coldStart({}, waitingStatus);
      t.release();
      assert.equal(await between, "v0", "fetched and stored under the unknown version, before the poll");
      t.polls[1]!.answer();
      assert.equal(await waiting, "v0");
      assert.equal(t.fetches(), 1);
      assert.deepEqual(waitingStatus, { markers: "fresh", get: "hit", adopted: true });
    });

    it("a bump after that fetch began is never served: the waiting request fetches again", async () => {
      const t = setupCold();
      const { between, waiting } = await t.coldStart({}, {});
      t.bump("s"); // the change commits after the fetch began, before the poll reads its marker
      t.setSource("v1");
      t.polls[1]!.answer();
      await t.settle();
      t.release();
      assert.deepEqual([await waiting, await between], ["v1", "v0"]);
      assert.equal(t.fetches(), 2);
      assert.equal(await t.get(), "v1", "the change is what is stored");
      assert.equal(t.cache.stats().adoptedEntries, 0);
    });

    it("a request that joins a poll under way without its new scope polls no second time: it fetches under the unknown version", async () => {
      const t = setupCold();
      const { waiting } = await t.coldStart({}, {});
      const joining: LookupStatus = {};
      const other = t.cache.get("k2", ["s2"], async () => "x", { status: joining });
      await t.settle();
      t.polls[1]!.answer();
      t.release();
      assert.equal(await other, "x");
      await waiting;
      assert.equal(t.polls.length, 2, "no poll for s2 alone");
      assert.deepEqual(joining, { markers: "pending", get: "fetch" });
    });
  });

  describe("incremental refresh from the markers' change logs", () => {
    /** Markers as redis/markers.ts writes them: `version:ms|[^]version=id,...` (new marker: version = ms). */
    class LoggedMarkers {
      markers = new Map<string, { version: number; log: [number, string][]; fromStart: boolean }>();
      bump(scope: string, id?: string) {
        const current = this.markers.get(scope);
        const version = current ? current.version + 1 : 1_767_225_600_000;
        const next = {
          version,
          log: id === undefined ? [] : [...(current?.log ?? []), [version, id] as [number, string]].slice(-20),
          fromStart: current ? current.fromStart : true,
        };
        if (id === undefined || (current && current.log.length + 1 > 20)) next.fromStart = false;
        this.markers.set(scope, next);
      }
      read = async (scopes: readonly string[]) =>
        scopes.map((scope) => {
          const m = this.markers.get(scope);
          if (!m) return null;
          const log = m.log.map(([v, id]) => `${v}=${encodeURIComponent(id)}`).join(",");
          return `${m.version}:1767225600000${log === "" ? "" : `|${m.fromStart ? "^" : ""}${log}`}`;
        });
    }

    function setupPatch() {
      const clock = new ManualClock();
      const markers = new LoggedMarkers();
      const watcher = new MarkerWatcher({ read: shortFormMarkers(markers.read), clock, pollIntervalMs: 1000 });
      const cache = new CoherentCache<string[]>({ name: "list", ttlMs: 3_600_000, maxEntries: 10, maxBytes: 100_000, clock }, () => watcher);
      let source = ["a", "b", "c"];
      const calls = { fetches: 0, patches: [] as string[][] };
      const fetch = async () => (calls.fetches++, [...source]);
      const patch = async (previous: string[], ids: readonly string[]) => {
        calls.patches.push([...ids]);
        return [...previous.filter((x) => !ids.includes(x)), ...source.filter((x) => ids.includes(x))].sort();
      };
      const get = () => cache.get("all", ["list"], fetch, { patch });
      return { clock, markers, watcher, cache, get, calls, setSource: (next: string[]) => (source = next) };
    }

    it("re-reads only the ids bumped since the entry was stored, including a marker created after it", async () => {
      const t = setupPatch();
      assert.deepEqual(await t.get(), ["a", "b", "c"]);
      t.setSource(["a", "b", "c", "d"]);
      t.markers.bump("list", "d");
      t.clock.advance(1000);
      assert.deepEqual(await t.get(), ["a", "b", "c", "d"], "the marker did not exist when the entry was stored: followed from its first version");
      t.setSource(["a", "c", "d", "e,=|%"]);
      t.markers.bump("list", "b");
      t.markers.bump("list", "e,=|%");
      t.clock.advance(1000);
      assert.deepEqual(await t.get(), ["a", "c", "d", "e,=|%"]);
      assert.deepEqual(t.calls.patches, [["d"], ["b", "e,=|%"]]);
      assert.equal(t.calls.fetches, 1, "only the first fill read everything");
      assert.equal(t.cache.stats().patchedFetches, 2);
    });

    it("a bump that names nothing, or more changes than the log keeps, means a full fetch", async () => {
      const t = setupPatch();
      t.markers.bump("list", "a");
      await t.get();
      t.markers.bump("list");
      t.clock.advance(1000);
      await t.get();
      assert.equal(t.calls.fetches, 2, "an unnamed change: full fetch");
      for (let i = 0; i < 21; i++) t.markers.bump("list", `x${i}`);
      t.clock.advance(1000);
      await t.get();
      assert.equal(t.calls.fetches, 3, "21 changes, a log of 20: full fetch");
      assert.equal(t.calls.patches.length, 0);
    });

    it("a marker that expired and started again (a new, higher incarnation) is never patched across", async () => {
      const t = setupPatch();
      t.markers.bump("list", "a");
      await t.get();
      t.markers.markers.delete("list");
      t.markers.markers.set("list", { version: 1_767_300_000_000, log: [[1_767_300_000_000, "b"]], fromStart: true });
      t.clock.advance(1000);
      await t.get();
      assert.equal(t.calls.fetches, 2);
      assert.equal(t.calls.patches.length, 0);
    });

    it("parses readings with and without a time and a log", () => {
      assert.deepEqual(decodeMarkerReading("7", null), { version: "7" });
      assert.deepEqual(decodeMarkerReading("7", "1767225600000"), { version: "7", writtenAtMs: 1767225600000 });
      const reading = decodeMarkerReading("7", "1767225600000|^6=pub-3,7=a%2Cb");
      assert.deepEqual(
        [...(reading.changedIds ?? [])],
        [
          [6, "pub-3"],
          [7, "a,b"],
        ],
      );
      assert.equal(reading.firstVersion, 6);
      assert.equal(decodeMarkerReading("7", "1767225600000|6=x,7=%E0%A4%A").changedIds?.has(7), false, "a malformed id is a gap");
    });
  });
});
