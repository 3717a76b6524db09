/**
 * `npm run bench:curve`: the load curve (issue #19). Each policy (none, reference, ours) at
 * several request rates per instance, on the stack and through the driver of `npm run bench`
 * (`withFreshInstances`, bench/bench-stack.ts; `setUpRun` and `drivePhase`, bench/driver.ts: the
 * checker, the held triggers; `beginMeasuredPhase` / `collectMeasuredPhase` and their pricing,
 * bench/figures.ts). Its own part is the arrivals (bench/workload.ts `rateTickCalls`).
 *
 * Per policy: the same start as `npm run bench` (seeded data, fresh instances on manual
 * clocks), a warm-up, then for each rate, lowest first: a short warm-up at that rate (not
 * counted), then the measured point. Within a point:
 * - requests arrive at random: each instance gets a Poisson number of requests per tick
 *   (mean: rate × tick), so neither the requests nor the marker polls they trigger keep a
 *   fixed phase;
 * - each request is drawn from the bench's mix (a live session calls getAvailableApps and
 *   getMentorNotificationFrequency once a second each and reports usage once a minute: 60 : 60 : 1),
 *   from the bench's 24 live sessions (6 of them replaced by other users every simulated
 *   minute). The users stay the same at every rate: only the rate changes;
 * - changes at seeded random times, as in the main run (one every 14 to 24 s), each trigger
 *   delivered 3 s after its commit; while a change is probed on an instance, that instance's
 *   first request of a tick is the probe (so the rate stays the rate).
 * All random streams are seeded: every policy gets the same requests.
 *
 * Per point: reads, writes and Redis commands per request (Redis by purpose,
 * bench/redis-commands.ts), the cost of 1M requests at `listPrices`, the whole bill with
 * invocations and compute (bench/whole-bill.ts), and per function (bench/function-usage.ts), the floor's cost (bench/floor.ts:
 * the fewest reads the calls could cost, with the writes they made), staleness (p50 / p99 /
 * max on the instance clock), answers beyond the contract's bound, wrong answers.
 *
 * Writes bench/results/curve.{md,svg,json} (or into BENCH_RESULTS_DIR). Exits 1 when, at any
 * point, ours is not cheaper than the reference, ours gave a wrong answer or an error, ours
 * served an answer staler than the bound of its poll interval (a callable-driven change old
 * more than `goals.maxCallableStalenessMs` after its commit, or any change more than the
 * contract's 2 s after its marker write), a change never got fresh everywhere, or a held
 * trigger misbehaved (any policy). The reference's stale and wrong answers are reported, not
 * failed: they are what it measures.
 *
 * Knobs: BENCH_POLICIES, BENCH_CURVE_RATES (0.5,1,2,5,10,20,50), BENCH_CURVE_SECONDS (120:
 * simulated seconds per point, at most), BENCH_CURVE_MAX_REQUESTS (9000: fewer seconds at high
 * rates, never under BENCH_CURVE_MIN_SECONDS, 60), BENCH_CURVE_WARMUP_SECONDS (10 per point).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { BenchStack, startBenchStack, withFreshInstances } from "./bench-stack";
import type { ChangePhase } from "./checker";
import { benchConfig, envNumber } from "./config";
import { CurvePoint, CurvePolicyRun, curveFailures, renderCurveSvg, renderCurveTable } from "./curve-report";
import { drivePhase, finishRun, PhaseCounts, PolicyRun, setUpRun } from "./driver";
import { functionCosts, meterDelta, meterTotals } from "./function-usage";
import { beginMeasuredPhase, collectMeasuredPhase, PhaseTraffic, runTriggerFigures } from "./figures";
import { rng } from "./model";
import { BenchPolicy, policiesToRun } from "./policies";
import { costPerMillion } from "./pricing";
import { resultsDir, writeResultsJson } from "./results-files";
import { RateStreams } from "./workload";

export const curveConfig = {
  /** Requests per simulated second per instance, one point each (BENCH_CURVE_RATES). */
  ratesPerInstance: (process.env.BENCH_CURVE_RATES ?? "0.5,1,2,5,10,20,50")
    .split(",")
    .map((value) => Number(value.trim()))
    .filter((value) => Number.isFinite(value) && value > 0)
    .sort((a, b) => a - b),
  /** Simulated seconds per point: at most this long... */
  maxSeconds: envNumber("BENCH_CURVE_SECONDS", 120),
  /** ...and shorter at high rates, down to `minSeconds`, so a point sends about this many requests. */
  maxRequestsPerPoint: envNumber("BENCH_CURVE_MAX_REQUESTS", 9000),
  minSeconds: envNumber("BENCH_CURVE_MIN_SECONDS", 60),
  /** Before each point, this long at its rate, not counted (the previous point's state settles to this rate). */
  warmUpSeconds: envNumber("BENCH_CURVE_WARMUP_SECONDS", 10),
  /** Before the first point: every live user seen on the instances once, not counted (cold caches are the main run's business). */
  initialWarmUp: { seconds: 30, ratePerInstance: 10 },
  /** The bench's session: getAvailableApps and getMentorNotificationFrequency once a second, a usage report once a minute. */
  usageShare: 1 / 121,
  /** Seeds of the curve's own streams: arrivals, the request mix, session turnover. */
  seeds: { arrivals: 23, mix: 29, turnover: 31 },
};

