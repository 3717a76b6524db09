/**
 * Where a bench command writes its results, and the one shape of every results JSON file: when,
 * on which Node and stack, with which config and list prices, then the figures.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { listPrices } from "./pricing";

/** Where the results go: bench/results (committed), or BENCH_RESULTS_DIR for a trial run. */
export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR ? path.resolve(process.env.BENCH_RESULTS_DIR) : path.join(__dirname, "results");
}

/** A results file (`<name>.json` in `resultsDir()`): when, on which Node and stack, with which config and list prices, then the figures. */
export function writeResultsJson(name: string, fields: { environment: unknown; config: unknown } & Record<string, unknown>): void {
  const { environment, config, ...figures } = fields;
  const results = { generatedAt: new Date().toISOString(), node: process.version, environment, config, listPrices, ...figures };
  writeFileSync(path.join(resultsDir(), `${name}.json`), JSON.stringify(results, null, 2) + "\n");
}
