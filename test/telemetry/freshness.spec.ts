/**
 * Measured freshness: the histogram arithmetic (exact merging across instances, percentiles
 * that never under-report), and how the marker watcher takes one sample per change, with an
 * injected clock and an in-memory marker source so every timing and every skew is exact.
 */
import assert from "node:assert/strict";
import { MarkerWatcher } from "../../functions/src/cache/marker-watcher";
import { freshnessPromiseMs } from "../../functions/src/cache/settings";
import { ManualClock } from "../../functions/src/common/clock";
import { decodeMarkerReading } from "../../functions/src/redis/markers";
import { addSample, emptyHistogram, FreshnessRecorder, mergeHistograms, percentileMs, scopeFamily, summarize } from "../../functions/src/telemetry/freshness";
import { shortFormMarkers } from "../support/markers";

describe("freshness histograms", () => {
  it("scope families: the first segment of the scope", () => {
    assert.deepEqual(["tester:u1", "mentor:u1", "credits:u1", "apps:public", "apps:owner:u1", "probe"].map(scopeFamily), [
      "tester",
      "mentor",
      "credits",
      "apps",
      "apps",
      "probe",
    ]);
  });

  it("percentiles are bucket upper bounds capped at the exact max; samples over 2 s are counted", () => {
    const h = emptyHistogram();
    for (let i = 0; i < 98; i++) addSample(h, 120);
    addSample(h, 1900);
    addSample(h, 2600);
    assert.equal(percentileMs(h, 0.5), 200, "120 ms falls in the (100, 200] bucket");
    assert.equal(percentileMs(h, 0.99), 2000, "the 99th of 100 samples is the 1900 ms one, in (1750, 2000]");
    assert.equal(percentileMs(h, 1), 2600, "the top bucket is capped at the exact maximum");
    assert.deepEqual(summarize(h), { samples: 100, p50Ms: 200, p99Ms: 2000, maxMs: 2600, overPromise: 1, unmeasured: 0, promiseKept: false });
    const one = emptyHistogram();
    addSample(one, 3);
    assert.equal(percentileMs(one, 0.99), 3, "never above the max");
    assert.deepEqual(summarize(emptyHistogram()), { samples: 0, p50Ms: null, p99Ms: null, maxMs: null, overPromise: 0, unmeasured: 0, promiseKept: true });
  });

  it("histograms of many instances merge exactly (the fleet's p99 is not an average of p99s)", () => {
    const fast = emptyHistogram();
    const slow = emptyHistogram();
    for (let i = 0; i < 90; i++) addSample(fast, 40);
    for (let i = 0; i < 10; i++) addSample(slow, 1400);
    const merged = mergeHistograms([fast, slow, { buckets: [1, 2], samples: 3, maxMs: 1e9, overPromise: 3, unmeasured: 0 }]);
    assert.equal(merged.samples, 100, "a malformed histogram is ignored");
    assert.equal(percentileMs(merged, 0.5), 50);
    assert.equal(percentileMs(merged, 0.99), 1400);
    assert.equal(merged.maxMs, 1400);
  });

  it("the recorder keeps one histogram per family and counts changes it could not measure", () => {
    const recorder = new FreshnessRecorder();
    recorder.record("tester:a", 100);
    recorder.record("tester:b", 300);
    recorder.record("mentor:a", undefined);
    const snapshot = recorder.snapshot();
    assert.deepEqual(Object.keys(snapshot).sort(), ["mentor", "tester"]);
    assert.equal(snapshot.tester?.samples, 2);
    assert.deepEqual([snapshot.mentor?.samples, snapshot.mentor?.unmeasured], [0, 1]);
    recorder.record("tester:c", 50);
    assert.equal(snapshot.tester?.samples, 2, "a snapshot is a copy");
  });
});

describe("marker readings", () => {
  it("version:writtenAtMs, and a plain version from before markers carried a time", () => {
    assert.deepEqual(decodeMarkerReading("7", "1767225600000"), { version: "7", writtenAtMs: 1767225600000 });
    assert.deepEqual(decodeMarkerReading("7", null), { version: "7" });
    assert.deepEqual(decodeMarkerReading("7", "garbage"), { version: "7" });
    assert.deepEqual(decodeMarkerReading(null, null), { version: null });
  });

  it("only the version decides what is current: a time appearing beside the same version is no change", async () => {
    const clock = new ManualClock();
    let reading = "3";
    const seen: (number | undefined)[] = [];
    const watcher = new MarkerWatcher({ read: shortFormMarkers(async (scopes) => scopes.map(() => reading)), clock, onChangeSeen: (_s, d) => seen.push(d) });
    await watcher.view(["s"]);
    reading = "3:1767225600000";
    clock.advance(1000);
    const view = await watcher.view(["s"]);
    assert.equal(view.tag, "3;");
    assert.deepEqual([watcher.stats().markerChangesSeen, seen], [0, []]);
  });
});

/**
 * A watcher whose "Redis" answers after `roundTripMs` of the manual clock. The writer's clock
 * is the manual clock shifted by `writerSkewMs` (what a marker's write time is stamped with).
 */