/** A point's simulated seconds: `maxSeconds`, fewer at high rates (`maxRequestsPerPoint`), at least `minSeconds`. */
export function pointSeconds(ratePerInstance: number, instances: number): number {
  const byRequests = Math.floor(curveConfig.maxRequestsPerPoint / (ratePerInstance * instances));
  return Math.max(curveConfig.minSeconds, Math.min(curveConfig.maxSeconds, byRequests));
}

/**
 * Drives `seconds` of simulated time from `fromMs` at `ratePerInstance` (Poisson arrivals per
 * tick on each instance, the bench's mix), every answer through the checker into `counts`.
 * With `phase`, changes are made and probed in it, and the traffic is returned for pricing.
 */
async function driveAtRate(
  run: PolicyRun,
  streams: RateStreams,
  options: { fromMs: number; seconds: number; ratePerInstance: number; counts: PhaseCounts; phase?: ChangePhase },
): Promise<PhaseTraffic> {
  const cfg = benchConfig;
  const { fromMs, seconds, ratePerInstance, counts, phase } = options;
  const meanPerTick = (ratePerInstance * cfg.tickMs) / 1000;
  // A change made elsewhere is probed from about one request gap per instance before its marker write.
  const probeLeadMs = Math.max(cfg.tickMs, Math.ceil(1000 / ratePerInstance / cfg.tickMs) * cfg.tickMs);
  const changeCounts = { changes: 0 };
  const driven = await drivePhase(run, {
    fromMs,
    endMs: fromMs + seconds * 1000,
    stepMs: cfg.tickMs,
    counts,
    ...(phase ? { changes: { phase, counts: changeCounts, probeLeadMs } } : {}),
    turnover: streams.turnover,
    callsAt: (_atMs, probed) => run.workload.rateTickCalls(run.instances.length, meanPerTick, curveConfig.usageShare, probed, streams),
  });
  return {
    simulatedSeconds: seconds,
    requestsPerSecondPerInstance: ratePerInstance,
    served: driven.served,
    probes: driven.probes,
    changeRequests: changeCounts.changes,
    requestsByName: driven.requestsByName,
    changes: driven.changes,
  };
}

