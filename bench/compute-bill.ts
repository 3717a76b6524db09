/**
 * What Cloud Functions (2nd gen, on Cloud Run) bill for the requests themselves: invocations
 * and compute, from each request's [start, end) on its instance. Pure: no I/O, no clock.
 *
 * The model (request-based billing, the default for functions; every figure sourced in
 * `functionsPrices` and `functionShape`):
 * - an instance is billed only while it is busy: the union of the [start, end) intervals of the
 *   requests it is serving, so requests in flight together share the time;
 * - each busy interval (a maximal stretch with at least one request in flight) is rounded up to
 *   the next 100 ms; a busy interval that starts inside the previous one's rounded-up tail is
 *   billed as part of it (that time is billed already: an instance is never billed more than
 *   the time that passes, however its requests fall);
 * - billed seconds × (vCPU × price per vCPU-second + GiB × price per GiB-second);
 * - plus a price per invocation, whatever the request did.
 * The free tiers are ignored (`functionsPrices.freeTier` is recorded, not applied): they are per
 * billing account, shared with everything else it runs, and at omi's size they are a rounding
 * error; ignoring them overstates a small app's bill by at most their worth (stated where shown).
 * Each function is its own Cloud Run service (its own instances), so a bill is per function:
 * requests of different functions never share a busy interval.
 */

/**
 * List prices of Cloud Run functions (Cloud Functions for Firebase 2nd gen), tier 1 regions
 * (us-central1, where functions/src/index.ts deploys), request-based billing.
 */
export const functionsPrices = {
  asOf: "2026-11-25",
  invocationsPerMillionUsd: 0.4,
  vcpuSecondUsd: 0.000024,
  gibSecondUsd: 0.0000025,
  /** Each busy interval of an instance is billed rounded up to this. */
  billingGranularityMs: 100,
  /** Per billing account and month; recorded, not applied (see the module comment). */
  freeTier: { invocations: 2_000_000, vcpuSeconds: 180_000, gibSeconds: 360_000 },
  source:
    "issue #28, quoting cloud.google.com/run/pricing (request-based billing: $0.40 per 1M requests, $0.000024 per vCPU-second, $0.0000025 per GiB-second, " +
    "each busy interval rounded up to 100 ms; not re-fetched here, no internet); the same rates and free tier are in firebase-tools 15.34.2 " +
    "lib/deploy/functions/pricing.js (V2_RATES tier 1: invocations 4e-7, vCpu 0.000024, memoryGb 0.0000025; V2_FREE_TIER: 2M invocations, 180,000 vCPU-s, 360,000 GiB-s)",
};

/** The size of each function's instance: firebase-functions v2 defaults, as this project leaves them (it sets neither memory nor cpu). */
export const functionShape = {
  memoryGiB: 0.25,
  vcpu: 1,
  /** Requests one instance serves at once (functions/src/index.ts sets 80, the default). */
  concurrency: 80,
  source:
    "firebase-tools 15.34.2 lib/deploy/functions/backend.js: DEFAULT_MEMORY 256 (MiB), memoryToGen2Cpu(256) = 1 vCPU, DEFAULT_CONCURRENCY 80 when cpu ≥ 1; " +
    "functions/src/index.ts setGlobalOptions sets concurrency 80 and no memory or cpu",
};

export type FunctionsPrices = typeof functionsPrices;
export type FunctionShape = typeof functionShape;

/** One request on the timeline: the instance that served it and when its handler ran (ms on one clock). */
export interface RequestSpan {
  instance: number;
  startMs: number;
  endMs: number;
}

/** The busy intervals of one instance: the union of its requests' [start, end), in order, as [start, end) pairs. */
export function busyIntervals(spans: readonly Pick<RequestSpan, "startMs" | "endMs">[]): [number, number][] {
  const sorted = [...spans].sort((a, b) => a.startMs - b.startMs);
  const intervals: [number, number][] = [];
  for (const { startMs, endMs } of sorted) {
    const last = intervals.at(-1);
    // A request starting as the last one ends keeps the instance busy: one interval.
    if (last && startMs <= last[1]) last[1] = Math.max(last[1], endMs);
    else intervals.push([startMs, Math.max(startMs, endMs)]);
  }
  return intervals;
}

/**
 * The billed intervals of one instance: its busy intervals, each rounded up to `granularityMs`
 * from its start; a busy interval starting before the previous billed interval ends joins it,
 * and the joined interval is rounded up again from its start. Billed time never exceeds the
 * time from the first start to the last end, plus one `granularityMs`.
 */
