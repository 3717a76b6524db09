/**
 * Aggregation vs document scan for the monthly usage sum, at the worst case the contract
 * names (~744 hourly documents: a 31-day month with usage every hour). Prints the figures
 * quoted in docs/credits-and-stripe.md:
 *   npx mocha test/credits/usage-sum.spec.ts
 */
import assert from "node:assert/strict";
import { monthQuery, monthUsageSeconds, usageField } from "../../functions/src/credits/remaining";
import { hourlyUsageDocId } from "../../functions/src/credits/time";
import { firestore } from "../../functions/src/firestore";
import { newUid, usageCol } from "../support/credits";
import { stack } from "../support/stack";

describe("monthly usage sum: aggregation vs scan", function () {
  this.timeout(60_000);

  it("both give the same sum over 744 hourly documents; the aggregation is billed 1 read, the scan 744", async () => {
    const uid = newUid("sum");
    const month = { year: 2026, month: 1 };
    let expected = 0;
    for (let day = 1; day <= 31; day += 10) {
      const batch = firestore().batch();
      for (let d = day; d < Math.min(day + 10, 32); d++) {
        for (let hour = 0; hour < 24; hour++) {
          const id = hourlyUsageDocId(new Date(Date.UTC(2026, 0, d, hour)));
          const seconds = (d * 24 + hour) % 50;
          expected += seconds;
          batch.set(usageCol(uid).doc(id), { transcription_seconds: seconds, words_transcribed: 1, year: 2026, month: 1, day: d, hour, id });
        }
      }
      await batch.commit();
    }
    // Another month's documents must not count.
    const february = hourlyUsageDocId(new Date(Date.UTC(2026, 1, 1, 0)));
    await usageCol(uid).doc(february).set({ transcription_seconds: 999, year: 2026, month: 2, day: 1, hour: 0, id: february });

    const measure = async (label: string, run: () => Promise<number>) => {
      await run(); // warm the channel
      stack().reads.reset();
      const rounds = 10;
      const startedAt = performance.now();
      let sum = 0;
      for (let i = 0; i < rounds; i++) sum = await run();
      const ms = (performance.now() - startedAt) / rounds;
      const reads = stack().reads.total() / rounds;
      console.log(`      ${label}: sum ${sum}, ${reads} billed reads, ${ms.toFixed(1)} ms per sum (mean of ${rounds}, local server)`);
      return { sum, reads, ms };
    };
    // The document scan production does not use, measured on the same query: what the aggregation saves.
    const monthUsageByScan = async () => {
      const snapshot = await monthQuery(firestore(), uid, month).select(usageField).get();
      return snapshot.docs.reduce((total, doc) => total + (doc.get(usageField) as number), 0);
    };
    const aggregation = await measure("aggregation", () => monthUsageSeconds(uid, month));
    const scan = await measure("scan       ", monthUsageByScan);
    assert.equal(aggregation.sum, expected);
    assert.equal(scan.sum, expected);
    assert.equal(aggregation.reads, 1);
    assert.equal(scan.reads, 744);
  });
});
