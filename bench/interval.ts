/**
 * `npm run bench:interval`: the freshness-cost curve. `ours` alone, through the same run as
 * `npm run bench` (bench/run.ts `runOnePolicy`: same seed, workload, changes at random phases,
 * triggers delivered 3 s after the commit, low-load phase, checker), once per marker poll
 * interval (MARKER_POLL_INTERVAL_MS in the instances' environment). For each interval, at the
 * bench mix and at low load (1 request/s per instance): staleness after the commit (p50, p99,
 * max), coherence Redis commands per request, and the cost of 1M requests.
 *
 * Per point: the simulated minutes of `npm run bench` (BENCH_MINUTES, 4; BENCH_INTERVAL_MINUTES
 * for fewer) and BENCH_LOW_LOAD_SECONDS (120) of low load, so the 1,000 ms point is the same run
 * as `npm run bench`'s ours; BENCH_INTERVALS (250,500,1000,2000) the intervals. deploy:check refuses intervals above 1,200 ms (they cannot keep the 2 s
 * promise); the runtime takes any, so the curve shows what 2,000 ms would cost and serve.
 *
 * Writes bench/results/interval.{md,json} (or into BENCH_RESULTS_DIR). Exits 1 only on a wrong
 * answer, an error or a held trigger that misbehaved (the measurement would not be sound);
 * answers staler than the contract are reported, not failed (2,000 ms is expected to break it).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startBenchStack } from "./bench-stack";
import { benchConfig, defaultPollIntervalMs, RunOptions } from "./config";
import { triggerProblems } from "./goals";
import { IntervalPoint, renderIntervalTable } from "./interval-report";
import { resultsDir, writeResultsJson } from "./results-files";
import { runOnePolicy } from "./run";

// The product's default (defaultPollIntervalMs, 1200) among them, so one point is `npm run bench`'s ours.
const intervals = (process.env.BENCH_INTERVALS ?? `250,500,1000,${defaultPollIntervalMs},2000`)
  .split(",")
  .map((value) => Number.parseInt(value.trim(), 10))
  .filter((value) => Number.isSafeInteger(value) && value > 0);
/** The mix's length per point: `npm run bench`'s own (BENCH_MINUTES, 4) unless BENCH_INTERVAL_MINUTES says otherwise. */
const simulatedMinutes = process.env.BENCH_INTERVAL_MINUTES ? Number.parseInt(process.env.BENCH_INTERVAL_MINUTES, 10) : benchConfig.simulatedMinutes;

async function main(): Promise<void> {
  const startedAt = Date.now();
  const cfg = benchConfig;
  console.log(
    `bench:interval: ours at poll intervals ${intervals.join(", ")} ms | ${simulatedMinutes} simulated minutes of the mix and ` +
      `${cfg.lowLoadSimulatedSeconds} s of low load per point, trigger delay ${cfg.triggerDelayMs} ms (node ${process.version})`,
  );
  const bench = await startBenchStack();
  const points: IntervalPoint[] = [];
  try {
    for (const pollIntervalMs of intervals) {
      const options: RunOptions = { simulatedMinutes, lowLoadSimulatedSeconds: cfg.lowLoadSimulatedSeconds, pollIntervalMs };
      console.log(`  poll interval ${pollIntervalMs} ms`);
      const result = await runOnePolicy(bench, "ours", options);
      points.push({ pollIntervalMs, result });
    }
  } finally {
    await bench.stop();
  }

  const table = renderIntervalTable(points, { ...cfg, simulatedMinutes }, bench.environment);
  console.log("");
  console.log(table);
  const outDir = resultsDir();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "interval.md"), table + "\n");
  // Harness soundness only: wrong answers, errors, misbehaving held triggers.
  const unsound = points.flatMap(({ pollIntervalMs, result }) => {
    const low = result.lowLoad;
    const wrong = result.wrongAnswers + (low?.wrongAnswers ?? 0);
    const errors = result.errors + (low?.errors ?? 0);
    const problems = triggerProblems(result.triggers);
    if (wrong > 0) problems.push(`${wrong} wrong answers`);
    if (errors > 0) problems.push(`${errors} errors`);
    return problems.map((problem) => `${pollIntervalMs} ms: ${problem}`);
  });
  writeResultsJson("interval", {
    environment: bench.environment,
    config: { ...cfg, simulatedMinutes, intervals },
    unsound,
    wallMs: Date.now() - startedAt,
    points,
  });
  console.log(
    `\nwritten: ${path.relative(process.cwd(), outDir) || "."}/interval.md, interval.json (${((Date.now() - startedAt) / 1000).toFixed(0)} s in all)`,
  );
  if (unsound.length > 0) {
    console.error("\nFAIL: the measurement is not sound:");
    for (const problem of unsound) console.error(`  - ${problem}`);
    for (const { result } of points) for (const detail of result.examples.filter((e) => !e.includes("old state"))) console.error(`  ${detail}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