export function billedIntervals(busy: readonly [number, number][], granularityMs: number): [number, number][] {
  const billed: [number, number][] = [];
  const roundedEnd = (start: number, end: number) => start + Math.ceil((end - start) / granularityMs) * granularityMs;
  for (const [start, end] of busy) {
    const last = billed.at(-1);
    if (last && start < last[1]) last[1] = roundedEnd(last[0], Math.max(end, last[1]));
    else billed.push([start, roundedEnd(start, end)]);
  }
  return billed;
}

/** What one function's requests were billed for compute and invocations. */
export interface ComputeBill {
  requests: number;
  /** Sum of the handlers' own times (what no sharing would bill, before rounding). */
  handlerMs: number;
  /** Sum of the busy intervals' lengths over every instance. */
  busyMs: number;
  /** The billed intervals (`billedIntervals`: busy intervals rounded up to `billingGranularityMs`), summed. */
  billedMs: number;
  /** How many billed intervals. */
  busyIntervals: number;
  /** The most requests in flight on one instance at once (above `concurrency`, Cloud Run would have started another instance: not modelled). */
  maxInFlight: number;
  usd: { invocations: number; cpu: number; memory: number; compute: number; total: number };
}

/** The most requests in flight at once among `spans` (an end at t frees its slot before a start at t). */
function maxInFlightOf(spans: readonly RequestSpan[]): number {
  const events = spans.flatMap((s) => [
    [s.startMs, 1],
    [s.endMs, -1],
  ]) as [number, number][];
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let max = 0;
  for (const [, delta] of events) {
    inFlight += delta;
    max = Math.max(max, inFlight);
  }
  return max;
}

/** One function's bill for `spans` (its requests, on its instances), at `prices` for an instance of `shape`. */
export function computeBill(spans: readonly RequestSpan[], shape: FunctionShape = functionShape, prices: FunctionsPrices = functionsPrices): ComputeBill {
  const byInstance = new Map<number, RequestSpan[]>();
  for (const span of spans) byInstance.set(span.instance, [...(byInstance.get(span.instance) ?? []), span]);
  let busyMs = 0;
  let billedMs = 0;
  let intervals = 0;
  let maxInFlight = 0;
  for (const instanceSpans of byInstance.values()) {
    const busy = busyIntervals(instanceSpans);
    for (const [start, end] of busy) busyMs += end - start;
    for (const [start, end] of billedIntervals(busy, prices.billingGranularityMs)) {
      billedMs += end - start;
      intervals++;
    }
    maxInFlight = Math.max(maxInFlight, maxInFlightOf(instanceSpans));
  }
  const billedSeconds = billedMs / 1000;
  const invocations = (spans.length * prices.invocationsPerMillionUsd) / 1_000_000;
  const cpu = billedSeconds * shape.vcpu * prices.vcpuSecondUsd;
  const memory = billedSeconds * shape.memoryGiB * prices.gibSecondUsd;
  return {
    requests: spans.length,
    handlerMs: spans.reduce((sum, s) => sum + (s.endMs - s.startMs), 0),
    busyMs,
    billedMs,
    busyIntervals: intervals,
    maxInFlight,
    usd: { invocations, cpu, memory, compute: cpu + memory, total: invocations + cpu + memory },
  };
}

/** Invocations and compute of 1M requests like these (US dollars), from a bill over `bill.requests` of them. */
export interface FunctionsPerMillion {
  invocations: number;
  compute: number;
  total: number;
  /** Billed instance ms per request (after sharing and rounding). */
  billedMsPerRequest: number;
}

export function functionsPerMillion(bill: Pick<ComputeBill, "requests" | "billedMs" | "usd">): FunctionsPerMillion {
  if (bill.requests === 0) return { invocations: 0, compute: 0, total: 0, billedMsPerRequest: 0 };
  const scale = 1_000_000 / bill.requests;
  return {
    invocations: bill.usd.invocations * scale,
    compute: bill.usd.compute * scale,
    total: bill.usd.total * scale,
    billedMsPerRequest: bill.billedMs / bill.requests,
  };
}

/**
 * Where the requests of a step start on the bill's timeline: the bench sends a step's requests
 * to an instance all at once (its clock moves in steps), real clients do not. Poisson arrivals,
 * given how many fall in an interval, are spread uniformly over it; the bill spreads an
 * instance's `count` requests of a step evenly over the step, the k-th at `stepStartMs + k ×
 * stepMs / count`. Each keeps its measured handler time.
 */
export function spreadOverStep(stepStartMs: number, stepMs: number, index: number, count: number): number {
  return stepStartMs + (index * stepMs) / count;
}
