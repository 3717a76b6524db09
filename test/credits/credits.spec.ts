import assert from "node:assert/strict";
import type * as AdminFirestore from "firebase-admin/firestore";
import { thresholdKey } from "../../functions/src/credits/threshold";
import { hourlyUsageWrite, UsageResult } from "../../functions/src/credits/usage";
import { newUid, paidSubscription, seedUsage, usageCol, userDoc } from "../support/credits";
import { firebaseAdminFirestore } from "../../scripts/stack/functions-deps";
import { CallableError, Instance } from "../../scripts/harness/instance";
import { fixedUpstashPlan, useInstancePair } from "../support/instance";
import { restartTestRedis, testRedis } from "../support/redis";
import { stack, triggersSettled } from "../support/stack";

const { FieldValue } = firebaseAdminFirestore();

// On a fixed Upstash plan a command costs less than a read: credits keep the fleet's figure in
// Redis (credits/ledger.ts). At list prices every answer sums the month instead: month-sum.spec.ts.
describe("transcription credits, with the fleet's figure (a fixed Upstash plan)", function () {
  this.timeout(60_000);
  let a: Instance;
  let b: Instance;

  useInstancePair((x, y) => ([a, b] = [x, y]), fixedUpstashPlan);

  const record = (on: Instance, uid: string, transcriptionSeconds: number, sessionId = "s1", extra: Record<string, unknown> = {}) =>
    on.call<UsageResult>("recordTranscriptionUsage", { sessionId, transcriptionSeconds, ...extra }, { uid });
  const aggregations = () => stack().reads.byMethod().RunAggregationQuery ?? 0;

  describe("input", () => {
    for (const [label, data, field] of [
      ["negative seconds", { sessionId: "s", transcriptionSeconds: -1 }, /transcriptionSeconds/],
      ["fractional seconds", { sessionId: "s", transcriptionSeconds: 1.5 }, /transcriptionSeconds/],
      ["over an hour", { sessionId: "s", transcriptionSeconds: 3601 }, /transcriptionSeconds/],
      ["a sessionId with a slash", { sessionId: "a/b", transcriptionSeconds: 1 }, /sessionId/],
      ["a missing sessionId", { transcriptionSeconds: 1 }, /sessionId/],
      ["negative words", { sessionId: "s", transcriptionSeconds: 1, wordsTranscribed: -3 }, /wordsTranscribed/],
      ["an unknown field", { sessionId: "s", transcriptionSeconds: 1, extra: 1 }, /extra/],
    ] as const) {
      it(`rejects ${label} with invalid-argument and writes nothing`, async () => {
        const uid = newUid();
        await assert.rejects(a.call("recordTranscriptionUsage", data, { uid }), (e: CallableError) => {
          assert.equal(e.status, "INVALID_ARGUMENT");
          assert.match(e.message, field);
          return true;
        });
        assert.equal((await usageCol(uid).get()).size, 0);
      });
    }

    it("requires a signed-in user for both callables", async () => {
      await assert.rejects(
        a.call("recordTranscriptionUsage", { sessionId: "s", transcriptionSeconds: 1 }),
        (e: CallableError) => e.status === "UNAUTHENTICATED",
      );
      await assert.rejects(a.call("getCredits", {}), (e: CallableError) => e.status === "UNAUTHENTICATED");
    });
  });

  describe("usage documents", () => {
    it("increments this UTC hour's document and answers the basic remainder", async () => {
      const uid = newUid();
      const before = new Date();
      assert.deepEqual(await record(a, uid, 60, "s1", { wordsTranscribed: 150 }), {
        remainingSeconds: 1740,
        hasCredits: true,
        freemiumThresholdReached: false,
        action: "none",
      });
      await record(b, uid, 45);
      const docs = (await usageCol(uid).get()).docs;
      assert.equal(docs.length, 1, "one document per hour");
      const doc = docs[0]!;
      assert.match(doc.id, /^\d{4}-\d{2}-\d{2}-\d{2}$/);
      assert.equal(doc.get("id"), doc.id);
      assert.equal(doc.get("transcription_seconds"), 105, "both reports summed server-side");
      assert.equal(doc.get("year"), before.getUTCFullYear());
      assert.equal(doc.get("month"), before.getUTCMonth() + 1);
      assert.equal(doc.get("hour"), Number(doc.id.slice(11)));
      assert.ok(doc.get("last_updated"), "last_updated is set");
      // Re-measured on @firestore-emulator/server 0.3.15: two increments in one write are both
      // applied (the gap is a serverTimestamp followed by another transform, which this write avoids).
      assert.equal(doc.get("words_transcribed"), 150, "the write's second increment applied server-side");
    });

    it("the one write carries server increments for both counters", () => {
      const { id, data } = hourlyUsageWrite(new Date(Date.UTC(2026, 0, 31, 23, 59)), 42, 7);
      assert.equal(id, "2026-01-31-23");
      assert.ok((data.transcription_seconds as AdminFirestore.FieldValue).isEqual(FieldValue.increment(42)));
      assert.ok((data.words_transcribed as AdminFirestore.FieldValue).isEqual(FieldValue.increment(7)));
      assert.deepEqual([data.year, data.month, data.day, data.hour, data.id], [2026, 1, 31, 23, "2026-01-31-23"]);
    });

    it("writes nothing when both counters are 0, and still answers", async () => {
      const uid = newUid();
      const result = await record(a, uid, 0, "s1", { wordsTranscribed: 0 });
      assert.equal(result.remainingSeconds, 1800);
      assert.equal((await usageCol(uid).get()).size, 0);
    });
  });

  describe("the credit cache", () => {
    it("follows its own reports between refreshes without a read, and clamps at 0", async () => {
      const uid = newUid();
      await seedUsage(uid, 1700);
      assert.equal((await record(a, uid, 0)).remainingSeconds, 100);
      stack().reads.reset();
      assert.equal((await record(a, uid, 60)).remainingSeconds, 40);
      const clamped = await record(a, uid, 60);
      assert.equal(clamped.remainingSeconds, 0, "never below 0");
      assert.equal(clamped.hasCredits, false);
      assert.equal(stack().reads.total(), 0, "served from the cache, not re-read");
      // getCredits reads the same entry.
      assert.deepEqual(await a.call("getCredits", {}, { uid }), { remainingSeconds: 0, plan: "basic" });
      assert.equal(stack().reads.total(), 0);
    });

    it("never decrements unlimited (null)", async () => {
      const uid = newUid();
      await userDoc(uid).set({ subscription: paidSubscription("pro") });
      await triggersSettled();
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await record(a, uid, 3600), { remainingSeconds: null, hasCredits: true, freemiumThresholdReached: false, action: "none" });
      }
      assert.deepEqual(await a.call("getCredits", {}, { uid }), { remainingSeconds: null, plan: "pro" });
    });

    it("counts an invalid or lapsed paid subscription as basic", async () => {
      const lapsed = newUid();
      const malformed = newUid();
      await userDoc(lapsed).set({ subscription: paidSubscription("unlimited", Math.floor(Date.now() / 1000) - 60) });
      await userDoc(malformed).set({ subscription: { plan: "platinum", status: "active" } });
      await triggersSettled();
      assert.deepEqual(await a.call("getCredits", {}, { uid: lapsed }), { remainingSeconds: 1800, plan: "basic" });
      assert.deepEqual(await a.call("getCredits", {}, { uid: malformed }), { remainingSeconds: 1800, plan: "basic" });
    });

    it("re-checks a 0 after 60 s, and anything after 15 min", async () => {
      const uid = newUid();
      await seedUsage(uid, 1800);
      await a.useManualClock();
      try {
        assert.equal((await record(a, uid, 0)).remainingSeconds, 0);
        await usageCol(uid)
          .doc((await usageCol(uid).get()).docs[0]!.id)
          .set({ transcription_seconds: 1000 }, { merge: true });
        await a.advanceClock(59_000);
        assert.equal((await record(a, uid, 0)).remainingSeconds, 0, "0 is trusted for 60 s");
        await a.advanceClock(1_000);
        assert.equal((await record(a, uid, 0)).remainingSeconds, 800, "0 re-checked at 60 s");
        await seedUsage(uid, 200, new Date(), 5);
        await a.advanceClock(14 * 60_000 + 59_000);
        assert.equal((await record(a, uid, 0)).remainingSeconds, 800, "a non-zero value is trusted for 15 min");
        await a.advanceClock(2_000);
        assert.equal((await record(a, uid, 0)).remainingSeconds, 600, "refreshed once 15 min old");
      } finally {
        await a.useSystemClock();
      }
    });

    it("one live session calling once a minute for an hour costs at most 5 refreshes", async () => {
      const uid = newUid();
      await a.useManualClock();
      try {
        stack().reads.reset();
        let last: UsageResult | undefined;
        for (let minute = 0; minute < 60; minute++) {
          last = await record(a, uid, 20, "hour-session");
          await a.advanceClock(60_000);
        }
        const refreshes = aggregations();
        assert.ok(refreshes >= 1 && refreshes <= 5, `${refreshes} refreshes for 60 calls`);
        assert.ok(stack().reads.total() <= 2 * refreshes, `${stack().reads.total()} reads: user document + usage sum per refresh`);
        assert.equal(last?.remainingSeconds, 1800 - 60 * 20, "the local decrements add up to what was recorded");
      } finally {
        await a.useSystemClock();
      }
    });
  });

  describe("the freemium threshold", () => {
    it("fires once per session across two instances, and again for a new session", async () => {
      const uid = newUid();
      await seedUsage(uid, 1550); // 250 s left
      assert.equal((await record(a, uid, 60)).freemiumThresholdReached, false, "190 s left");
      const onB = await record(b, uid, 60); // B refreshes: 130 s left
      assert.deepEqual(onB, { remainingSeconds: 130, hasCredits: true, freemiumThresholdReached: true, action: "setup_on_device_stt" });
      const onA = await record(a, uid, 10); // the fleet's figure: 250 - 130 = 120, not A's own 180
      assert.deepEqual([onA.remainingSeconds, onA.freemiumThresholdReached, onA.action], [120, false, "none"]);
      assert.equal((await record(b, uid, 10)).freemiumThresholdReached, false);
      assert.equal((await record(a, uid, 10, "s2")).freemiumThresholdReached, true, "another session of the same user");
      assert.equal((await record(b, uid, 10, "s2")).freemiumThresholdReached, false);
    });

    it("a new month brings a new allowance and a new figure; the threshold stays once per session", async () => {
      const uid = newUid();
      await seedUsage(uid, 1700);
      await a.useManualClock();
      try {
        assert.equal((await record(a, uid, 0, "long")).freemiumThresholdReached, true);
        assert.equal((await record(a, uid, 0, "long")).freemiumThresholdReached, false);
        const now = new Date();
        const nextMonthMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1, 1);
        await a.advanceClock(nextMonthMs - now.getTime());
        const fresh = await record(a, uid, 60, "long");
        assert.deepEqual([fresh.remainingSeconds, fresh.freemiumThresholdReached], [1740, false], "a new month's allowance");
        const next = new Date(nextMonthMs);
        const ids = (await usageCol(uid).get()).docs.map((d) => d.id);
        assert.ok(
          ids.some((id) => id.startsWith(`${next.getUTCFullYear()}-${String(next.getUTCMonth() + 1).padStart(2, "0")}-01-`)),
          `usage went to the new month: ${ids}`,
        );
        const low = await record(a, uid, 1600, "long");
        assert.deepEqual([low.remainingSeconds, low.freemiumThresholdReached, low.action], [140, false, "none"], "the contract: once per session");
        assert.equal(await testRedis().get(thresholdKey(uid, "long")), "1", "the session's key stays for its 48 h");
        const otherSession = await record(a, uid, 0, "next");
        assert.deepEqual([otherSession.remainingSeconds, otherSession.freemiumThresholdReached], [140, true], "a new session at or below 180 s");
      } finally {
        await a.useSystemClock();
      }
    });
  });

  describe("with Redis down", () => {
    it("still answers credits: cached within TTL with local decrements, uncached from Firestore", async () => {
      const cached = newUid();
      const uncached = newUid();
      await seedUsage(cached, 1000);
      assert.equal((await record(a, cached, 0)).remainingSeconds, 800);
      await stack().redis.stop();
      try {
        stack().reads.reset();
        const result = await record(a, cached, 100);
        assert.equal(result.remainingSeconds, 700);
        assert.equal(aggregations(), 0, "the cached entry was served (and decremented) without a refresh");
        assert.deepEqual(await a.call("getCredits", {}, { uid: uncached }), { remainingSeconds: 1800, plan: "basic" });
        const low = await record(a, cached, 600, "outage");
        assert.deepEqual([low.remainingSeconds, low.freemiumThresholdReached], [100, true], "threshold decided on the instance while Redis is away");
        assert.equal((await record(a, cached, 0, "outage")).freemiumThresholdReached, false);
      } finally {
        await restartTestRedis();
      }
    });
  });
});
