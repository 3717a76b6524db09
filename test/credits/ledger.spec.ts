/**
 * The fleet's usage figure (functions/src/credits/ledger.ts) on the real Redis behind the
 * Upstash gateway: counts and rebuilds in every order they can arrive in, each report once.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { UtcMonth } from "../../functions/src/common/utc-month";
import { CountedReport, redisUsageLedger, ThresholdAsk, usageLogWindowMs, usageScope } from "../../functions/src/credits/ledger";
import { thresholdKey } from "../../functions/src/credits/threshold";
import { markerKey } from "../../functions/src/redis/markers";
import { testRedis } from "../support/redis";

const month: UtcMonth = { year: 2026, month: 12 };
const ledger = redisUsageLedger;
const nowUs = () => Date.now() * 1000;
const noThreshold: ThresholdAsk = { sessionId: "s", limitSeconds: 1_000_000, thresholdSeconds: 180, mayFire: false };

function reportOf(uid: string, seconds: number, committedAtUs: number, key = `r:${randomUUID()}`): CountedReport {
  return { uid, month, reportKey: key, seconds, committedAtUs };
}

async function used(uid: string, report?: CountedReport): Promise<number | undefined> {
  return (await ledger.count(uid, month, report, noThreshold))?.usage?.usedSeconds;
}

describe("the fleet usage ledger (real Redis)", () => {
  it("has no figure until a rebuild; a report counted before it is in the rebuild when committed after its read", async () => {
    const uid = `ledger-${randomUUID()}`;
    const readAtUs = nowUs();
    const early = reportOf(uid, 30, readAtUs - 1_000); // committed before the read: in its sum
    const late = reportOf(uid, 45, readAtUs + 1_000); // committed after: not in the sum
    assert.equal(await used(uid, early), undefined, "no figure yet");
    assert.equal(await used(uid, late), undefined);
    const rebuilt = await ledger.rebuild(uid, month, 1_030, readAtUs);
    assert.equal(rebuilt?.usedSeconds, 1_075, "the sum (with the early report) plus the late one");
    assert.equal(await used(uid, late), 1_075, "the late report's count again changes nothing");
    assert.equal(await used(uid, early), 1_075);
    assert.equal(await testRedis().get(markerKey(usageScope(uid, month))), "1075", "the figure is the marker the poll reads");
  });

  it("counts a report once, and not at all when its commit is already in the base", async () => {
    const uid = `ledger-${randomUUID()}`;
    const readAtUs = nowUs();
    await ledger.rebuild(uid, month, 100, readAtUs);
    const after = reportOf(uid, 60, readAtUs + 10);
    assert.equal(await used(uid, after), 160);
    assert.equal(await used(uid, after), 160, "the same report again: no change");
    assert.equal(await used(uid, reportOf(uid, 20, readAtUs)), 160, "committed at the read time: already in the sum");
    assert.equal(await used(uid, reportOf(uid, 20, readAtUs + 20)), 180, "another report counts");
  });

  it("keeps the newest base: an older rebuild changes nothing, a newer one recomputes from the log", async () => {
    const uid = `ledger-${randomUUID()}`;
    const t0 = nowUs() - 5_000_000;
    await ledger.rebuild(uid, month, 100, t0);
    const r1 = reportOf(uid, 10, t0 + 1_000_000);
    const r2 = reportOf(uid, 20, t0 + 3_000_000);
    assert.equal(await used(uid, r1), 110);
    assert.equal(await used(uid, r2), 130);
    assert.equal((await ledger.rebuild(uid, month, 50, t0 - 1))?.usedSeconds, 130, "an older read is ignored");
    // A read at t0 + 2 s saw r1 (and 100 s of the old usage); r2 came after it.
    assert.equal((await ledger.rebuild(uid, month, 110, t0 + 2_000_000))?.usedSeconds, 130);
    // A correction made in Firestore behind the ledger's back (say usage deleted by hand) shows at the next rebuild.
    assert.equal((await ledger.rebuild(uid, month, 40, t0 + 4_000_000))?.usedSeconds, 40);
  });

  it("ignores a rebuild read, or a count committed, longer ago than the log reaches", async () => {
    const uid = `ledger-${randomUUID()}`;
    const tooOldUs = nowUs() - (usageLogWindowMs + 60_000) * 1000;
    assert.equal(await ledger.rebuild(uid, month, 500, tooOldUs), undefined, "no figure from a read the log cannot complete");
    await ledger.rebuild(uid, month, 500, nowUs());
    assert.equal(await used(uid, reportOf(uid, 99, tooOldUs)), 500, "a count too late to tell from a retry waits for the next rebuild");
  });

  it("decides the threshold with the figure: once per session at or below it, never again in that session, never by a duplicate", async () => {
    const uid = `ledger-${randomUUID()}`;
    const readAtUs = nowUs();
    await ledger.rebuild(uid, month, 1_500, readAtUs);
    const ask = (sessionId: string, mayFire = true): ThresholdAsk => ({ sessionId, limitSeconds: 1_800, thresholdSeconds: 180, mayFire });
    const count = (seconds: number, sessionId: string, mayFire = true) =>
      ledger.count(uid, month, reportOf(uid, seconds, nowUs()), ask(sessionId, mayFire)).then((answer) => answer?.thresholdFired);
    assert.equal(await count(100, "s1"), false, "200 s left");
    assert.equal(await count(20, "s1", false), false, "180 s, reached by a delivery that may not fire (a duplicate)");
    assert.equal(await testRedis().get(thresholdKey(uid, "s1")), null);
    assert.equal(await count(10, "s1"), true, "170 s: the first report that may fire, at or below 180 s");
    assert.equal(await count(10, "s1"), false, "once per session");
    assert.equal(await count(0, "s2"), true, "another session of the same user");
    await ledger.rebuild(uid, month, 0, nowUs()); // a new allowance (say, usage corrected)
    assert.equal(await count(0, "s1"), false, "above the threshold again");
    await ledger.rebuild(uid, month, 1_700, nowUs());
    assert.equal(await count(0, "s1"), false, "and below it again: still once per session");
  });
});
