/**
 * What a run's figures cost: the list prices, in one place with the date they were taken, and
 * the price of 1M requests from reads, writes and Redis commands per request.
 */
import type { PolicyResult } from "./figures";

/**
 * List prices used for the cost line, in one place, with the date they were taken.
 * Firestore: Standard edition document reads and writes, multi-region (nam5) list prices; a
 * regional location such as us-central1 lists half of each. A delete is priced here as a write
 * (Firestore lists deletes on their own line, lower): an overstatement, on a mix whose only
 * deletes are the removed testers. Upstash Redis: Pay as You Go.
 * Cloud Functions invocations and compute are the same for every policy and left out.
 */
export const listPrices = {
  asOf: "2026-11-25",
  firestoreReadsPer100k: 0.06,
  firestoreWritesPer100k: 0.18,
  firestoreSource: "cloud.google.com/firestore/pricing (Standard edition, nam5 multi-region)",
  upstashCommandsPer100k: 0.2,
  upstashSource: "upstash.com/pricing/redis (Pay as You Go)",
};

/** US dollars for 1M requests, at `listPrices`: Firestore reads, Firestore writes, Upstash commands, all three. */
export interface CostPerMillion {
  total: number;
  reads: number;
  writes: number;
  redis: number;
}

/** The price of 1M requests that cost these reads, writes and Redis commands each, at `listPrices`. */
export function costPerMillion(readsPerRequest: number, writesPerRequest: number, redisCommandsPerRequest: number): CostPerMillion {
  const reads = (readsPerRequest * listPrices.firestoreReadsPer100k * 1_000_000) / 100_000;
  const writes = (writesPerRequest * listPrices.firestoreWritesPer100k * 1_000_000) / 100_000;
  const redis = (redisCommandsPerRequest * listPrices.upstashCommandsPer100k * 1_000_000) / 100_000;
  return { total: reads + writes + redis, reads, writes, redis };
}

/** The reference's cost over this policy's, in the same run (undefined without a reference run). */
export function costCutVsReference(results: readonly PolicyResult[], result: PolicyResult): number | undefined {
  const reference = results.find((r) => r.policy === "reference");
  if (!reference) return undefined;
  return reference.costPerMillionUsd.total / result.costPerMillionUsd.total;
}
