/**
 * The list prices the suite decides with and estimates by: Firestore document reads and writes
 * and Upstash commands, from their params (config.ts), in US dollars per 100,000. The marker
 * watcher weighs a poll (one command) against a read of the source with them, so a deployment
 * on a fixed Upstash plan (no per-command charge) says so by setting the command price to 0, and
 * `cacheStats` estimates each function's daily spend with the same figures.
 */
import { firestoreReadUsdPer100k, firestoreWriteUsdPer100k, upstashRedisUsdPer100kCommands } from "./config";

export interface ListPrices {
  firestoreReadUsdPer100k: number;
  firestoreWriteUsdPer100k: number;
  redisUsdPer100kCommands: number;
}

/** A price param's value; a malformed one (not a number ≥ 0) is its declared default, the list price. */
function price(param: { value(): string; options: { default?: unknown } }): number {
  const usd = Number(param.value());
  if (Number.isFinite(usd) && usd >= 0) return usd;
  const fallback = Number(param.options.default);
  return Number.isFinite(fallback) && fallback >= 0 ? fallback : 0;
}

export function listPrices(): ListPrices {
  return {
    firestoreReadUsdPer100k: price(firestoreReadUsdPer100k),
    firestoreWriteUsdPer100k: price(firestoreWriteUsdPer100k),
    redisUsdPer100kCommands: price(upstashRedisUsdPer100kCommands),
  };
}

/** One Firestore document read (US dollars). */
export function firestoreReadUsd(): number {
  return price(firestoreReadUsdPer100k) / 100_000;
}

/** One Upstash command (US dollars): the price of a marker poll. */
export function redisCommandUsd(): number {
  return price(upstashRedisUsdPer100kCommands) / 100_000;
}
