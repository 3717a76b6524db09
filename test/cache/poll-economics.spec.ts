/**
 * What a marker poll costs and carries, with an injected clock and an in-memory marker source:
 * - a lookup whose source is cheaper to read than its share of a due poll reads the source
 *   (MarkerWatcher.readThroughCheaper, CoherentCache's readThroughUsd), and stays as fresh;
 * - riders: keys read in the poll's one command (install counts);
 * - payloads: a scope's set read with its version, only when the version is new to the instance;
 * - the lookups of one request share one poll.
 * The same poll against the real Redis: test/redis/poll.spec.ts.
 */
import assert from "node:assert/strict";
import { CoherentCache, LookupStatus } from "../../functions/src/cache/coherent-cache";
import { MarkerReader, MarkerWatcher, PollExtras } from "../../functions/src/cache/marker-watcher";
import { ManualClock } from "../../functions/src/common/clock";
import { RequestRate } from "../../functions/src/common/request-rate";
import { MarkerReading } from "../../functions/src/redis/markers";

/** The list prices (US dollars): a Firestore read, an Upstash command. */
const readUsd = 0.06 / 100_000;
const commandUsd = 0.2 / 100_000;

class FakeMarkers {
  versions = new Map<string, number>();
  sets = new Map<string, string[]>();
  values = new Map<string, string>();
  polls: { scopes: string[]; extras: PollExtras }[] = [];
  failing = false;
  bump(scope: string) {
    this.versions.set(scope, (this.versions.get(scope) ?? 0) + 1);
  }
  /** A reader that returns payloads for scopes named `set:*` whose version differs from the one held, and rider values. */
  read: MarkerReader = async (scopes, extras) => {
    this.polls.push({ scopes: [...scopes], extras });
    if (this.failing) throw new Error("redis unreachable");
    const readings: MarkerReading[] = scopes.map((scope, i) => {
      const version = this.versions.has(scope) ? String(this.versions.get(scope)) : null;
      const reading: MarkerReading = { version };
      if (scope.startsWith("set:") && extras.heldVersions[i] !== version) reading.payload = [...(this.sets.get(scope) ?? [])];
      return reading;
    });
    return { readings, riderValues: extras.riderKeys.map((key) => this.values.get(key) ?? null) };
  };
}

function setup(options: { requestsPerMs?: () => number; pollUsd?: number; batchSize?: number } = {}) {
  const clock = new ManualClock();
  const markers = new FakeMarkers();
  const watcher = new MarkerWatcher({
    read: markers.read,
    clock,
    pollIntervalMs: 1000,
    batchSize: options.batchSize,
    pollUsd: () => options.pollUsd ?? commandUsd,
    requestsPerMs: options.requestsPerMs ?? (() => 0),
  });
  const cache = new CoherentCache<string>(
    { name: "doc", ttlMs: 3_600_000, maxEntries: 100, maxBytes: 100_000, clock, readThroughUsd: () => readUsd },
    () => watcher,
  );
  let source = "v0";
  let fetches = 0;
  const fetch = async () => {
    fetches++;
    return source;
  };
  const get = (status: LookupStatus = {}) => cache.get("k", ["doc:u1"], fetch, { status });
  return { clock, markers, watcher, cache, get, fetches: () => fetches, setSource: (v: string) => (source = v) };
}

