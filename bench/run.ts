/**
 * `npm run bench`: the read-cost and freshness benchmark. One command, offline.
 *
 * For each cache policy (none, reference, ours; see bench/policies.ts) on the same seeded data
 * and the same deterministic workload:
 * - the stack `npm test` runs on (scripts/harness/suite-stack.ts): the official Cloud Firestore
 *   emulator, the deployed Firestore triggers in the Functions emulator (functions/lib), a real
 *   redis-server behind the Upstash gateway, and billable reads and writes counted by the gRPC
 *   proxy every client reaches Firestore through;
 * - several function instances, each its own process serving functions/src/index.ts through
 *   the real onCall / onRequest wrappers (scripts/harness/instance.ts), on manual clocks that the
 *   harness advances together (compressed time: a simulated second takes as long as its calls
 *   take, the same code runs). The `ours` instances run the deployed code as it is (no preload,
 *   no policy variable; the marker poll interval is the product's default unless
 *   BENCH_POLL_INTERVAL_MS sets MARKER_POLL_INTERVAL_MS); the `none` and `reference` instances
 *   preload bench/policy-preload.ts with `BENCH_POLICY=<policy>`, which builds their caches from
 *   bench/policies.ts;
 * - live sessions calling getAvailableApps and getMentorNotificationFrequency once a
 *   simulated second and recordTranscriptionUsage once a simulated minute (each report with its
 *   own reportId; a seeded share delivered a second time shortly after, on a random instance,
 *   as a client retry would; after another seeded share, a getCredits on another instance 0 to
 *   3 s later), on random instances;
 * - changes at seeded random times (so each lands at a random phase of every instance's marker
 *   poll): testers, app approval/privacy, mentor settings, Stripe upgrades as signed webhooks.
 *   Each change's Firestore trigger is held back and delivered by the harness
 *   `triggerDelayMs` (3 s) of simulated time after the commit (bench/held-triggers.ts), as
 *   production delivers triggers late. Each change is probed on every instance until every
 *   instance serves the new state, and its staleness measured from its commit. Every answer is
 *   checked against the model of the data;
 * - then a low-load phase on the same warm instances: each gets exactly one request per
 *   simulated second from the same mix (a change's probe taking that instance's request while
 *   it is probed), with changes, counted on its own;
 * - the same starting point for every policy: Firestore cleared and seeded, Redis flushed and
 *   seeded, with the Functions emulator's background triggers paused (its hub's
 *   disableBackgroundTriggers), so the seed fires no trigger.
 *
 * Billable Firestore reads and writes are counted by the proxy; Redis commands at the Upstash gateway,
 * as Upstash bills them, by purpose (bench/redis-commands.ts); the floor, the fewest reads
 * the calls made could cost, from the calls and the model (bench/floor.ts).
 *
 * Writes bench/results/latest.{md,json} and bench/results/reads-per-minute.svg (or into
 * BENCH_RESULTS_DIR, for a trial run that must not touch the committed results). Exits 1 when
 * `ours` misses a goal (bench/goals.ts `goals`, `goalFailures`): its cost per 1M requests (reads,
 * writes and Redis commands), its cut against the reference's cost, any answer staler than the
 * contract allows, a callable-driven change served old more than 1.5 s after its commit (or
 * never at all: the measurement would be broken), any wrong answer (a credit figure off by a
 * second included) or error, a change never fresh on every instance, or a held trigger that did
 * not behave (ran early, not exactly once, bumped a callable-driven change again).
 *
 * `npm run bench:interval` (bench/interval.ts) runs `ours` alone through the same code at
 * several poll intervals: the freshness-cost curve.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Instance } from "../scripts/harness/instance";
import { BenchStack, startBenchStack, withFreshInstances } from "./bench-stack";
import { benchConfig, RunOptions } from "./config";
import { beginMeasuredPhase, collectMeasuredPhase, freshnessOf, LowLoadResult, percentile, PolicyResult, redisFigures, runTriggerFigures } from "./figures";
import { functionCosts, meterDelta, meterTotals } from "./function-usage";
import { drivePhase, finishRun, PolicyRun, setUpRun } from "./driver";
import { goalFailures, goals } from "./goals";
import { ModelState, rng } from "./model";
import { BenchPolicy, policiesToRun } from "./policies";
import { costPerMillion } from "./pricing";
import { renderSvg, renderTable } from "./report";
import { resultsDir, writeResultsJson } from "./results-files";
import { functionsFigures, wholeBillPerMillion } from "./whole-bill";
import { probeCall, ticksPerMinute } from "./workload";

/** One policy from the same start as every other (`withFreshInstances`): the main run and its low-load phase. */
export async function runOnePolicy(bench: BenchStack, policy: BenchPolicy, options: RunOptions): Promise<PolicyResult> {
  return withFreshInstances(bench, policy, options.pollIntervalMs, async (instances, state) => {
    const result = await runPolicy(policy, instances, state, bench, options);
    const low = result.lowLoad;
    const callable = result.freshness.byPath.callable.fromCommit;
    console.log(
      `  ${policy}: ${result.requests.total} requests, ${result.reads.total} reads (floor ${result.floor.reads}), ${result.writes.total} writes, ` +
        `${result.redis.perRequest.toFixed(3)} Redis cmd/request (coherence ${result.redis.perRequestByPurpose.coherence.toFixed(4)}, credits ${result.redis.perRequestByPurpose.credits.toFixed(4)}), ` +
        `$${result.costPerMillionUsd.total.toFixed(3)} per 1M (reads $${result.costPerMillionUsd.reads.toFixed(3)} + writes $${result.costPerMillionUsd.writes.toFixed(3)} + Redis $${result.costPerMillionUsd.redis.toFixed(3)}), ` +
        `whole bill $${result.wholeBillPerMillionUsd.total.toFixed(3)} per 1M (+ invocations $${result.wholeBillPerMillionUsd.invocations.toFixed(3)} + compute $${result.wholeBillPerMillionUsd.compute.toFixed(3)}), ` +
        `callable-driven stale from the commit p50/p99/max ${callable.p50Ms}/${callable.p99Ms}/${callable.maxMs} ms, ` +
        `${result.freshness.violations} freshness violations, ${result.wrongAnswers} wrong answers (${JSON.stringify(result.wrongAnswersByKind)}) (${(result.wallMs / 1000).toFixed(0)} s)` +
        (low
          ? `; low load: ${low.requests} requests, $${low.costPerMillionUsd.total.toFixed(3)} per 1M, ${low.violations} violations, ${low.wrongAnswers} wrong answers (${(low.wallMs / 1000).toFixed(0)} s)`
          : ""),
    );
    return result;
  });
}