function measuredWatcher(options: { roundTripMs?: number; writerSkewMs?: number } = {}) {
  const clock = new ManualClock(10_000_000);
  const versions = new Map<string, string>();
  const samples: { scope: string; delayMs: number | undefined }[] = [];
  const roundTripMs = options.roundTripMs ?? 0;
  const watcher = new MarkerWatcher({
    clock,
    pollIntervalMs: 1000,
    read: shortFormMarkers(async (scopes) => {
      const answer = scopes.map((s) => versions.get(s) ?? null);
      clock.advance(roundTripMs);
      return answer;
    }),
    // The instance's clock is the reference here: a write time converts one to one.
    writeTimeToWallMs: (writtenAtMs) => writtenAtMs,
    wallClock: clock,
    onChangeSeen: (scope, delayMs) => samples.push({ scope, delayMs }),
  });
  let version = 0;
  const write = (scope: string) => versions.set(scope, `${++version}:${clock.now() + (options.writerSkewMs ?? 0)}`);
  return { clock, watcher, samples, write };
}

describe("MarkerWatcher: one freshness sample per change seen", () => {
  it("a busy instance: from the write to the reply of the poll that saw it", async () => {
    const t = measuredWatcher({ roundTripMs: 20 });
    await t.watcher.view(["tester:u"]);
    t.clock.advance(300);
    t.write("tester:u");
    // Answers from the old version keep coming until the next poll is due.
    for (let i = 0; i < 6; i++) {
      t.clock.advance(100);
      await t.watcher.view(["tester:u"]);
    }
    assert.deepEqual(t.samples, [], "not seen yet: the poll interval has not passed");
    t.clock.advance(100);
    await t.watcher.view(["tester:u"]);
    // Poll 1 started at 0 and answered at 20; the write at 320; poll 2 started at 1020, answered at 1040.
    assert.deepEqual(t.samples, [{ scope: "tester:u", delayMs: 720 }]);
  });

  it("an idle instance: counted from the first request after the write, not the idle time", async () => {
    const t = measuredWatcher({ roundTripMs: 20 });
    await t.watcher.view(["mentor:u"]);
    t.clock.advance(5_000);
    t.write("mentor:u");
    t.clock.advance(60_000);
    await t.watcher.view(["mentor:u"]);
    assert.deepEqual(t.samples, [{ scope: "mentor:u", delayMs: 20 }], "only the wait for the poll");
  });

  it("a writer clock ahead or behind: the write time is clamped to when it can have happened", async () => {
    for (const [writerSkewMs, expectedMs] of [
      // 10 s ahead: it would read as written after this poll's reply; clamped to that reply.
      [10_000, 0],
      // 10 s behind: it would read as written before the previous poll, which did not see it.
      [-10_000, 1_040],
    ] as const) {
      const t = measuredWatcher({ roundTripMs: 20, writerSkewMs });
      await t.watcher.view(["credits:u"]);
      t.clock.advance(500);
      t.write("credits:u");
      t.clock.advance(500);
      await t.watcher.view(["credits:u"]);
      assert.deepEqual(t.samples, [{ scope: "credits:u", delayMs: expectedMs }], `writer skew ${writerSkewMs} ms`);
    }
  });

  it("Redis unreadable from this instance for 5 s: a change written meanwhile is measured from its write, and is late", async () => {
    const clock = new ManualClock(10_000_000);
    let failing = false;
    let reading = "1";
    const samples: (number | undefined)[] = [];
    const watcher = new MarkerWatcher({
      clock,
      pollIntervalMs: 1000,
      read: shortFormMarkers(async (scopes) => {
        if (failing) throw new Error("redis unreachable");
        return scopes.map(() => reading);
      }),
      writeTimeToWallMs: (ms) => ms,
      wallClock: clock,
      onChangeSeen: (_scope, delayMs) => samples.push(delayMs),
    });
    await watcher.view(["apps:public"]);
    failing = true;
    clock.advance(1000);
    await watcher.view(["apps:public"]);
    // Redis is unreachable from this instance only (a partition): a writer still bumps.
    reading = `2:${clock.now() + 100}`;
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      await watcher.view(["apps:public"]);
    }
    failing = false;
    clock.advance(1000);
    await watcher.view(["apps:public"]);
    assert.equal(samples.length, 1);
    assert.equal(samples[0], 4_900, "served from the old version (within TTL) for 4.9 s after the write");
    assert.ok((samples[0] ?? 0) > freshnessPromiseMs);
  });

  it("a marker without a write time is followed, and counted as unmeasured", async () => {
    const clock = new ManualClock();
    const seen: (number | undefined)[] = [];
    let reading = "1";
    const watcher = new MarkerWatcher({
      clock,
      read: shortFormMarkers(async (s) => s.map(() => reading)),
      writeTimeToWallMs: (ms) => ms,
      wallClock: clock,
      onChangeSeen: (_s, d) => seen.push(d),
    });
    await watcher.view(["tester:u"]);
    // Bumped by an older writer: a plain INCR, no time.
    reading = "2";
    clock.advance(1000);
    assert.equal((await watcher.view(["tester:u"])).tag, "2;");
    assert.deepEqual(seen, [undefined]);
  });
});
