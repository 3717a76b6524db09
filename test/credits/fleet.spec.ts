/**
 * Credits as a fleet sees them: two instance processes (own module scopes) on the real
 * Firestore emulator and the real Redis behind the Upstash gateway, reports landing on either,
 * delivered more than once, and Redis lost and back.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { utcMonthOf } from "../../functions/src/common/utc-month";
import { creditsTtlMs } from "../../functions/src/credits/credit-cache";
import { usageScope } from "../../functions/src/credits/ledger";
import { commitReport, UsageResult, usageReportsCollection } from "../../functions/src/credits/usage";
import { markerKey } from "../../functions/src/redis/markers";
import { CallableError, Instance } from "../../scripts/harness/instance";
import { newUid, seedUsage, usageCol, userDoc } from "../support/credits";
import { fixedUpstashPlan, nextPoll, onManualClocks, useInstancePair } from "../support/instance";
import { restartTestRedis, testRedis } from "../support/redis";
import { stack } from "../support/stack";
import { waitUntil } from "../support/wait";

// The fleet's figure in Redis: kept where a command costs less than a read (a fixed Upstash plan).
describe("credits across the fleet, with the fleet's figure (a fixed Upstash plan)", function () {
  this.timeout(90_000);
  let a: Instance;
  let b: Instance;
  useInstancePair((x, y) => ([a, b] = [x, y]), fixedUpstashPlan);

  const record = (on: Instance, uid: string, transcriptionSeconds: number, reportId: string | undefined, sessionId = "s1") =>
    on.call<UsageResult>("recordTranscriptionUsage", { sessionId, transcriptionSeconds, ...(reportId ? { reportId } : {}) }, { uid });
  const remainingOn = async (on: Instance, uid: string) => (await on.call<{ remainingSeconds: number | null }>("getCredits", {}, { uid })).remainingSeconds;
  const storedSeconds = async (uid: string) => (await usageCol(uid).get()).docs.reduce((sum, doc) => sum + Number(doc.get("transcription_seconds")), 0);
  const fleetFigure = async (uid: string) => testRedis().get<string>(markerKey(usageScope(uid, utcMonthOf(new Date()))));

  /**
   * Waits until both instances' getCredits answer `expected` (instances on their system clocks,
   * in tests whose point is not how soon: that is checked on manual clocks).
   */
  const bothAnswer = (uid: string, expected: number) =>
    waitUntil(async () => (await remainingOn(a, uid)) === expected && (await remainingOn(b, uid)) === expected, `both instances to answer ${expected}`);

  it("a session's reports alternate between instances: after each, the other answers the same figure at its next marker poll, and the threshold fires once", async () => {
    // Both instances on manual clocks: a poll comes exactly one interval on (nextPoll), so "every
    // instance reflects a report within one poll interval (+ one marker read)" is checked as a
    // mechanism on any machine; the wall-clock figure against the 2 s promise is the
    // benchmark's (docs/bench.md).
    const uid = newUid("fleet");
    await seedUsage(uid, 1_500); // 300 s left
    await onManualClocks([a, b], async () => {
      // Each instance has the user's entry, and a poll has read the user's usage marker.
      for (let round = 0; round < 2; round++) {
        if (round > 0) await nextPoll(a, b);
        assert.deepEqual([await remainingOn(a, uid), await remainingOn(b, uid)], [300, 300]);
      }
      const fired: boolean[] = [];
      for (let i = 0; i < 6; i++) {
        const [on, other] = i % 2 === 0 ? [a, b] : [b, a];
        const expected = 300 - 30 * (i + 1);
        const answer = await record(on, uid, 30, `s1-${i}`);
        assert.equal(answer.remainingSeconds, expected, `report ${i}: the reporting instance answers the fleet's figure`);
        fired.push(answer.freemiumThresholdReached);
        assert.equal(await remainingOn(on, uid), expected, `report ${i}: the reporting instance's next answer includes it at once`);
        assert.equal(await remainingOn(other, uid), expected + 30, `report ${i}: the other instance has not polled since`);
        await nextPoll(a, b);
        assert.equal(await remainingOn(other, uid), expected, `report ${i}: the other instance's next poll read the fleet's figure`);
        assert.equal(await remainingOn(on, uid), expected);
      }
      // 270, 240, 210, 180 (at or below the threshold: fires), 150, 120.
      assert.deepEqual(fired, [false, false, false, true, false, false], "fired exactly once, on the report that reached 180 s");
    });
  });

  it("20 concurrent deliveries of one report all answer; it is stored and counted once", async () => {
    const uid = newUid("fleet");
    const deliveries = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => record(i % 2 === 0 ? a : b, uid, 60, "s1-once")));
    const answers = deliveries.map((d) => {
      assert.equal(d.status, "fulfilled", d.status === "rejected" ? String(d.reason) : "");
      return (d as PromiseFulfilledResult<UsageResult>).value;
    });
    assert.equal(answers.filter((r) => r.duplicate !== true).length, 1, "one delivery applied the report");
    assert.ok(answers.filter((r) => r.duplicate === true).length === 19, "the others answer duplicate: true");
    for (const answer of answers) assert.equal(answer.remainingSeconds, 1_740, "every answer includes the report, once");
    assert.equal(await storedSeconds(uid), 60, "stored once");
    assert.equal((await userDoc(uid).collection(usageReportsCollection).get()).size, 1, "one dedupe record");
    assert.equal(await fleetFigure(uid), "60", "counted once");
    await bothAnswer(uid, 1_740);
  });

  it("10 distinct concurrent reports all add up, on both instances", async () => {
    const uid = newUid("fleet");
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => record(i % 2 === 0 ? a : b, uid, 10, `s1-${i}`)));
    assert.ok(
      answers.every((r) => r.duplicate === undefined),
      "none is a duplicate",
    );
    assert.equal(Math.min(...answers.map((r) => r.remainingSeconds ?? Infinity)), 1_700, "the last counted answers all ten");
    assert.equal(await storedSeconds(uid), 100);
    assert.equal(await fleetFigure(uid), "100");
    await bothAnswer(uid, 1_700);
  });

  it("a duplicate answers the current figure with duplicate: true and never fires the threshold", async () => {
    const uid = newUid("fleet");
    await seedUsage(uid, 1_550); // 250 s left
    const first = await record(a, uid, 80, "s1-low");
    assert.deepEqual(first, { remainingSeconds: 170, hasCredits: true, freemiumThresholdReached: true, action: "setup_on_device_stt" });
    const retried = await record(b, uid, 80, "s1-low");
    assert.deepEqual(retried, { remainingSeconds: 170, hasCredits: true, freemiumThresholdReached: false, action: "none", duplicate: true });
    assert.equal(await storedSeconds(uid), 1_550 + 80);
  });

  it("a reportId reused with other content (seconds, words or session) is refused with already-exists naming it, and changes nothing", async () => {
    const uid = newUid("fleet");
    const reportId = "s1-0001";
    const original = { sessionId: "s1", reportId, transcriptionSeconds: 30, wordsTranscribed: 70 };
    assert.equal((await a.call<UsageResult>("recordTranscriptionUsage", original, { uid })).remainingSeconds, 1_770);
    // Everything the report touched, in Firestore and in Redis (every key naming the user).
    const state = async () => {
      const documents = async (name: string) => (await userDoc(uid).collection(name).get()).docs.map((doc) => [doc.id, doc.data()]);
      const redis = testRedis();
      const keys = (await redis.keys(`*${uid}*`)).sort();
      const valueOf = async (key: string) => {
        const type = await redis.type(key);
        if (type === "string") return redis.get(key);
        if (type === "zset") return redis.zrange(key, 0, -1, { withScores: true });
        if (type === "set") return (await redis.smembers(key)).sort();
        if (type === "hash") return redis.hgetall(key);
        return assert.fail(`${key}: a ${type} this check cannot read`);
      };
      const values = await Promise.all(keys.map(async (key) => [key, await valueOf(key)]));
      return { hours: await documents("hourly_usage"), reports: await documents(usageReportsCollection), redis: values };
    };
    const before = await state();
    for (const [change, field] of [
      [{ transcriptionSeconds: 31 }, "transcriptionSeconds"],
      [{ wordsTranscribed: 71 }, "wordsTranscribed"],
      [{ sessionId: "s2" }, "sessionId"],
    ] as const) {
      await assert.rejects(b.call("recordTranscriptionUsage", { ...original, ...change }, { uid }), (e: CallableError) => {
        assert.equal(e.status, "ALREADY_EXISTS", `${field}: ${e.message}`);
        assert.match(e.message, new RegExp(reportId), "the message names the reportId");
        assert.match(e.message, new RegExp(field), "and the field that differs");
        return true;
      });
    }
    assert.deepEqual(await state(), before, "nothing written in Firestore or Redis");
    const resent = await b.call<UsageResult>("recordTranscriptionUsage", original, { uid });
    assert.deepEqual([resent.duplicate, resent.remainingSeconds], [true, 1_770], "the original resent still answers duplicate: true");
    assert.equal(await storedSeconds(uid), 30);
  });

  it("rejects a malformed reportId with invalid-argument and writes nothing", async () => {
    const uid = newUid("fleet");
    for (const reportId of ["a/b", "", "x".repeat(129), "..", 7]) {
      await assert.rejects(a.call("recordTranscriptionUsage", { sessionId: "s", reportId, transcriptionSeconds: 5 }, { uid }), (e: CallableError) => {
        assert.equal(e.status, "INVALID_ARGUMENT");
        assert.match(e.message, /reportId/);
        return true;
      });
    }
    assert.equal((await usageCol(uid).get()).size, 0);
    assert.equal((await userDoc(uid).collection(usageReportsCollection).get()).size, 0);
  });

  it("a report committed by a process that died before counting it is in every figure within the 15 min refresh; a retry counts it at once", async () => {
    const uid = newUid("fleet");
    const late = newUid("fleet");
    // Both clocks manual: the 15 min refresh, and the poll that carries a figure to the other
    // instance, are exact without sleeping.
    await onManualClocks([a, b], async () => {
      for (const user of [uid, late]) {
        assert.equal((await record(a, user, 60, "s1-0")).remainingSeconds, 1_740);
        // B's entry, then a poll on each that reads the user's usage marker.
        await remainingOn(b, user);
        await nextPoll(a, b);
        assert.deepEqual([await remainingOn(a, user), await remainingOn(b, user)], [1_740, 1_740]);
        // The commit that a dying instance made, exactly as the handler makes it, and no count.
        await commitReport(user, { sessionId: "s1", reportId: "s1-1", transcriptionSeconds: 100 }, new Date());
        assert.equal(await storedSeconds(user), 160);
      }
      assert.equal(await remainingOn(a, uid), 1_740, "the gap: the figure misses the report for now");

      // The client retries the report (it never got an answer): the retry completes the count.
      const retried = await record(b, late, 100, "s1-1");
      assert.deepEqual([retried.remainingSeconds, retried.duplicate], [1_640, true]);
      assert.equal(await remainingOn(b, late), 1_640);
      await nextPoll(a);
      assert.equal(await remainingOn(a, late), 1_640, "A's next poll reads the completed count");

      // No retry: the bound is the refresh. A's entry is 15 min old on its clock: it re-reads
      // Firestore and rebuilds the figure, and B follows at its next poll.
      await a.advanceClock(creditsTtlMs);
      assert.equal(await remainingOn(a, uid), 1_640, "A's refresh rebuilt the figure from Firestore");
      await nextPoll(b);
      assert.equal(await remainingOn(b, uid), 1_640, "B's next poll read the rebuilt figure");
      assert.equal(await fleetFigure(uid), "160");
    });
  });

  it("Redis lost and back: the figure is rebuilt from Firestore with every report once", async () => {
    const uid = newUid("fleet");
    assert.equal((await record(a, uid, 60, "s1-0")).remainingSeconds, 1_740);
    await bothAnswer(uid, 1_740);
    await stack().redis.stop();
    try {
      // Each instance answers from what it knew plus its own reports (the reference's way).
      assert.equal((await record(a, uid, 60, "s1-1")).remainingSeconds, 1_680);
      assert.equal((await record(b, uid, 60, "s1-2")).remainingSeconds, 1_680);
      const retry = await record(b, uid, 60, "s1-1");
      assert.equal(retry.duplicate, true, "a retry while Redis is down is still recognised (by Firestore)");
      assert.equal(await storedSeconds(uid), 180);
    } finally {
      await restartTestRedis();
    }
    // The restarted Redis is empty: every instance rebuilds the figure from Firestore.
    await bothAnswer(uid, 1_620);
    assert.equal(await fleetFigure(uid), "180", "three reports, each once");
    const next = await record(b, uid, 60, "s1-3");
    assert.equal(next.remainingSeconds, 1_560);
    await bothAnswer(uid, 1_560);
  });

  it("usage is stored per report id under the user, and the figure is keyed by month", async () => {
    const uid = newUid("fleet");
    const reportId = `r-${randomUUID()}`;
    await record(a, uid, 42, reportId);
    const stored = await userDoc(uid).collection(usageReportsCollection).doc(reportId).get();
    assert.equal(stored.get("transcription_seconds"), 42);
    assert.equal(stored.get("session_id"), "s1");
    const expiresInMs = stored.get("expires_at").toMillis() - Date.now();
    assert.ok(expiresInMs > 47 * 3_600_000 && expiresInMs <= 48 * 3_600_000, `kept for 48 h (expires in ${expiresInMs} ms)`);
    assert.equal(await fleetFigure(uid), "42");
  });
});