/**
 * One policy's run, in named phases: set up (`setUpRun`), drive the main load (`driveMainLoad`),
 * collect the main run's counts (`collectMainRun`), the low-load phase (`driveLowLoad`, counted
 * and priced on its own), finish (`finishRun`), price (`priceRun`).
 */
async function runPolicy(policy: BenchPolicy, instances: Instance[], state: ModelState, bench: BenchStack, options: RunOptions): Promise<PolicyResult> {
  const wallStart = Date.now();
  const run = setUpRun(policy, instances, state, bench);
  const meterBefore = await meterTotals(instances);
  const mainRun = await driveMainLoad(run, options, wallStart);
  const main = collectMainRun(run, wallStart);
  const mainMeter = meterDelta(meterBefore, await meterTotals(instances));
  const lowLoad = options.lowLoadSimulatedSeconds > 0 ? await driveLowLoad(run, mainRun.endMs, options.lowLoadSimulatedSeconds) : undefined;
  const unexpectedRuns = await finishRun(run);
  return priceRun(run, options, mainRun.readsPerBucket, { ...main, byFunction: functionCosts(mainMeter, main.functions) }, lowLoad, unexpectedRuns);
}

/**
 * Drive the main load: the live sessions' calls tick by tick on random instances, the repeated
 * report deliveries and the getCredits after reports, the changes at their seeded times, and
 * every change probed on every instance until each serves its new state. Settles with the
 * main run's last changes and trigger deliveries (each was due in it: `changeTailMs`); probing
 * ends with it.
 */
