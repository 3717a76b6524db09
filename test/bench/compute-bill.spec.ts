/**
 * The compute bill's model (bench/compute-bill.ts) on hand-made request timelines: busy
 * intervals are the union of an instance's requests, each rounded up to 100 ms, requests in
 * flight together share the time, instances never do, and the dollars follow from the billed
 * seconds, the instance's vCPU and GiB, and a price per invocation.
 */
import assert from "node:assert/strict";
import { billedIntervals, busyIntervals, computeBill, functionsPerMillion, functionsPrices, functionShape, spreadOverStep } from "../../bench/compute-bill";

const span = (instance: number, startMs: number, endMs: number) => ({ instance, startMs, endMs });
const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

describe("bench compute bill: busy intervals", () => {
  it("merges overlapping and touching requests, keeps apart those with a gap", () => {
    assert.deepEqual(
      busyIntervals([
        { startMs: 0, endMs: 30 },
        { startMs: 10, endMs: 50 },
        { startMs: 50, endMs: 60 },
        { startMs: 200, endMs: 210 },
      ]),
      [
        [0, 60],
        [200, 210],
      ],
    );
  });

  it("does not depend on the order the requests are given in", () => {
    assert.deepEqual(
      busyIntervals([
        { startMs: 200, endMs: 210 },
        { startMs: 10, endMs: 50 },
        { startMs: 0, endMs: 30 },
      ]),
      [
        [0, 50],
        [200, 210],
      ],
    );
  });

  it("keeps a request inside another's interval within it", () => {
    assert.deepEqual(
      busyIntervals([
        { startMs: 0, endMs: 500 },
        { startMs: 100, endMs: 120 },
      ]),
      [[0, 500]],
    );
  });
});

describe("bench compute bill: billed time and dollars", () => {
  it("rounds each busy interval up to 100 ms on its own", () => {
    // Two 6.5 ms requests 1 s apart: two intervals, 100 ms each.
    const bill = computeBill([span(0, 0, 6.5), span(0, 1000, 1006.5)]);
    assert.equal(bill.busyIntervals, 2);
    assert.equal(bill.busyMs, 13);
    assert.equal(bill.billedMs, 200);
    assert.equal(bill.handlerMs, 13);
  });

  it("bills requests in flight together on one instance once", () => {
    // Three requests overlapping within 0–72.6 ms: one interval of 72.6 ms, billed 100 ms.
    const bill = computeBill([span(0, 0, 72.6), span(0, 5, 40), span(0, 20, 70)]);
    assert.equal(bill.busyIntervals, 1);
    close(bill.busyMs, 72.6);
    assert.equal(bill.billedMs, 100);
    assert.equal(bill.maxInFlight, 3);
  });

  it("bills a request that starts inside the previous interval's rounded-up 100 ms within it: never more than the time that passes", () => {
    // 5 ms requests every 50 ms for 1 s: 20 busy intervals, but the instance is billed 1 s, not 2 s.
    const spans = Array.from({ length: 20 }, (_, k) => span(0, k * 50, k * 50 + 5));
    const bill = computeBill(spans);
    assert.equal(bill.busyMs, 100);
    assert.equal(bill.billedMs, 1000);
    // Billed 100 ms at a time: each one starting where the last ended (0, 100, ..., 900).
    assert.equal(bill.busyIntervals, 10);
  });

  it("joins a busy interval starting in the previous billed tail and rounds the joined one from its start", () => {
    assert.deepEqual(
      billedIntervals(
        [
          [0, 30],
          [90, 130],
          [300, 310],
        ],
        100,
      ),
      [
        [0, 200],
        [300, 400],
      ],
    );
    // Starting exactly where the billed tail ends is a new interval.
    assert.deepEqual(
      billedIntervals(
        [
          [0, 30],
          [100, 110],
        ],
        100,
      ),
      [
        [0, 100],
        [100, 200],
      ],
    );
  });

  it("bills the same times on different instances apart (instances share nothing)", () => {
    const bill = computeBill([span(0, 0, 50), span(1, 0, 50)]);
    assert.equal(bill.busyIntervals, 2);
    assert.equal(bill.billedMs, 200);
    assert.equal(bill.maxInFlight, 1);
  });

  it("rounds an interval just over 100 ms up to 200 ms, and one of exactly 100 ms not at all", () => {
    assert.equal(computeBill([span(0, 0, 100)]).billedMs, 100);
    assert.equal(computeBill([span(0, 0, 100.1)]).billedMs, 200);
  });

  it("prices billed seconds by the instance's vCPU and GiB, and each invocation", () => {
    // 10 s billed on a 1 vCPU, 0.25 GiB instance, 4 invocations.
    const spans = [span(0, 0, 2500), span(0, 2500, 5000), span(1, 0, 2500), span(1, 10_000, 12_500)];
    const bill = computeBill(spans, { ...functionShape, vcpu: 1, memoryGiB: 0.25 }, functionsPrices);
    assert.equal(bill.billedMs, 10_000);
    close(bill.usd.cpu, 10 * 0.000024);
    close(bill.usd.memory, 10 * 0.25 * 0.0000025);
    close(bill.usd.invocations, (4 * 0.4) / 1_000_000);
    close(bill.usd.total, bill.usd.cpu + bill.usd.memory + bill.usd.invocations);
    close(bill.usd.compute, bill.usd.cpu + bill.usd.memory);
  });

  it("scales to 1M requests: 1M requests each alone in 100 ms cost $0.40 + 100,000 s of 1 vCPU and 0.25 GiB", () => {
    const perMillion = functionsPerMillion(computeBill([span(0, 0, 6.5), span(0, 1000, 1006.5)]));
    close(perMillion.invocations, 0.4);
    close(perMillion.compute, 100_000 * (0.000024 + 0.25 * 0.0000025));
    assert.equal(perMillion.billedMsPerRequest, 100);
    assert.deepEqual(functionsPerMillion(computeBill([])), { invocations: 0, compute: 0, total: 0, billedMsPerRequest: 0 });
  });

  it("lists the prices and defaults the issue gives", () => {
    assert.equal(functionsPrices.invocationsPerMillionUsd, 0.4);
    assert.equal(functionsPrices.vcpuSecondUsd, 0.000024);
    assert.equal(functionsPrices.gibSecondUsd, 0.0000025);
    assert.equal(functionsPrices.billingGranularityMs, 100);
    assert.deepEqual([functionShape.memoryGiB, functionShape.vcpu, functionShape.concurrency], [0.25, 1, 80]);
  });
});

describe("bench compute bill: a step's requests on the timeline", () => {
  it("spreads an instance's requests of a step evenly over it, the first at its start", () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((k) => spreadOverStep(1000, 250, k, 4)),
      [1000, 1062.5, 1125, 1187.5],
    );
    assert.equal(spreadOverStep(1000, 250, 0, 1), 1000);
  });
});