describe("a poll that knows its price", () => {
  describe("read-through: a due poll costs a quiet instance more than one document", () => {
    it("a quiet instance reads the document instead of polling, and is as fresh as a poll would make it", async () => {
      const t = setup();
      const first: LookupStatus = {};
      assert.equal(await t.get(first), "v0");
      assert.deepEqual(first, { markers: "readThrough", get: "fetch" });
      assert.equal(t.markers.polls.length, 0, "no poll: one read ($0.60 per 1M) is cheaper than a command ($2.00)");
      // Within the interval the value read is as good as a poll: served again, no read.
      t.clock.advance(999);
      t.setSource("v1");
      assert.equal(await t.get(), "v0");
      assert.equal(t.fetches(), 1);
      // A poll interval after the read, it is read again: a change is never older than a poll would leave it.
      t.clock.advance(1);
      assert.equal(await t.get(), "v1");
      assert.equal(t.fetches(), 2);
      assert.equal(t.markers.polls.length, 0);
      assert.equal(t.cache.stats().readThroughLookups, 3);
    });

    it("a busy instance polls: the poll's price is shared by the requests of its interval", async () => {
      // 3 requests a second: a poll costs each of the 1 + 3 requests it serves $0.50 per 1M, less than a read.
      const t = setup({ requestsPerMs: () => 3 / 1000 });
      const status: LookupStatus = {};
      assert.equal(await t.get(status), "v0");
      assert.equal(status.markers, "fresh");
      assert.equal(t.markers.polls.length, 1);
      assert.equal(t.watcher.readThroughCheaper(readUsd), false, "not due: the cache is free");
    });

    it("the decision follows the prices: on a fixed Upstash plan (a command costs 0) every due lookup polls", async () => {
      const t = setup({ pollUsd: 0 });
      await t.get();
      assert.equal(t.markers.polls.length, 1);
      // At 2.2 requests a second a poll costs each request $0.625 per 1M: still more than a read ($0.60).
      const busy = setup({ requestsPerMs: () => 2.2 / 1000 });
      assert.equal(busy.watcher.readThroughCheaper(readUsd), true);
      const busier = setup({ requestsPerMs: () => 2.4 / 1000 });
      assert.equal(busier.watcher.readThroughCheaper(readUsd), false);
    });

    it("a value read through while its scope is known serves under its version; a change after it is seen at the next poll", async () => {
      let rate = 0;
      const t = setup({ requestsPerMs: () => rate });
      rate = 10 / 1000;
      await t.get(); // polls: the scope is known at version null
      t.clock.advance(1000);
      rate = 0;
      const read: LookupStatus = {};
      t.setSource("v1");
      assert.equal(await t.get(read), "v1", "read through, fresh");
      assert.equal(read.get, "fetch");
      rate = 10 / 1000;
      t.markers.bump("doc:u1");
      t.setSource("v2");
      assert.equal(await t.get(), "v2", "the poll shows the change: refetched");
      assert.equal(t.fetches(), 3);
    });

    it("the source failing: the poll it was to spare is made, and a stored value it shows current is served", async () => {
      let rate = 10 / 1000;
      const t = setup({ requestsPerMs: () => rate });
      await t.get(); // polled and stored
      t.clock.advance(1000);
      rate = 0;
      const failing = new CoherentCache<string>(
        { name: "doc", ttlMs: 3_600_000, maxEntries: 100, maxBytes: 100_000, clock: t.clock, readThroughUsd: () => readUsd },
        () => t.watcher,
      );
      await assert.rejects(
        failing.get("k", ["doc:u1"], async () => Promise.reject(new Error("firestore down"))),
        /firestore down/,
        "nothing stored: the error",
      );
      const status: LookupStatus = {};
      assert.equal(
        await t.cache.get("k", ["doc:u1"], async () => Promise.reject(new Error("firestore down")), { status }),
        "v0",
        "the poll shows the stored value current",
      );
      assert.deepEqual(status, { markers: "fresh", get: "hit" });
      assert.equal(t.markers.polls.length, 2);
    });

    it("a poll something must ride on (the stats publish, once a minute) is made even by a quiet instance", async () => {
      let publishDue = true;
      const clock = new ManualClock();
      const markers = new FakeMarkers();
      const watcher = new MarkerWatcher({ read: markers.read, clock, pollIntervalMs: 1000, pollUsd: () => commandUsd, pollWanted: () => publishDue });
      assert.equal(watcher.readThroughCheaper(readUsd), false);
      publishDue = false;
      assert.equal(watcher.readThroughCheaper(readUsd), true);
    });

    it("security-sensitive data never reads through (it fails closed, and its view must be read)", async () => {
      const clock = new ManualClock();
      const markers = new FakeMarkers();
      const watcher = new MarkerWatcher({ read: markers.read, clock, pollIntervalMs: 1000, pollUsd: () => commandUsd });
      const cache = new CoherentCache<string>(
        { name: "tester", ttlMs: 60_000, maxEntries: 10, maxBytes: 10_000, clock, securitySensitive: true, readThroughUsd: () => readUsd },
        () => watcher,
      );
      await cache.get("k", ["tester:u1"], async () => "v");
      assert.equal(markers.polls.length, 1);
      assert.equal(cache.stats().readThroughLookups, 0);
    });
  });

  describe("what rides in the poll's one command", () => {
    it("riders: each poll asks every rider for its keys, reads them in the same command and hands each its values", async () => {
      const t = setup({ requestsPerMs: () => 10 / 1000 });
      t.markers.values.set("installs:a", "7");
      const heard: unknown[][] = [];
      const wanted = [["installs:a", "installs:b"], ["installs:c"]];
      const riders = wanted.map((keys) => ({ keys: () => keys, read: (values: readonly unknown[]) => void heard.push([...values]) }));
      const watcher = new MarkerWatcher({ read: t.markers.read, clock: t.clock, pollIntervalMs: 1000, riders: () => riders });
      const cache = new CoherentCache<string>({ name: "r", ttlMs: 60_000, maxEntries: 10, maxBytes: 10_000, clock: t.clock }, () => watcher);
      await cache.get("k", ["s"], async () => "v");
      assert.equal(t.markers.polls.length, 1, "one command");
      assert.deepEqual(t.markers.polls[0]!.extras.riderKeys, ["installs:a", "installs:b", "installs:c"]);
      assert.deepEqual(heard, [["7", null], [null]]);
    });

    it("a failed poll hands its riders nothing (they ask again at the next)", async () => {
      const t = setup();
      let reads = 0;
      const watcher = new MarkerWatcher({
        read: t.markers.read,
        clock: t.clock,
        pollIntervalMs: 1000,
        riders: () => [{ keys: () => ["installs:a"], read: () => void reads++ }],
      });
      t.markers.failing = true;
      const cache = new CoherentCache<string>({ name: "r", ttlMs: 60_000, maxEntries: 10, maxBytes: 10_000, clock: t.clock }, () => watcher);
      await cache.get("k", ["s"], async () => "v");
      assert.equal(reads, 0);
      t.markers.failing = false;
      t.clock.advance(1000);
      await cache.get("k", ["s"], async () => "v");
      assert.equal(reads, 1);
    });

    it("payloads: a scope's set is read with its version when the version is new to the instance, and kept while it holds", async () => {
      const t = setup({ requestsPerMs: () => 10 / 1000 });
      t.markers.sets.set("set:u1", ["a"]);
      t.watcher.expect(["set:u1"]);
      await t.get();
      assert.deepEqual(t.markers.polls[0]!.scopes.sort(), ["doc:u1", "set:u1"], "the expected scope rode in the request's poll");
      assert.deepEqual(t.watcher.payload("set:u1"), ["a"]);
      t.clock.advance(1000);
      await t.get();
      assert.deepEqual(t.markers.polls[1]!.extras.heldVersions, [null, null], "held versions sent: nothing new, no payload read");
      assert.deepEqual(t.watcher.payload("set:u1"), ["a"], "kept for the version held");
      t.markers.sets.set("set:u1", ["a", "b"]);
      t.markers.bump("set:u1");
      t.clock.advance(1000);
      await t.get();
      assert.deepEqual(t.watcher.payload("set:u1"), ["a", "b"], "the change's payload, read with its version");
      t.watcher.dropPayload("set:u1");
      assert.equal(t.watcher.payload("set:u1"), undefined, "this instance changed the set: the payload read with the version is old");
    });

    it("an early read of a poll of two commands: just the new scopes and the riders early in the interval, the poll itself from halfway", async () => {
      const t = setup({ requestsPerMs: () => 10 / 1000, batchSize: 2 });
      t.watcher.expect(["doc:u2"]);
      await t.get(); // poll 1: doc:u1 and doc:u2 known; with a third scope a poll takes 2 commands
      t.clock.advance(100);
      assert.equal(await t.watcher.readEarly(["set:new"]), true);
      assert.deepEqual(t.markers.polls[1]!.scopes, ["set:new"], "early in the interval: only what is missing");
      assert.equal(t.watcher.readThroughCheaper(0), false, "not a poll: the next one is due when it was (not yet)");
      t.clock.advance(400); // halfway: a poll of 2 commands now costs 2 × (1 - 0.5) = 1 more, as the read alone would
      assert.equal(await t.watcher.readEarly(["set:later"]), true);
      assert.deepEqual(
        t.markers.polls
          .slice(2)
          .flatMap((poll) => poll.scopes)
          .sort(),
        ["doc:u1", "doc:u2", "set:later", "set:new"],
        "from halfway: the poll, every scope",
      );
      const commands = t.markers.polls.length;
      t.clock.advance(999);
      const status: LookupStatus = {};
      await t.get(status);
      assert.equal(status.get, "hit");
      assert.equal(t.markers.polls.length, commands, "the next poll moved an interval on from the early one");
    });

    it("an early read of a poll of one command is the poll at any phase: it costs no more than the read alone", async () => {
      const t = setup({ requestsPerMs: () => 10 / 1000 });
      await t.get(); // poll 1: doc:u1 known
      t.clock.advance(100);
      assert.equal(await t.watcher.readEarly(["set:new"]), true);
      assert.deepEqual(t.markers.polls[1]!.scopes.sort(), ["doc:u1", "set:new"], "the poll, every scope");
      t.clock.advance(999);
      await t.get();
      assert.equal(t.markers.polls.length, 2, "the next poll moved an interval on from the early one");
      t.clock.advance(1);
      await t.get();
      assert.equal(t.markers.polls.length, 3);
    });

    it("a lookup of scopes all new to the instance can leave the poll to a later lookup, which then reads them", async () => {
      const t = setup({ requestsPerMs: () => 10 / 1000 });
      await t.get(); // markers readable
      t.clock.advance(1000);
      const first: LookupStatus = {};
      assert.equal(await t.cache.get("own:u2", ["owner:u2"], async () => "mine", { status: first, leavePoll: true }), "mine");
      assert.deepEqual(first, { markers: "pending", get: "fetch" });
      assert.equal(t.markers.polls.length, 1, "no poll yet");
      await t.get(); // the request's next lookup is due: its poll reads the new scope too
      assert.equal(t.markers.polls.length, 2);
      assert.ok(t.markers.polls[1]!.scopes.includes("owner:u2"));
      const again: LookupStatus = {};
      assert.equal(await t.cache.get("own:u2", ["owner:u2"], async () => "refetched", { status: again, leavePoll: true }), "mine");
      assert.deepEqual(again, { markers: "fresh", get: "hit", adopted: true }, "no marker: the value is adopted under the version read");
      // A known scope is looked up as any: a due poll is made.
      t.clock.advance(1000);
      await t.cache.get("own:u2", ["owner:u2"], async () => "refetched", { leavePoll: true });
      assert.equal(t.markers.polls.length, 3);
    });

    it("the lookups a request starts together share one poll", async () => {
      const t = setup({ requestsPerMs: () => 10 / 1000 });
      await Promise.all([t.cache.get("a", ["s:a"], async () => "a"), t.cache.get("b", ["s:b"], async () => "b"), t.cache.get("c", ["s:c"], async () => "c")]);
      assert.equal(t.markers.polls.length, 1);
      assert.deepEqual(t.markers.polls[0]!.scopes.sort(), ["s:a", "s:b", "s:c"]);
    });
  });

  describe("RequestRate", () => {
    it("reads a steady rate after a few windows, and fades when requests stop", () => {
      const clock = new ManualClock();
      const rate = new RequestRate(clock, 10_000);
      for (let i = 0; i < 600; i++) {
        rate.note();
        clock.advance(500);
      }
      assert.ok(Math.abs(rate.perMs() * 1000 - 2) < 0.1, `2 a second, read ${rate.perMs() * 1000}`);
      clock.advance(60_000);
      assert.ok(rate.perMs() * 1000 < 0.01, "a minute idle: about none");
    });
  });
});