async function driveMainLoad(run: PolicyRun, options: RunOptions, wallStart: number): Promise<{ endMs: number; readsPerBucket: number[] }> {
  const cfg = benchConfig;
  const { policy, instances, reads, workload, requests, reportCounts, creditProbeCounts } = run;
  const totalTicks = options.simulatedMinutes * ticksPerMinute;
  const endMs = totalTicks * cfg.tickMs;
  const readsPerBucket: number[] = [];
  let lastBucketReads = 0;
  await drivePhase(run, {
    fromMs: 0,
    endMs,
    stepMs: cfg.tickMs,
    counts: run.mainPhase,
    changes: { phase: "main", counts: requests },
    turnover: workload.random,
    callsAt: (atMs, probed) => {
      const tick = atMs / cfg.tickMs;
      const calls = workload.mainTickCalls(tick, instances.length, totalTicks);
      reportCounts.sent += calls.filter((call) => call.usage).length;
      // Repeated deliveries of reports answered in earlier ticks. Calls of one tick run concurrently
      // (ticks one after the other), and a user has at most one first delivery in a tick.
      const { retries, creditProbes } = run.followUpsAt(tick);
      calls.push(...retries);
      reportCounts.retries += retries.length;
      requests.workload += calls.length;
      // getCredits after reports answered in earlier ticks (those at 0 ticks follow their report's answer).
      calls.push(...creditProbes);
      requests.probes += creditProbes.length;
      requests.creditProbes += creditProbes.length;
      creditProbeCounts.sent += creditProbes.length;
      for (const change of probed) {
        change.freshSeen.forEach((fresh, instance) => {
          if (!fresh) {
            calls.push(probeCall(change, instance));
            requests.probes++;
          }
        });
      }
      return calls;
    },
    afterStep: (atMs) => {
      if (atMs % cfg.bucketMs === 0) {
        const total = reads.total();
        readsPerBucket.push(total - lastBucketReads);
        lastBucketReads = total;
      }
      if (atMs % 60_000 === 0)
        process.stdout.write(
          `    ${policy}: simulated minute ${atMs / 60_000}/${options.simulatedMinutes}, ${reads.total()} reads, ${((Date.now() - wallStart) / 1000).toFixed(0)} s\r\n`,
        );
    },
  });
  requests.total = requests.workload + requests.probes + requests.changes;
  return { endMs, readsPerBucket };
}

/**
 * Collect the main run's figures, before the low-load phase moves the counters (and before its
 * answers can add to a change's stale answers).
 */
