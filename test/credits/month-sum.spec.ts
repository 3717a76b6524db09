/**
 * Credits at list prices: a Redis command ($0.20 per 100K) costs more than a Firestore read
 * ($0.06), so counting a report into the fleet's Redis figure would cost more than the one
 * read it spares. Every answer sums the month in Firestore instead (credits/credit-cache.ts):
 * exact at its read time on every instance, with no ledger command. Two instance processes at
 * the default prices, on the real emulator and Redis. The figure's own specs (fleet.spec.ts,
 * credits.spec.ts) run on instances priced as a fixed Upstash plan.
 */
import assert from "node:assert/strict";
import { cacheNames } from "../../functions/src/cache/names";
import { utcMonthOf } from "../../functions/src/common/utc-month";
import { usageScope } from "../../functions/src/credits/ledger";
import { UsageResult } from "../../functions/src/credits/usage";
import { markerKey } from "../../functions/src/redis/markers";
import { Instance } from "../../scripts/harness/instance";
import { newUid, paidSubscription, seedUsage, usageCol, userDoc } from "../support/credits";
import { nextPoll, onManualClocks, useInstancePair } from "../support/instance";
import { restartTestRedis, testRedis } from "../support/redis";
import { stack, triggersSettled } from "../support/stack";

describe("credits at list prices: every answer sums the month in Firestore", function () {
  this.timeout(90_000);
  let a: Instance;
  let b: Instance;
  useInstancePair((x, y) => ([a, b] = [x, y]));

  const record = (on: Instance, uid: string, transcriptionSeconds: number, reportId: string, sessionId = "s1") =>
    on.call<UsageResult>("recordTranscriptionUsage", { sessionId, reportId, transcriptionSeconds }, { uid });
  const remainingOn = async (on: Instance, uid: string) => (await on.call<{ remainingSeconds: number | null }>("getCredits", {}, { uid })).remainingSeconds;
  const aggregations = () => stack().reads.byMethod().RunAggregationQuery ?? 0;
  const ledgerCommands = async (on: Instance) =>
    Object.values((await on.stats()).usage).reduce((sum, usage) => sum + (usage.redisCommandsByPurpose.usageLedger ?? 0), 0);

  it("a session's reports alternate between instances: each instance answers every report at once, and the threshold fires once", async () => {
    const uid = newUid("sum");
    await seedUsage(uid, 1_500); // 300 s left
    assert.deepEqual([await remainingOn(a, uid), await remainingOn(b, uid)], [300, 300]);
    const ledgerBefore = (await ledgerCommands(a)) + (await ledgerCommands(b));
    const fired: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const [on, other] = i % 2 === 0 ? [a, b] : [b, a];
      const expected = 300 - 30 * (i + 1);
      const answer = await record(on, uid, 30, `s1-${i}`);
      assert.equal(answer.remainingSeconds, expected, `report ${i}: the reporting instance's answer includes it`);
      fired.push(answer.freemiumThresholdReached);
      // No poll needed: the other instance's next answer reads the sum, which holds the commit.
      assert.equal(await remainingOn(other, uid), expected, `report ${i}: the other instance answers it at once`);
    }
    // 270, 240, 210, 180 (at or below the threshold: fires), 150, 120.
    assert.deepEqual(fired, [false, false, false, true, false, false], "fired exactly once, on the report that reached 180 s");
    assert.equal((await ledgerCommands(a)) + (await ledgerCommands(b)) - ledgerBefore, 0, "no usage-ledger command");
    assert.equal(await testRedis().get(markerKey(usageScope(uid, utcMonthOf(new Date())))), null, "no fleet figure in Redis");
  });

  it("a warm call costs one aggregation and at most one user-document read; an unlimited plan reads no sum", async () => {
    const uid = newUid("sum");
    await seedUsage(uid, 100);
    assert.equal((await record(a, uid, 60, "warm-0")).remainingSeconds, 1_640);
    for (const call of [() => record(a, uid, 60, "warm-1"), () => a.call("getCredits", {}, { uid })]) {
      stack().reads.reset();
      await call();
      assert.equal(aggregations(), 1, "the month's sum, once");
      // The plan: from the cache when a poll confirms it, or read again where that poll would cost more.
      assert.ok(stack().reads.total() <= 2, `${stack().reads.total()} reads: the sum and at most the user document`);
    }
    assert.equal(await remainingOn(a, uid), 1_580);

    const unlimited = newUid("sum");
    await userDoc(unlimited).set({ subscription: paidSubscription("pro") });
    await triggersSettled();
    stack().reads.reset();
    assert.equal((await record(a, unlimited, 600, "pro-0")).remainingSeconds, null);
    assert.equal(await remainingOn(a, unlimited), null);
    assert.equal(aggregations(), 0, "an unlimited plan sums nothing");
  });

  it("an instance busy with another function still reads the user document rather than poll for a rare credits call: a poll is weighed by its own function's requests", async () => {
    const uid = newUid("sum");
    await seedUsage(uid, 100);
    const mentorUid = newUid("sum-mentor");
    await onManualClocks([a], async () => {
      await a.call("getCredits", {}, { uid });
      // 40 mentor calls at one instant: the instance serves 40 requests per 10 s, enough that a poll
      // shared by all of them would cost each less than a read, but none of them is a credits call.
      await Promise.all(Array.from({ length: 40 }, () => a.call("getMentorNotificationFrequency", {}, { uid: mentorUid })));
      await nextPoll(a);
      const credits = async () => (await a.stats()).caches.find((cache) => cache.name === cacheNames.credits)!;
      const [lookupsBefore, pollsBefore] = [(await credits()).readThroughLookups, (await a.stats()).markers.markerChecks];
      assert.equal(await remainingOn(a, uid), 1_700);
      assert.equal((await credits()).readThroughLookups - lookupsBefore, 1, "the due credits lookup read its source");
      assert.equal((await a.stats()).markers.markerChecks, pollsBefore, "and sent no poll");
    });
  });

  it("a duplicate answers the current sum with duplicate: true and never fires the threshold", async () => {
    const uid = newUid("sum");
    await seedUsage(uid, 1_550); // 250 s left
    assert.deepEqual(await record(a, uid, 80, "s1-low"), {
      remainingSeconds: 170,
      hasCredits: true,
      freemiumThresholdReached: true,
      action: "setup_on_device_stt",
    });
    assert.deepEqual(await record(b, uid, 80, "s1-low"), {
      remainingSeconds: 170,
      hasCredits: true,
      freemiumThresholdReached: false,
      action: "none",
      duplicate: true,
    });
    assert.equal(
      (await usageCol(uid).get()).docs.reduce((sum, doc) => sum + Number(doc.get("transcription_seconds")), 0),
      1_630,
    );
  });

  it("with Redis down, every answer is still the exact sum; the threshold is decided on the instance", async () => {
    const uid = newUid("sum");
    await seedUsage(uid, 1_000); // 800 s left
    assert.equal(await remainingOn(a, uid), 800);
    await stack().redis.stop();
    try {
      assert.equal((await record(a, uid, 100, "down-0")).remainingSeconds, 700);
      assert.equal((await record(b, uid, 100, "down-1")).remainingSeconds, 600, "B's answer holds A's report");
      assert.equal(await remainingOn(a, uid), 600, "and A's holds B's");
      const low = await record(a, uid, 500, "down-2", "outage");
      assert.deepEqual([low.remainingSeconds, low.freemiumThresholdReached], [100, true], "threshold decided on the instance while Redis is away");
      assert.equal((await record(a, uid, 0, "down-3", "outage")).freemiumThresholdReached, false);
    } finally {
      await restartTestRedis();
    }
    assert.deepEqual([await remainingOn(a, uid), await remainingOn(b, uid)], [100, 100]);
  });
});