/** One policy through every point, on one set of fresh instances. */
async function runCurvePolicy(bench: BenchStack, policy: BenchPolicy): Promise<CurvePolicyRun> {
  const cfg = benchConfig;
  const wallStart = Date.now();
  return withFreshInstances(bench, policy, cfg.pollIntervalMs, async (instances, state) => {
    const run = setUpRun(policy, instances, state, bench);
    const streams: RateStreams = {
      arrivals: rng(curveConfig.seeds.arrivals),
      mix: rng(curveConfig.seeds.mix),
      turnover: rng(curveConfig.seeds.turnover),
    };
    const warmUp: PhaseCounts = { wrongAnswers: 0, wrongByKind: {}, violations: 0, errors: 0, latency: false, label: `${policy} (warm-up)` };
    const points: CurvePoint[] = [];
    let clockMs = 0;
    const { seconds: initialSeconds, ratePerInstance: initialRate } = curveConfig.initialWarmUp;
    await driveAtRate(run, streams, { fromMs: clockMs, seconds: initialSeconds, ratePerInstance: initialRate, counts: warmUp });
    clockMs += initialSeconds * 1000;
    for (const ratePerInstance of curveConfig.ratesPerInstance) {
      await driveAtRate(run, streams, { fromMs: clockMs, seconds: curveConfig.warmUpSeconds, ratePerInstance, counts: warmUp });
      clockMs += curveConfig.warmUpSeconds * 1000;
      const seconds = pointSeconds(ratePerInstance, instances.length);
      const meterBefore = await meterTotals(instances);
      const measured = beginMeasuredPhase(run, `${policy} at ${ratePerInstance}/s`);
      const traffic = await driveAtRate(run, streams, {
        fromMs: clockMs,
        seconds,
        ratePerInstance,
        counts: measured.counts,
        phase: `curve@${ratePerInstance}`,
      });
      clockMs += seconds * 1000;
      const result = collectMeasuredPhase(run, measured, traffic);
      const meterAfter = await meterTotals(instances);
      const floorPerRequest = result.floorReads / result.requests;
      const point: CurvePoint = {
        policy,
        ratePerInstance,
        result,
        floor: { reads: result.floorReads, perRequest: floorPerRequest, costPerMillionUsd: costPerMillion(floorPerRequest, result.writes.perRequest, 0) },
        byFunction: functionCosts(meterDelta(meterBefore, meterAfter), result.functions),
      };
      points.push(point);
      const callable = result.freshness.byPath.callable.fromCommit;
      console.log(
        `  ${policy} at ${ratePerInstance} req/s per instance: ${result.requests} requests in ${seconds} simulated s, ` +
          `${result.reads.perRequest.toFixed(3)} reads, ${result.writes.perRequest.toFixed(4)} writes, ${result.redis.perRequest.toFixed(3)} Redis cmd per request, ` +
          `$${result.costPerMillionUsd.total.toFixed(3)} per 1M (floor $${point.floor.costPerMillionUsd.total.toFixed(3)}), ` +
          `whole bill $${result.wholeBillPerMillionUsd.total.toFixed(3)} per 1M (${result.functions.perMillionUsd.billedMsPerRequest.toFixed(1)} billed ms/request), ` +
          `callable-driven stale max ${callable.maxMs} ms, ${result.violations} beyond the bound, ${result.wrongAnswers} wrong, ${result.errors} errors ` +
          `(${(result.wallMs / 1000).toFixed(0)} s)`,
      );
    }
    const unexpectedRuns = await finishRun(run);
    return {
      policy,
      points,
      warmUp: { wrongAnswers: warmUp.wrongAnswers, violations: warmUp.violations, errors: warmUp.errors },
      triggers: runTriggerFigures(run, unexpectedRuns),
      examples: run.examples,
      simulatedSeconds: clockMs / 1000,
      wallMs: Date.now() - wallStart,
    };
  });
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const cfg = benchConfig;
  const policies = policiesToRun();
  const rates = curveConfig.ratesPerInstance;
  console.log(
    `bench:curve: ${policies.join(", ")} at ${rates.join(", ")} requests/s per instance | ${cfg.instances} instances, ` +
      `${rates.map((rate) => pointSeconds(rate, cfg.instances)).join("/")} simulated s per point (+${curveConfig.warmUpSeconds} s warm-up each), ` +
      `tick ${cfg.tickMs} ms, poll interval ${cfg.pollIntervalMs} ms, trigger delay ${cfg.triggerDelayMs} ms (node ${process.version})`,
  );
  const bench = await startBenchStack();
  const runs: CurvePolicyRun[] = [];
  try {
    for (const policy of policies) runs.push(await runCurvePolicy(bench, policy));
  } finally {
    await bench.stop();
  }
  const wallMs = Date.now() - startedAt;
  const failures = curveFailures(runs);
  const report = { cfg, curve: curveConfig, environment: bench.environment, wallMs };
  const table = renderCurveTable(runs, report, failures);
  console.log("");
  console.log(table);
  const outDir = resultsDir();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "curve.md"), table + "\n");
  writeFileSync(path.join(outDir, "curve.svg"), renderCurveSvg(runs, report));
  writeResultsJson("curve", {
    environment: bench.environment,
    config: { bench: cfg, curve: curveConfig, secondsPerPoint: Object.fromEntries(rates.map((rate) => [rate, pointSeconds(rate, cfg.instances)])) },
    failures,
    wallMs,
    runs,
  });
  console.log(`\nwritten: ${path.relative(process.cwd(), outDir) || "."}/curve.md, curve.svg, curve.json (${(wallMs / 1000).toFixed(0)} s in all)`);
  if (failures.length > 0) {
    console.error("\nFAIL: the curve breaks its conditions:");
    for (const failure of failures) console.error(`  - ${failure}`);
    for (const detail of runs.find((r) => r.policy === "ours")?.examples ?? []) console.error(`  ${detail}`);
    process.exitCode = 1;
  } else if (runs.some((r) => r.policy === "ours")) {
    console.log("\nours is cheaper than the reference at every point, with no wrong answer and no answer staler than its bound.");
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