function collectMainRun(run: PolicyRun, wallStart: number) {
  const { reads, writes, checker, requests, floor, triggerChecks, latencies, timed } = run;
  const { redisTally } = run.bench;
  const wallMs = Date.now() - wallStart;
  const mainReads = { total: reads.total(), byMethod: reads.byMethod(), perRequest: reads.total() / requests.total };
  const mainWrites = { total: writes.total(), byMethod: writes.byMethod(), perRequest: writes.total() / requests.total };
  const mainFigures = { ...checker.figuresChecked };
  const mainRedis = redisFigures(redisTally.take(), requests.total);
  // The main run starts the run: every request timed so far is its.
  const functions = functionsFigures(timed);
  const mainFloor = floor.figures();
  const mainChanges = [...checker.changes];
  const freshness = freshnessOf(mainChanges, triggerChecks);
  const latency: Record<string, { count: number; p50: number; p99: number }> = {};
  for (const [name, values] of Object.entries(latencies)) {
    const sorted = values.sort((a, b) => a - b);
    latency[name] = { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  }
  return { wallMs, mainReads, mainWrites, mainFigures, mainRedis, mainFloor, freshness, latency, functions };
}

/**
 * The low-load phase: the same warm instances, clocks moving on from the main run, each
 * instance given exactly one request per simulated second from the same mix (live users'
 * getAvailableApps and getMentorNotificationFrequency in turn, a recordTranscriptionUsage
 * every `lowLoadUsageEverySeconds`), and changes as in the main run: while a change is probed
 * on an instance, the probe is that instance's request of the second. Every answer goes
 * through the checker. Reads, Redis commands and the floor are counted for this phase alone.
 */
async function driveLowLoad(run: PolicyRun, fromMs: number, seconds: number): Promise<LowLoadResult> {
  const { policy, instances, workload } = run;
  const measured = beginMeasuredPhase(run, `${policy} (low load)`);
  const lowRandom = rng(11);
  const counts = { changes: 0 };
  const phase = await drivePhase(run, {
    fromMs,
    endMs: fromMs + seconds * 1000,
    stepMs: 1000,
    counts: measured.counts,
    changes: { phase: "lowLoad", counts },
    callsAt: (atMs, probed) => workload.lowLoadCalls((atMs - fromMs) / 1000, instances.length, probed, lowRandom),
  });
  return collectMeasuredPhase(run, measured, {
    simulatedSeconds: seconds,
    requestsPerSecondPerInstance: 1,
    served: phase.served,
    probes: phase.probes,
    changeRequests: counts.changes,
    requestsByName: phase.requestsByName,
    changes: phase.changes,
  });
}

/** Price: the run's result, the main run's cost per 1M requests at `listPrices` and its whole bill (the low-load phase priced its own). */
function priceRun(
  run: PolicyRun,
  options: RunOptions,
  readsPerBucket: number[],
  main: ReturnType<typeof collectMainRun> & { byFunction: PolicyResult["byFunction"] },
  lowLoad: LowLoadResult | undefined,
  unexpectedRuns: number,
): PolicyResult {
  const { policy, requests, reportCounts, creditProbeCounts, changesByKind, mainPhase, examples } = run;
  const { wallMs, mainReads, mainWrites, mainFigures, mainRedis, mainFloor, freshness, latency, functions, byFunction } = main;
  const storage = costPerMillion(mainReads.perRequest, mainWrites.perRequest, mainRedis.perRequest);
  return {
    policy,
    pollIntervalMs: options.pollIntervalMs,
    simulatedMinutes: options.simulatedMinutes,
    wallMs,
    requests,
    reports: { ...reportCounts, figuresChecked: mainFigures.total, ownReportFigures: mainFigures.ownReport, laggedFigures: mainFigures.lagged },
    creditProbes: creditProbeCounts,
    reads: mainReads,
    writes: mainWrites,
    readsPerBucket,
    latency,
    freshness,
    triggers: runTriggerFigures(run, unexpectedRuns),
    changesByKind,
    wrongAnswers: mainPhase.wrongAnswers,
    wrongAnswersByKind: mainPhase.wrongByKind,
    errors: mainPhase.errors,
    examples,
    redis: mainRedis,
    costPerMillionUsd: storage,
    functions,
    wholeBillPerMillionUsd: wholeBillPerMillion(storage, functions.perMillionUsd),
    byFunction,
    floor: { ...mainFloor, perRequest: mainFloor.reads / requests.total, readsOverFloor: mainReads.total / mainFloor.reads },
    lowLoad,
  };
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const cfg = benchConfig;
  const policies = policiesToRun();
  const options: RunOptions = {
    simulatedMinutes: cfg.simulatedMinutes,
    lowLoadSimulatedSeconds: cfg.lowLoadSimulatedSeconds,
    pollIntervalMs: cfg.pollIntervalMs,
  };
  console.log(
    `bench: ${policies.join(", ")} | ${cfg.instances} instances, ${cfg.seed.users} users, ${cfg.liveSessions} live sessions, ` +
      `${cfg.simulatedMinutes} simulated minutes, tick ${cfg.tickMs} ms, poll interval ${cfg.pollIntervalMs} ms, trigger delay ${cfg.triggerDelayMs} ms (node ${process.version})`,
  );
  const bench = await startBenchStack();
  const results: PolicyResult[] = [];
  try {
    for (const policy of policies) results.push(await runOnePolicy(bench, policy, options));
  } finally {
    await bench.stop();
  }

  const { environment } = bench;
  const outDir = resultsDir();
  mkdirSync(outDir, { recursive: true });
  const table = renderTable(results, cfg, environment);
  console.log("");
  console.log(table);
  writeFileSync(path.join(outDir, "latest.md"), table + "\n");
  const verdict = goalFailures(results);
  writeResultsJson("latest", { environment, config: cfg, goals, goalFailures: verdict, wallMs: Date.now() - startedAt, results });
  writeFileSync(path.join(outDir, "reads-per-minute.svg"), renderSvg(results, cfg));
  console.log(
    `\nwritten: ${path.relative(process.cwd(), outDir) || "."}/latest.md, latest.json, reads-per-minute.svg (${((Date.now() - startedAt) / 1000).toFixed(0)} s in all)`,
  );

  const { failures, notes } = verdict;
  for (const note of notes) console.log(`note: ${note}`);
  if (failures.length > 0) {
    console.error("\nFAIL: ours misses its goals (bench/goals.ts `goals`):");
    for (const failure of failures) console.error(`  - ${failure}`);
    const ours = results.find((r) => r.policy === "ours");
    for (const detail of ours?.examples ?? []) console.error(`  ${detail}`);
    process.exitCode = 1;
  } else if (results.some((r) => r.policy === "ours")) {
    console.log("\nours meets its goals.");
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
