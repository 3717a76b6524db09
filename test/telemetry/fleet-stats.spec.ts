/**
 * Fleet-wide cacheStats against the real stack: instance processes labelled as different
 * functions (FUNCTION_TARGET, as Cloud Run and the Functions emulator set it) publish their
 * snapshots to the real Redis behind the Upstash gateway; a third one, labelled cacheStats,
 * adds them up. Freshness is measured from a real tester change whose marker the deployed
 * `onTesterWritten` trigger bumps in the Functions emulator.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { snapshotTtlMs } from "../../functions/src/telemetry/fleet-stats";
import { FleetView } from "../../functions/src/telemetry/fleet-view";
import { firestore } from "../../functions/src/firestore";
import { statsStreamKey } from "../../functions/src/redis/keys";
import { unsignedIdToken } from "../../scripts/harness/id-tokens";
import { Instance, startInstance } from "../../scripts/harness/instance";
import { fixedUpstashPlan, nextPoll, pollIntervalMs, specInstanceEnv } from "../support/instance";
import { markerVersion } from "../support/redis";
import { stack, triggersSettled } from "../support/stack";
import { waitUntil } from "../support/wait";

const adminToken = () => unsignedIdToken("fleet-admin", { admin: true });

describe("fleet-wide cacheStats (instances publish, cacheStats adds up)", function () {
  this.timeout(90_000);
  const started: Instance[] = [];
  let redis: Redis;

  async function instanceOf(fn: string, extraEnv: Record<string, string> = {}): Promise<Instance> {
    const instance = await startInstance(specInstanceEnv({ FUNCTION_TARGET: fn, ...extraEnv }));
    started.push(instance);
    return instance;
  }

  async function fleet(via: Instance): Promise<FleetView> {
    const response = await via.request("cacheStats", { headers: { authorization: `Bearer ${adminToken()}` } });
    assert.equal(response.status, 200);
    return (await response.json()) as FleetView;
  }

  /** This instance's entries in the snapshot stream, read straight from redis-server. */
  async function publishedBy(instanceId: string): Promise<{ id: string; snapshot: { caches: { name: string; hits: number }[] } }[]> {
    const entries = await redis.xrange(statsStreamKey, "-", "+");
    return entries
      .map(([id, fields]) => ({
        id,
        snapshot: JSON.parse(fields[fields.indexOf("s") + 1] ?? "{}") as { instance: string; caches: { name: string; hits: number }[] },
      }))
      .filter((entry) => entry.snapshot.instance === instanceId);
  }

  async function commandCalls(command: string): Promise<number> {
    const info = await redis.info("commandstats");
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  }

  before(() => {
    redis = new Redis(stack().redis.url);
  });

  after(async () => {
    await Promise.all(started.map((instance) => instance.stop()));
    redis.disconnect();
  });

  it("an instance publishes at most once a minute, riding on its marker poll: 3 snapshots in 3 minutes of polls every interval", async () => {
    // Priced as a fixed Upstash plan, a poll is free: the instance polls every interval (at list
    // prices a quiet one reads its documents instead: the test below).
    const mentor = await instanceOf("getMentorNotificationFrequency", fixedUpstashPlan);
    await mentor.useManualClock();
    const { instance } = (await mentor.stats()).instance;
    const uid = `fleet-${randomUUID()}`;
    const before = { polls: (await mentor.stats()).markers.markerChecks, xadds: await commandCalls("xadd") };
    // A call every poll interval for 3 minutes: each finds a poll due.
    const intervals = Math.floor(180_000 / pollIntervalMs);
    for (let interval = 0; interval <= intervals; interval++) {
      await mentor.call("getMentorNotificationFrequency", {}, { uid });
      await mentor.advanceClock(pollIntervalMs);
    }
    const polls = (await mentor.stats()).markers.markerChecks - before.polls;
    const published = await publishedBy(instance);
    assert.equal(polls, intervals + 1, "one marker poll per interval");
    // Not at the first poll (it comes before the first lookup): at the second (one interval in), then a minute and two minutes later.
    assert.equal(published.length, 3, "one XADD per instance-minute");
    assert.equal((await commandCalls("xadd")) - before.xadds, 3, "and no other XADD reached Redis");
    const last = published.at(-1)?.snapshot.caches.find((c) => c.name === "mentorFrequency");
    assert.ok(last && last.hits >= 100, `the last snapshot carries the figures: ${JSON.stringify(last)}`);
  });

  it("a quiet instance that reads its documents instead of polling still publishes every 2 minutes (live: within 3): the publish asks for the poll", async () => {
    const mentor = await instanceOf("getMentorNotificationFrequency");
    await mentor.useManualClock();
    const { instance } = (await mentor.stats()).instance;
    const uid = `fleet-quiet-${randomUUID()}`;
    const before = (await mentor.stats()).markers.markerChecks;
    // One call every 10 s: too few for a poll to cost a call less than a document read.
    for (let call = 0; call <= 25; call++) {
      await mentor.call("getMentorNotificationFrequency", {}, { uid });
      await mentor.advanceClock(10_000);
    }
    const polls = (await mentor.stats()).markers.markerChecks - before;
    const published = await publishedBy(instance);
    assert.equal(published.length, 3, "published at 10, 130 and 250 s (after its first lookup, then when overdue)");
    assert.equal(polls, 3, "a poll only when a publish rides on it");
  });

  it("cacheStats as an admin: measured freshness first, figures per function, live instances and snapshot ages", async () => {
    const apps = await instanceOf("getAvailableApps");
    const mentor = await instanceOf("getMentorNotificationFrequency");
    const stats = await instanceOf("cacheStats");
    const r = randomUUID().slice(0, 8);
    const tester = `fleet-tester-${r}`;
    const appId = `fleet-beta-${r}`;
    await firestore()
      .collection("apps")
      .doc(appId)
      .set({
        id: appId,
        name: "Fleet beta",
        uid: `dev-${r}`,
        private: false,
        approved: false,
        status: "under-review",
        disabled: false,
        category: "productivity",
        description: "",
        image: "",
        capabilities: [],
        created_at: new Date(),
      });
    await triggersSettled();
    const servedIds = async () => (await apps.call<{ apps: { id: string }[] }>("getAvailableApps", {}, { uid: tester })).apps.map((app) => app.id);
    // The apps instance on a manual clock: its marker polls come exactly when the spec moves it.
    await apps.useManualClock();
    await nextPoll(apps);
    assert.ok(!(await servedIds()).includes(appId), "not a tester yet");
    await nextPoll(apps);
    await servedIds(); // this poll reads the tester's marker (none yet)

    // A tester change: the instance answers from its cached record until its next poll, whose
    // reply is the first answer with the tester app, and it measures how long it could have
    // answered from the old version since the marker write.
    const markerBefore = await markerVersion(`tester:${tester}`);
    await firestore()
      .collection("testers")
      .doc(tester)
      .set({ uid: tester, apps: [appId], added_at: new Date() });
    await waitUntil(async () => (await markerVersion(`tester:${tester}`)) !== markerBefore, "the trigger to bump the marker");
    assert.ok(!(await servedIds()).includes(appId), "no poll since: the cached tester record");
    await nextPoll(apps);
    assert.ok((await servedIds()).includes(appId), "the next poll read the bump");
    const measured = (await apps.stats()).freshness.tester;
    assert.ok(measured && measured.samples >= 1, `the instance measured the change: ${JSON.stringify(measured)}`);

    // Snapshots go out at most once a minute: move both instances a minute on, then one call each.
    await mentor.useManualClock();
    await mentor.call("getMentorNotificationFrequency", {}, { uid: `fleet-${r}` });
    await mentor.call("getMentorNotificationFrequency", {}, { uid: `fleet-${r}` });
    for (const instance of [apps, mentor]) await instance.advanceClock(60_000);
    await apps.call("getAvailableApps", {}, { uid: tester });
    await mentor.call("getMentorNotificationFrequency", {}, { uid: `fleet-${r}` });

    const view = await fleet(stats);
    assert.equal(Object.keys(view)[0], "freshness", "freshness is the first thing cacheStats shows");
    assert.equal(view.freshness.promiseMs, 2_000);
    const appsFreshness = view.functions.getAvailableApps?.freshness;
    assert.ok(appsFreshness && appsFreshness.samples >= 1, `getAvailableApps published its measurement: ${JSON.stringify(appsFreshness)}`);
    // On the manual clock a sample is clamped between the poll that last read the old version and
    // the one that read the new (MarkerWatcher.noteChange): at most the one interval the spec
    // moved the clock. The wall-clock figure against the 2 s promise is the benchmark's (docs/bench.md).
    assert.ok(appsFreshness.maxMs !== null && appsFreshness.maxMs <= pollIntervalMs, `within one poll interval: ${JSON.stringify(appsFreshness)}`);
    assert.ok((view.freshness.byFamily.tester?.samples ?? 0) >= 1);

    // (The previous test's instance is live too: its snapshot outlives it by up to 3 minutes.)
    assert.ok((view.functions.getAvailableApps?.instances ?? 0) >= 1);
    assert.ok((view.functions.getMentorNotificationFrequency?.instances ?? 0) >= 1);
    assert.equal(view.functions.cacheStats, undefined, "the cacheStats instance served no cached read: nothing to report");
    assert.ok((view.functions.getAvailableApps?.caches.testerRecords?.hits ?? 0) >= 1, JSON.stringify(view.functions.getAvailableApps?.caches));
    assert.ok((view.functions.getMentorNotificationFrequency?.caches.mentorFrequency?.hits ?? 0) >= 1);
    assert.ok((view.caches.publicApps?.misses ?? 0) >= 1, "totals per cache");
    assert.ok(view.fleet.liveInstances >= 2);

    const ids = [(await apps.stats()).instance.instance, (await mentor.stats()).instance.instance];
    for (const id of ids) {
      const line = view.instances.find((i) => i.instance === id);
      assert.ok(line, `instance ${id} is listed`);
      assert.ok(line.snapshotAgeMs >= 0 && line.snapshotAgeMs < snapshotTtlMs, `snapshot age ${line.snapshotAgeMs} ms`);
      assert.equal(line.markersHealthy, true);
      assert.ok(line.clockOffsetMs !== null && Math.abs(line.clockOffsetMs) < 1_000, `same machine, same clock: ${line.clockOffsetMs} ms`);
    }

    const other = await stats.request("cacheStats", { headers: { authorization: `Bearer ${unsignedIdToken("fleet-user")}` } });
    assert.equal(other.status, 403);
  });

  it("a snapshot expires when its instance stops publishing: out of cacheStats at once, out of Redis at the next publish", async () => {
    const stats = await instanceOf("cacheStats");
    const apps = await instanceOf("getAvailableApps");
    // A snapshot published just over the live window ago by an instance that is gone.
    await redis.del(statsStreamKey);
    const ghostAtMs = Date.now() - snapshotTtlMs - 5_000;
    const ghost = {
      v: 1,
      function: "ghost",
      instance: "gone",
      startedAtMs: ghostAtMs - 1,
      publishedAtMs: ghostAtMs,
      caches: [],
      freshness: {},
      markers: { markerChecks: 1, markerCheckErrors: 0, markerChangesSeen: 0, trackedScopes: 1, markersHealthy: true },
    };
    await redis.xadd(statsStreamKey, `${ghostAtMs}-0`, "s", JSON.stringify(ghost));
    assert.equal((await fleet(stats)).functions.ghost, undefined, "older than the live window: not counted");

    // Its second poll publishes (the first comes before any lookup).
    const uid = `fleet-${randomUUID()}`;
    await apps.useManualClock();
    await apps.call("getAvailableApps", {}, { uid });
    await apps.advanceClock(pollIntervalMs);
    await apps.call("getAvailableApps", {}, { uid });
    const remaining = await redis.xrange(statsStreamKey, "-", "+");
    assert.ok(remaining.length >= 1, "the live instance published");
    assert.ok(!remaining.some(([id]) => id === `${ghostAtMs}-0`), "its publish trimmed the expired snapshot");
  });
});
