/**
 * The cacheStats answer from published snapshots, as a pure function: what counts as live,
 * how figures add up per cache and per function, and that freshness comes first.
 */
import assert from "node:assert/strict";
import { CoherentCacheStats } from "../../functions/src/cache/coherent-cache";
import { InstanceSnapshot, PublishedSnapshot, snapshotTtlMs } from "../../functions/src/telemetry/fleet-stats";
import { fleetText } from "../../functions/src/telemetry/fleet-text";
import { fleetView } from "../../functions/src/telemetry/fleet-view";
import { addSample, emptyHistogram, FreshnessHistogram } from "../../functions/src/telemetry/freshness";
import { FunctionUsage, noRedisUsage, noUsage } from "../../functions/src/telemetry/meter";

const nowMs = 1_800_000_000_000;
const prices = { firestoreReadUsdPer100k: 0.06, firestoreWriteUsdPer100k: 0.18, redisUsdPer100kCommands: 0.2 };

function cache(name: string, hits: number, misses: number, entries = 1): CoherentCacheStats {
  return {
    name,
    entries,
    bytes: entries * 100,
    maxEntries: 1000,
    maxBytes: 1 << 20,
    hits,
    misses,
    hitRate: hits / (hits + misses),
    evictions: 0,
    fetches: misses,
    fetchErrors: 0,
    collapsedFetches: 0,
    invalidations: 0,
    discardedFetches: 0,
    tooLarge: 0,
    securitySensitive: name.startsWith("tester"),
    patchedFetches: 0,
    adoptedEntries: 0,
    bypassedWhileMarkersUnreadable: 0,
    servedWhileMarkersUnreadable: 0,
    readThroughLookups: 0,
  };
}

function histogram(...samplesMs: number[]): FreshnessHistogram {
  const h = emptyHistogram();
  for (const ms of samplesMs) addSample(h, ms);
  return h;
}

function published(fn: string, instance: string, ageMs: number, fields: Partial<InstanceSnapshot> = {}): PublishedSnapshot {
  const publishedAtRedisMs = nowMs - ageMs;
  return {
    publishedAtRedisMs,
    snapshot: {
      v: 1,
      function: fn,
      instance,
      startedAtMs: publishedAtRedisMs - 60_000,
      publishedAtMs: publishedAtRedisMs - 3,
      caches: [],
      markers: { markerChecks: 10, markerCheckErrors: 0, markerChangesSeen: 1, trackedScopes: 4, markersHealthy: true },
      freshness: {},
      ...fields,
    },
  };
}

/** What an instance from before the Redis meter published. */
function withoutRedis(usage: FunctionUsage): FunctionUsage {
  const { redisCommands: _commands, redisCommandsByPurpose: _byPurpose, ...firestoreOnly } = usage;
  return firestoreOnly as FunctionUsage;
}

