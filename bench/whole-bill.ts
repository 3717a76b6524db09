/**
 * The whole bill of a phase: what Firestore and Redis cost (bench/pricing.ts) beside what Cloud
 * Functions bill for the requests themselves (bench/compute-bill.ts), per function and in all,
 * from the handler times the driver measured for each request (bench/driver.ts `timed`).
 */
import { ComputeBill, computeBill, FunctionsPerMillion, functionsPerMillion, functionShape, functionsPrices } from "./compute-bill";
import type { CostPerMillion } from "./pricing";

/** One request the driver sent and timed: its function, instance, where the bill's timeline starts it, and its measured handler time. */
export interface TimedRequest {
  name: string;
  instance: number;
  /** Simulated ms at which the bill places its start (`spreadOverStep`). */
  startMs: number;
  /** Wall ms from sending the call to its answer (or error), as the driver measured it. */
  handlerMs: number;
}

/** One function's requests of a phase, billed, and the same per 1M of its requests. */
export interface FunctionBill extends ComputeBill {
  perMillionUsd: FunctionsPerMillion;
  /** Median of the measured handler times (ms). */
  handlerP50Ms: number;
}

/** Invocations and compute of a phase: per function (each its own service) and summed. */
export interface FunctionsFigures {
  byFunction: Record<string, FunctionBill>;
  /** The functions' bills summed. */
  all: Omit<ComputeBill, "maxInFlight"> & { maxInFlight: number };
  /** Per 1M timed requests of the phase's mix. */
  perMillionUsd: FunctionsPerMillion;
}

/** The whole bill of 1M requests (USD): Firestore + Redis as before, with invocations and compute beside it. */
export interface WholeBillPerMillion {
  firestoreAndRedis: number;
  invocations: number;
  compute: number;
  total: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)]!;
};

/** Bills each function's timed requests on its own timeline (a request ends its measured handler time after its start). */
export function functionsFigures(timed: readonly TimedRequest[]): FunctionsFigures {
  const names = [...new Set(timed.map((t) => t.name))].sort();
  const byFunction: Record<string, FunctionBill> = {};
  const all = {
    requests: 0,
    handlerMs: 0,
    busyMs: 0,
    billedMs: 0,
    busyIntervals: 0,
    maxInFlight: 0,
    usd: { invocations: 0, cpu: 0, memory: 0, compute: 0, total: 0 },
  };
  for (const name of names) {
    const ofName = timed.filter((t) => t.name === name);
    const bill = computeBill(ofName.map((t) => ({ instance: t.instance, startMs: t.startMs, endMs: t.startMs + t.handlerMs })));
    byFunction[name] = { ...bill, perMillionUsd: functionsPerMillion(bill), handlerP50Ms: median(ofName.map((t) => t.handlerMs)) };
    all.requests += bill.requests;
    all.handlerMs += bill.handlerMs;
    all.busyMs += bill.busyMs;
    all.billedMs += bill.billedMs;
    all.busyIntervals += bill.busyIntervals;
    all.maxInFlight = Math.max(all.maxInFlight, bill.maxInFlight);
    for (const key of Object.keys(all.usd) as (keyof typeof all.usd)[]) all.usd[key] += bill.usd[key];
  }
  return { byFunction, all, perMillionUsd: functionsPerMillion(all) };
}

/** Firestore + Redis of 1M requests beside invocations and compute of 1M: the whole bill. */
export function wholeBillPerMillion(storage: CostPerMillion, functions: FunctionsPerMillion): WholeBillPerMillion {
  return {
    firestoreAndRedis: storage.total,
    invocations: functions.invocations,
    compute: functions.compute,
    total: storage.total + functions.total,
  };
}

/** The compute model in a sentence, for the tables' notes: what `computeBill` assumes, with its prices and sources. */
export function computeModelText(): string {
  const p = functionsPrices;
  const s = functionShape;
  return (
    `Invocations and compute (bench/compute-bill.ts): $${p.invocationsPerMillionUsd.toFixed(2)} per 1M requests; an instance is billed while busy, the union of the [start, end) of the requests in flight on it ` +
    `(requests in flight together share it), each busy interval rounded up to ${p.billingGranularityMs} ms (one starting inside the previous one's rounded-up tail billed within it: never more than the time that passes), at $${p.vcpuSecondUsd} per vCPU-second and $${p.gibSecondUsd} per GiB-second ` +
    `(${p.source}), on the firebase-functions v2 default instance of ${s.memoryGiB * 1024} MiB and ${s.vcpu} vCPU, concurrency ${s.concurrency} (${s.source}). ` +
    `A request's time is its handler time as the driver measured it (wall ms from sending the call to its answer, local HTTP included); the bench sends a step's requests to an instance together, ` +
    `the bill spreads them evenly over the step (Poisson arrivals given their count are uniform over the interval). Each function is its own service: its requests share busy intervals only with its own. ` +
    `The free tiers (${p.freeTier.invocations.toLocaleString("en-US")} invocations, ${p.freeTier.vcpuSeconds.toLocaleString("en-US")} vCPU-s, ${p.freeTier.gibSeconds.toLocaleString("en-US")} GiB-s a month per billing account) are not applied: the bill is overstated by at most their worth. ` +
    `Change commits sent by the harness (not through the driver's calls) are not timed.`
  );
}
