/**
 * The whole bill per function: Firestore reads and writes and Redis commands per function, as
 * the instances' own usage meter splits them (functions/src/telemetry/meter.ts, read through
 * each instance's stats; the same figures production publishes), beside each function's
 * invocations and compute (bench/whole-bill.ts). Read before and after a measured phase; the
 * difference is the phase's.
 *
 * The meter gives the instance's own Redis work (marker polls, stats publishes: they serve every
 * request at once) to no function. In production each function's instances do that work for
 * it; here every instance serves every function, so that work is shared out over the functions
 * by the share of it each one's requests sent (the polls they found due; a request that read its
 * source instead sent none), or by their share of the requests when none was sent in a request
 * (stated in the reports). The meter counts in the
 * instances only: commands of the Firestore triggers (another process) are in the phase's
 * totals (counted at the gateway) and in no function's figure.
 */
import type { Instance } from "../scripts/harness/instance";
import { costPerMillion, CostPerMillion } from "./pricing";
import type { FunctionsFigures, WholeBillPerMillion } from "./whole-bill";
import { wholeBillPerMillion } from "./whole-bill";

/** The meter's counts summed over the instances. */
export interface MeterTotals {
  byFunction: Record<string, { requests: number; reads: number; writes: number; redisCommands: number }>;
  /** The instances' own Redis commands (outside any function's request). */
  instanceWorkRedisCommands: number;
  /** Of those, how many each function's requests sent. */
  instanceWorkStartedBy: Record<string, number>;
}

/** Every instance's meter, summed (each instance's figures since it started). */
export async function meterTotals(instances: readonly Instance[]): Promise<MeterTotals> {
  const totals: MeterTotals = { byFunction: {}, instanceWorkRedisCommands: 0, instanceWorkStartedBy: {} };
  for (const stats of await Promise.all(instances.map((instance) => instance.stats()))) {
    totals.instanceWorkRedisCommands += stats.instanceWork.redisCommands;
    for (const [name, sent] of Object.entries(stats.instanceWorkStartedBy ?? {})) {
      totals.instanceWorkStartedBy[name] = (totals.instanceWorkStartedBy[name] ?? 0) + sent;
    }
    for (const [name, usage] of Object.entries(stats.usage)) {
      const into = (totals.byFunction[name] ??= { requests: 0, reads: 0, writes: 0, redisCommands: 0 });
      into.requests += usage.requests;
      into.reads += usage.reads;
      into.writes += usage.writes;
      into.redisCommands += usage.redisCommands;
    }
  }
  return totals;
}

/** What the meter counted between `before` and `after`. */
export function meterDelta(before: MeterTotals, after: MeterTotals): MeterTotals {
  const byFunction: MeterTotals["byFunction"] = {};
  for (const [name, a] of Object.entries(after.byFunction)) {
    const b = before.byFunction[name] ?? { requests: 0, reads: 0, writes: 0, redisCommands: 0 };
    const delta = {
      requests: a.requests - b.requests,
      reads: a.reads - b.reads,
      writes: a.writes - b.writes,
      redisCommands: a.redisCommands - b.redisCommands,
    };
    if (delta.requests > 0 || delta.reads > 0 || delta.writes > 0 || delta.redisCommands > 0) byFunction[name] = delta;
  }
  const instanceWorkStartedBy: Record<string, number> = {};
  for (const [name, sent] of Object.entries(after.instanceWorkStartedBy)) {
    const delta = sent - (before.instanceWorkStartedBy[name] ?? 0);
    if (delta > 0) instanceWorkStartedBy[name] = delta;
  }
  return { byFunction, instanceWorkRedisCommands: after.instanceWorkRedisCommands - before.instanceWorkRedisCommands, instanceWorkStartedBy };
}

/** One function's whole bill per 1M of its requests. */
export interface FunctionCost {
  /** Its requests, as the meter counted them. */
  requests: number;
  readsPerRequest: number;
  writesPerRequest: number;
  /** Its own commands and its share of the instances' own work, per request. */
  redisPerRequest: number;
  /** Firestore + Redis of 1M of its requests. */
  costPerMillionUsd: CostPerMillion;
  wholeBillPerMillionUsd: WholeBillPerMillion;
}

/**
 * Each function timed in `functions`, priced per 1M of its requests: Firestore and Redis from
 * the meter's `delta` (the instances' own work shared by what each function's requests sent of
 * it, or by requests when they sent none), invocations and compute from
 * its bill. A function the meter did not see (no request reached a handler) gets Firestore +
 * Redis of 0.
 */
export function functionCosts(delta: MeterTotals, functions: FunctionsFigures): Record<string, FunctionCost> {
  const timedRequests = Object.values(functions.byFunction).reduce((sum, bill) => sum + bill.requests, 0);
  const started = Object.values(delta.instanceWorkStartedBy).reduce((sum, sent) => sum + sent, 0);
  const costs: Record<string, FunctionCost> = {};
  for (const [name, bill] of Object.entries(functions.byFunction)) {
    const metered = delta.byFunction[name] ?? { requests: 0, reads: 0, writes: 0, redisCommands: 0 };
    const requests = Math.max(metered.requests, 1);
    const instanceWorkShare =
      started > 0
        ? (delta.instanceWorkRedisCommands * (delta.instanceWorkStartedBy[name] ?? 0)) / started
        : timedRequests > 0
          ? (delta.instanceWorkRedisCommands * bill.requests) / timedRequests
          : 0;
    const readsPerRequest = metered.reads / requests;
    const writesPerRequest = metered.writes / requests;
    const redisPerRequest = (metered.redisCommands + instanceWorkShare) / Math.max(bill.requests, 1);
    const storage = costPerMillion(readsPerRequest, writesPerRequest, redisPerRequest);
    costs[name] = {
      requests: metered.requests,
      readsPerRequest,
      writesPerRequest,
      redisPerRequest,
      costPerMillionUsd: storage,
      wholeBillPerMillionUsd: wholeBillPerMillion(storage, bill.perMillionUsd),
    };
  }
  return costs;
}