describe("fleetView (the cacheStats answer)", () => {
  it("freshness first, then live instances, totals per cache and per function, snapshot ages", () => {
    const view = fleetView(
      [
        published("getAvailableApps", "a1", 70_000, {
          caches: [cache("publicApps", 8, 2), cache("testerRecords", 3, 1)],
          freshness: { tester: histogram(300, 900) },
        }),
        // The same instance a minute later: only the newest counts.
        published("getAvailableApps", "a1", 10_000, {
          caches: [cache("publicApps", 18, 2), cache("testerRecords", 6, 2)],
          freshness: { tester: histogram(300, 900, 400) },
        }),
        published("getAvailableApps", "a2", 20_000, { caches: [cache("publicApps", 2, 8)], freshness: { apps: histogram(150) } }),
        published("getMentorNotificationFrequency", "m1", 5_000, { caches: [cache("mentorFrequency", 30, 10, 7)], freshness: { mentor: histogram(1200) } }),
        // Gone: older than the live window.
        published("getCredits", "c1", snapshotTtlMs + 1, { caches: [cache("credits", 5, 5)] }),
      ],
      nowMs,
      undefined,
      prices,
    );
    assert.deepEqual(Object.keys(view), ["freshness", "fleet", "caches", "markers", "functions", "spend", "instances"]);
    assert.equal(view.fleet.liveInstances, 3);
    assert.equal(view.fleet.functions, 2);
    assert.deepEqual([view.fleet.oldestSnapshotAgeMs, view.fleet.newestSnapshotAgeMs], [20_000, 5_000]);

    assert.deepEqual(
      [view.caches.publicApps?.hits, view.caches.publicApps?.misses, view.caches.publicApps?.instances, view.caches.publicApps?.hitRate],
      [20, 10, 2, 20 / 30],
    );
    assert.equal(view.caches.credits, undefined, "an expired snapshot counts for nothing");
    assert.equal(view.functions.getAvailableApps?.instances, 2);
    assert.equal(view.functions.getMentorNotificationFrequency?.caches.mentorFrequency?.entries, 7);
    assert.deepEqual([view.markers.markerChecks, view.markers.healthyInstances, view.markers.unhealthyInstances], [30, 3, 0]);

    assert.equal(view.freshness.promiseMs, 2_000);
    assert.equal(view.freshness.verdict, "kept");
    assert.deepEqual(Object.keys(view.freshness.byFamily), ["apps", "mentor", "tester"]);
    assert.deepEqual([view.freshness.byFamily.tester?.samples, view.freshness.byFamily.tester?.maxMs], [3, 900]);
    assert.deepEqual([view.freshness.overall.samples, view.freshness.overall.maxMs], [5, 1200]);
    assert.equal(view.functions.getAvailableApps?.freshness.samples, 4);

    const a1 = view.instances.find((i) => i.instance === "a1");
    assert.deepEqual([a1?.snapshotAgeMs, a1?.clockOffsetMs, a1?.lookups], [10_000, 3, 28]);
    assert.deepEqual(view.freshness.clockSkew, { maxAbsOffsetMs: 3, instancesMeasured: 3 });
  });

  it("spend per function: the meters' reads and writes added up, and a day's cost over each instance's uptime", () => {
    const usage = (requests: number, reads: number, writes: number, notFound = 0) => ({
      requests,
      reads,
      notFoundReads: notFound,
      writes,
      readsByCollection: { users: reads },
      writesByCollection: { hourly_usage: writes },
      cacheHits: requests - reads,
      readsSaved: 2 * (requests - reads),
      ...noRedisUsage(),
    });
    // Each instance has been up a minute: a day is 1,440 of them.
    const view = fleetView(
      [
        published("getCredits", "c1", 0, { usage: { getCredits: usage(100, 10, 0, 1) } }),
        published("getCredits", "c2", 0, { usage: { getCredits: usage(50, 5, 0) } }),
        published("recordTranscriptionUsage", "r1", 0, { usage: { recordTranscriptionUsage: usage(20, 2, 40) } }),
      ],
      nowMs,
      undefined,
      prices,
    );
    const credits = view.spend.byFunction.getCredits!;
    assert.deepEqual(
      [
        credits.instances,
        credits.requests,
        credits.reads,
        credits.notFoundReads,
        credits.readsPerRequest,
        credits.cacheHits,
        credits.readsSaved,
        credits.readsByCollection,
      ],
      [2, 150, 15, 1, 0.1, 135, 270, { users: 15 }],
    );
    const minutesPerDay = 1_440; // an uptime of just under a minute counts as one
    assert.ok(Math.abs(credits.estimatedUsdPerDay.reads - (15 * minutesPerDay * 0.06) / 100_000) < 1e-9);
    const record = view.spend.byFunction.recordTranscriptionUsage!;
    assert.ok(Math.abs(record.estimatedUsdPerDay.writes - (40 * minutesPerDay * 0.18) / 100_000) < 1e-9);
    assert.ok(Math.abs(view.spend.estimatedUsdPerDay - (credits.estimatedUsdPerDay.total + record.estimatedUsdPerDay.total)) < 1e-12);
  });

  it("a day's cost follows each instance's last minutes (between its snapshots in the stream), while the counts stay since its start", () => {
    const startedAtMs = nowMs - 10 * 60 * 60_000; // up ten hours, mostly idle
    const snapshotAt = (ageMs: number, reads: number, redisCommands: number, polls: number): PublishedSnapshot => {
      const entry = published("getCredits", "c1", ageMs, {
        usage: { getCredits: { ...noUsage(), requests: reads * 10, reads, redisCommands, redisCommandsByPurpose: { usageLedger: redisCommands } } },
        instanceWork: { redisCommands: polls, redisCommandsByPurpose: { markerPoll: polls } },
      });
      return { ...entry, snapshot: { ...entry.snapshot, startedAtMs } };
    };
    // Two minutes apart: 1,000 reads, 400 commands and 120 polls in the last two minutes.
    const view = fleetView([snapshotAt(150_000, 200, 100, 30), snapshotAt(30_000, 1_200, 500, 150)], nowMs, undefined, prices);
    const credits = view.spend.byFunction.getCredits!;
    assert.deepEqual([credits.instances, credits.requests, credits.reads, credits.redisCommands], [1, 12_000, 1_200, 500], "counts since the start");
    const spanMs = 120_000;
    const perDay = (count: number) => (count * 24 * 60 * 60_000) / spanMs / 100_000;
    assert.ok(Math.abs(credits.estimatedUsdPerDay.reads - perDay(1_000) * 0.06) < 1e-9, `reads $${credits.estimatedUsdPerDay.reads}`);
    assert.ok(Math.abs(credits.estimatedUsdPerDay.redis - perDay(400 + 120) * 0.2) < 1e-9, `redis $${credits.estimatedUsdPerDay.redis}`);
    // Over its ten hours' uptime the same counts would come to about a twentieth of that.
    const overUptime = fleetView([snapshotAt(30_000, 1_200, 500, 150)], nowMs, undefined, prices).spend.byFunction.getCredits!;
    assert.ok(overUptime.estimatedUsdPerDay.reads < credits.estimatedUsdPerDay.reads / 10);
    // Snapshots closer than the window, or from an earlier start of the same instance id, fall back to the uptime.
    const close = fleetView([snapshotAt(40_000, 1_100, 450, 140), snapshotAt(30_000, 1_200, 500, 150)], nowMs, undefined, prices).spend.byFunction.getCredits!;
    assert.ok(Math.abs(close.estimatedUsdPerDay.total - overUptime.estimatedUsdPerDay.total) < 1e-12);
    const restarted = snapshotAt(150_000, 900, 400, 100);
    const afterRestart = fleetView(
      [{ ...restarted, snapshot: { ...restarted.snapshot, startedAtMs: startedAtMs - 1 } }, snapshotAt(30_000, 1_200, 500, 150)],
      nowMs,
      undefined,
      prices,
    ).spend.byFunction.getCredits!;
    assert.ok(Math.abs(afterRestart.estimatedUsdPerDay.total - overUptime.estimatedUsdPerDay.total) < 1e-12);
  });

  it("Redis commands per function by purpose, the instances' own work beside them, both in a day's cost", () => {
    const credits: FunctionUsage = { ...noUsage(), requests: 10, redisCommands: 12, redisCommandsByPurpose: { usageLedger: 10, freemiumThreshold: 2 } };
    const view = fleetView(
      [
        published("recordTranscriptionUsage", "r1", 0, {
          usage: { recordTranscriptionUsage: credits },
          instanceWork: { redisCommands: 61, redisCommandsByPurpose: { markerPoll: 60, statsPublish: 1 } },
        }),
        published("recordTranscriptionUsage", "r2", 0, {
          usage: { recordTranscriptionUsage: { ...credits, redisCommands: 8, redisCommandsByPurpose: { usageLedger: 8 } } },
          instanceWork: { redisCommands: 30, redisCommandsByPurpose: { markerPoll: 30 } },
        }),
        // An instance from before the Redis meter: no Redis fields at all.
        published("getCredits", "c1", 0, { usage: { getCredits: withoutRedis({ ...noUsage(), requests: 4, reads: 4 }) } }),
      ],
      nowMs,
      undefined,
      prices,
    );
    const record = view.spend.byFunction.recordTranscriptionUsage!;
    assert.deepEqual(
      [record.redisCommands, record.redisCommandsByPurpose, record.redisCommandsPerRequest, record.instanceWork],
      [20, { usageLedger: 18, freemiumThreshold: 2 }, 1, { redisCommands: 91, redisCommandsByPurpose: { markerPoll: 90, statsPublish: 1 } }],
    );
    const minutesPerDay = 1_440;
    assert.ok(Math.abs(record.estimatedUsdPerDay.redis - ((20 + 91) * minutesPerDay * 0.2) / 100_000) < 1e-9);
    assert.ok(Math.abs(record.estimatedUsdPerDay.total - record.estimatedUsdPerDay.redis) < 1e-12, "no Firestore use: Redis is the whole cost");
    const old = view.spend.byFunction.getCredits!;
    assert.deepEqual([old.redisCommands, old.instanceWork.redisCommands, old.estimatedUsdPerDay.redis], [0, 0, 0]);
    assert.ok(Math.abs(view.spend.estimatedUsdPerDay - (record.estimatedUsdPerDay.total + old.estimatedUsdPerDay.total)) < 1e-12);

    const text = fleetText(view);
    const line = text.split("\n").find((l) => l.trimStart().startsWith("recordTranscriptionUsage ") && l.includes("$"));
    assert.ok(line, `a spend line for recordTranscriptionUsage in:\n${text}`);
    // requests, reads, reads/req, not found, writes, Redis commands (its requests' and its instances'), $/day
    assert.deepEqual(line.trim().split(/\s+/).slice(1), ["20", "0", "0.00", "0", "0", "111", `$${record.estimatedUsdPerDay.total.toFixed(2)}`]);
    assert.match(text, /redis, requests: usageLedger 18, freemiumThreshold 2; instance's own: markerPoll 90, statsPublish 1/);
    assert.match(text, /estimated spend, whole fleet: \$/);
  });

  it("a sample over 2 s anywhere in the fleet: verdict missed; no sample at all: nothing measured yet", () => {
    const missed = fleetView([published("getCredits", "c1", 1_000, { freshness: { credits: histogram(100, 2_400) } })], nowMs, undefined, prices);
    assert.deepEqual(
      [missed.freshness.verdict, missed.freshness.byFamily.credits?.overPromise, missed.freshness.byFamily.credits?.promiseKept],
      ["missed", 1, false],
    );
    assert.equal(fleetView([], nowMs, undefined, prices).freshness.verdict, "no changes measured yet");
    assert.equal(fleetView([], nowMs, undefined, prices).fleet.liveInstances, 0);
  });

  it("the answering instance's own figures, taken now, replace its published snapshot", () => {
    const stale = published("local", "me", 50_000, { caches: [cache("probeOpen", 1, 1)] });
    const own = { ...stale.snapshot, caches: [cache("probeOpen", 9, 1)] };
    const view = fleetView([stale], nowMs, own, prices);
    assert.equal(view.fleet.liveInstances, 1);
    assert.equal(view.caches.probeOpen?.hits, 9);
    assert.equal(view.instances[0]?.snapshotAgeMs, 0);
  });
});
