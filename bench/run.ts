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
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Firestore } from "firebase-admin/firestore";
import Redis from "ioredis";
import type { AvailableApp } from "../functions/src/apps/model";
import { markerPollIntervalMsParam } from "../functions/src/config";
import { markerKey, scopes } from "../functions/src/redis/markers";
import { CallableError, Instance, startInstance } from "../scripts/harness/instance";
import { localStripePriceId } from "../scripts/stack/local-stripe";
import { requireProductionNode } from "../scripts/stack/project-node";
import { startSuiteStack, SuiteStack } from "../scripts/harness/suite-stack";
import { sendEvent, subscriptionEvent } from "../scripts/harness/stripe-events";
import { FloorCounter } from "./floor";
import { HeldChange, HeldTriggers } from "./held-triggers";
import {
  Change,
  ChangeKind,
  ChangePath,
  ChangePhase,
  Checker,
  createChecker,
  freshEverywhereMs,
  staleForMs,
  UsageAnswer,
  UsageReport,
  Verdict,
} from "./checker";
import { ModelState, rng, seed, SeedConfig, uidOf } from "./model";
import { BenchPolicy, benchPolicyEnv, policiesToRun } from "./policies";
import { RedisCommandCounts, RedisCommandTally, redisPurposes } from "./redis-commands";
import { FreshnessFigures, LowLoadResult, percentile, PolicyResult, RedisFigures, TriggerFigures } from "./figures";
import { goalFailures, goals } from "./goals";
import { costPerMillion, listPrices } from "./pricing";
import { renderSvg, renderTable } from "./report";

const envInt = (name: string, defaultValue: number) => {
  const raw = process.env[name];
  return raw ? Number.parseInt(raw, 10) : defaultValue;
};

/** The product's poll interval when MARKER_POLL_INTERVAL_MS is not set (its param's default). */
const declaredPollIntervalMs: unknown = markerPollIntervalMsParam.options.default;
export const defaultPollIntervalMs = typeof declaredPollIntervalMs === "number" ? declaredPollIntervalMs : 1000;

export const benchConfig = {
  instances: envInt("BENCH_INSTANCES", 3),
  simulatedMinutes: envInt("BENCH_MINUTES", 4),
  liveSessions: envInt("BENCH_SESSIONS", 24),
  /** Sessions that end (and are replaced by other users' new sessions) every simulated minute. */
  sessionTurnoverPerMinute: 6,
  tickMs: 250,
  /**
   * The marker poll interval of the instances (MARKER_POLL_INTERVAL_MS in their environment);
   * the product's default when BENCH_POLL_INTERVAL_MS is not set.
   */
  pollIntervalMs: envInt("BENCH_POLL_INTERVAL_MS", defaultPollIntervalMs),
  /**
   * Changes come at seeded random times: the first this far into a phase, then one every gap
   * drawn (whole ms) from this range, 19 s on average. A range 10 s wide (a whole number of
   * every poll interval measured) spreads the changes evenly over the phase of each instance's
   * poll, and off the reference's 30 s TTL grid.
   */
  firstChangeMs: { min: 5_000, max: 10_000 },
  changeGapMs: { min: 14_000, max: 24_000 },
  /**
   * Simulated time from a change's commit to its Firestore trigger's delivery (BENCH_TRIGGER_DELAY_MS).
   * It applies to every change: a change made elsewhere is bumped only then; a callable-driven
   * change was bumped at its commit, and its trigger must bump nothing.
   */
  triggerDelayMs: envInt("BENCH_TRIGGER_DELAY_MS", 3_000),
  /** A change is made only if its trigger is delivered this long before its phase ends (so it is probed in that phase). */
  changeTailMs: 5_000,
  /** The contract's bound (instance clock): from the commit for a callable-driven change, from the trigger's marker write for one made elsewhere. */
  freshnessBoundMs: 2_000,
  /** Probing a change stops after this long (from its commit) even if an instance still serves the old state. */
  probeTimeoutMs: 45_000,
  bucketMs: 30_000,
  /** The low-load phase after the main run: this long, one request per simulated second per instance. */
  lowLoadSimulatedSeconds: envInt("BENCH_LOW_LOAD_SECONDS", 120),
  /** In the low-load phase, every this many seconds an instance's request is a recordTranscriptionUsage. */
  lowLoadUsageEverySeconds: 60,
  /** Seconds in each usage report. */
  reportSeconds: 60,
  /**
   * The share of the main run's usage reports delivered twice: the same data and reportId again,
   * on a random instance, 1 to `reportRetryMaxTicks` ticks after the first delivery was answered
   * (a client retrying a call whose answer it lost). Drawn from their own seeded stream, so the
   * rest of the workload is the same calls as without them.
   */
  reportRetryShare: 0.05,
  reportRetryMaxTicks: 8,
  /**
   * The share of the main run's usage reports after which the same user asks getCredits on
   * another instance (a random one), 0 to `creditProbeMaxDelayMs` (in whole ticks) after the
   * report was answered: where the fleet's 2 s lag shows. Drawn from their own seeded stream.
   */
  creditProbeShare: 0.25,
  creditProbeMaxDelayMs: 3_000,
  seed: {
    users: envInt("BENCH_USERS", 200),
    heavyUsers: 20,
    publicApps: 200,
    privateApps: 30,
    unapprovedApps: 30,
    disabledApps: 5,
    testers: 12,
    basicLimitSeconds: 1800,
  } satisfies SeedConfig,
};
export type BenchConfig = typeof benchConfig;

/** What one policy run measures: its length and the instances' poll interval. */
export interface RunOptions {
  simulatedMinutes: number;
  lowLoadSimulatedSeconds: number;
  pollIntervalMs: number;
}

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

/** Loaded into the `none` and `reference` instance processes (never into `ours`). */
const policyPreload = path.join(__dirname, "policy-preload.ts");

/** The environment and preload an instance process of `policy` starts with: for ours, the poll interval alone. */
function instanceSetup(policy: BenchPolicy, pollIntervalMs: number): [Record<string, string>, { preload?: string[] }] {
  const interval: Record<string, string> = pollIntervalMs === defaultPollIntervalMs ? {} : { MARKER_POLL_INTERVAL_MS: String(pollIntervalMs) };
  if (policy === "ours") return [interval, {}];
  return [{ ...interval, [benchPolicyEnv]: policy }, { preload: [policyPreload] }];
}
const changeCycle: ChangeKind[] = ["addTester", "approveApp", "setMentor", "stripeUpgrade", "makePrivate", "removeTester"];
/** Changes made through the suite (admin callables, the settings callable, the Stripe webhook); the others are direct writes. */
const pathOf: Record<ChangeKind, ChangePath> = {
  addTester: "callable",
  removeTester: "callable",
  setMentor: "callable",
  stripeUpgrade: "callable",
  approveApp: "elsewhere",
  makePrivate: "elsewhere",
};
const adminAs = { uid: "bench-admin", claims: { admin: true } };

export interface Session {
  uid: string;
  sessionId: string;
  /** Tick within each simulated second at which this session calls. */
  phase: number;
  /** Tick within each simulated minute at which it reports usage. */
  minuteTick: number;
  /** Usage reports sent so far: the sequence in each report's id. */
  reports: number;
}

export interface Call {
  name: string;
  uid: string;
  instance: number;
  data: unknown;
  probeOf?: Change;
  /**
   * A usage report's first delivery: its id and seconds, and (maybe) when and where it is
   * delivered again, and after how many ticks, on which instance, getCredits follows it.
   */
  usage?: { reportId: string; seconds: number; retry?: { tick: number; instance: number }; creditProbe?: { delayTicks: number; instance: number } };
  /** A repeated delivery of this report (same data, same reportId). */
  retryOf?: UsageReport;
  /** A getCredits that follows this report, on another instance. */
  creditProbeOf?: UsageReport;
}

function firebaseToolsVersion(): string {
  return (JSON.parse(readFileSync(require.resolve("firebase-tools/package.json"), "utf8")) as { version: string }).version;
}

/** What one bench process holds for all its runs: the stack, its counters, the held triggers. */
export interface BenchStack {
  stack: SuiteStack;
  redisTally: RedisCommandTally;
  redisAdmin: Redis;
  db: Firestore;
  held: HeldTriggers;
  environment: { firestore: string; functions: string; node: string };
  stop(): Promise<void>;
}

/** Starts the stack npm test uses (scripts/harness/suite-stack.ts), once for every run of the process. */
export async function startBenchStack(): Promise<BenchStack> {
  requireProductionNode();
  const cfg = benchConfig;
  // The Functions emulator and the `ours` instances inherit this process's environment: they
  // run the code as it ships, so no policy variable may leak into it, nor a poll interval (the
  // instances get theirs explicitly). The bench flushes Redis, so it always starts its own
  // redis-server, never the shell's REDIS_URL.
  delete process.env[benchPolicyEnv];
  delete process.env.REDIS_URL;
  delete process.env.MARKER_POLL_INTERVAL_MS;
  // Every Redis command the instances and the triggers send, as Upstash bills them.
  const redisTally = new RedisCommandTally();
  let held: HeldTriggers | undefined;
  const stack = await startSuiteStack({
    env: { BASIC_PLAN_TRANSCRIPTION_SECONDS: String(cfg.seed.basicLimitSeconds) },
    log: (line) => console.log(`  [stack] ${line}`),
    gateway: { onCommand: redisTally.onCommand },
    onCommitted: (documents) => held?.noteCommitted(documents),
  });
  try {
    held = await HeldTriggers.create(stack);
    const environment = {
      firestore: stack.firestore.description,
      functions: `Functions emulator (firebase-tools ${firebaseToolsVersion()}) running functions/lib`,
      node: process.version,
    };
    console.log(`  Firestore: ${environment.firestore}; triggers: ${environment.functions}`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { firestore } = require("../functions/src/firestore") as typeof import("../functions/src/firestore");
    const redisAdmin = new Redis(stack.local.redisUrl, { lazyConnect: false });
    return {
      stack,
      redisTally,
      redisAdmin,
      db: firestore(),
      held,
      environment,
      stop: async () => {
        redisAdmin.disconnect();
        await held?.close();
        await stack.stop();
      },
    };
  } catch (error) {
    await held?.close();
    await stack.stop();
    throw error;
  }
}

/**
 * The same start for every policy (and every curve run): Firestore cleared and seeded, Redis
 * flushed and seeded, written with the triggers paused (and left paused: the run delivers its
 * changes' triggers itself); fresh instance processes of `policy` on manual clocks; the counters
 * reset. Runs `body` on them, then stops them.
 */
export async function withFreshInstances<T>(
  bench: BenchStack,
  policy: BenchPolicy,
  pollIntervalMs: number,
  body: (instances: Instance[], state: ModelState) => Promise<T>,
): Promise<T> {
  const cfg = benchConfig;
  const { stack, redisAdmin, db, held } = bench;
  await held.pause();
  await stack.firestore.clear();
  await redisAdmin.flushall();
  const seeded = await seed(db, cfg.seed, new Date());
  for (const [key, members] of Object.entries(seeded.redisSeed.sets)) await redisAdmin.sadd(key, ...members);
  await redisAdmin.mset(Object.entries(seeded.redisSeed.counters).flatMap(([k, v]) => [k, String(v)]));
  await held.startRun();
  const instances = await Promise.all(Array.from({ length: cfg.instances }, () => startInstance(...instanceSetup(policy, pollIntervalMs))));
  try {
    await Promise.all(instances.map((instance) => instance.useManualClock()));
    stack.reads.reset();
    stack.writes.reset();
    bench.redisTally.reset();
    return await body(instances, seeded.state);
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()));
  }
}

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
        `callable-driven stale from the commit p50/p99/max ${callable.p50Ms}/${callable.p99Ms}/${callable.maxMs} ms, ` +
        `${result.freshness.violations} freshness violations, ${result.wrongAnswers} wrong answers (${JSON.stringify(result.wrongAnswersByKind)}) (${(result.wallMs / 1000).toFixed(0)} s)` +
        (low
          ? `; low load: ${low.requests} requests, $${low.costPerMillionUsd.total.toFixed(3)} per 1M, ${low.violations} violations, ${low.wrongAnswers} wrong answers (${(low.wallMs / 1000).toFixed(0)} s)`
          : ""),
    );
    return result;
  });
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

/** The gateway's counts for a phase, with per-request figures. */
function redisFigures(counts: RedisCommandCounts, requests: number): RedisFigures {
  const perRequestByPurpose = Object.fromEntries(
    redisPurposes.map((purpose) => [purpose, counts.byPurpose[purpose] / requests]),
  ) as RedisFigures["perRequestByPurpose"];
  return { ...counts, perRequest: counts.total / requests, perRequestByPurpose };
}

/** What one phase's answers came to (the main run's, then the low-load phase's). */
export interface PhaseCounts {
  wrongAnswers: number;
  /** By what was asked (`kindOf`). */
  wrongByKind: Record<string, number>;
  violations: number;
  errors: number;
  /** Record latencies (the main run only). */
  latency: boolean;
  label: string;
}

/** What a call asked about, for the wrong answers' breakdown. */
function kindOf(name: string): string {
  return name === "getAvailableApps" ? "apps" : name === "getMentorNotificationFrequency" ? "mentor" : "credits";
}

/** The staleness figures of a phase's changes, by path (see figures.ts `FreshnessFigures`). */
function freshnessOf(changes: readonly Change[], triggerChecks: ReadonlyMap<number, TriggerCheck>): FreshnessFigures {
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? 0 };
  };
  const byPath = (path: ChangePath) => {
    const ofPath = changes.filter((c) => c.path === path);
    const freshEverywhere = ofPath.map((c) => freshEverywhereMs(c, c.atMs)).filter((ms): ms is number => ms !== undefined);
    return {
      changes: ofPath.length,
      fromCommit: stats(ofPath.map((c) => staleForMs(c, c.atMs))),
      fromMarker: stats(ofPath.map((c) => staleForMs(c, c.markerAtMs))),
      freshEverywhere: { changes: freshEverywhere.length, ...stats(freshEverywhere) },
    };
  };
  return {
    byPath: { callable: byPath("callable"), elsewhere: byPath("elsewhere") },
    violations: changes.reduce((sum, c) => sum + c.violations, 0),
    timedOut: changes.filter((c) => c.timedOut).length,
    unfinished: changes.filter((c) => !c.timedOut && !c.freshSeen.every(Boolean)).length,
    changes: changes.map((c) => ({
      id: c.id,
      kind: c.kind,
      path: c.path,
      atMs: c.atMs,
      markerAtMs: c.markerAtMs,
      triggerAtMs: c.triggerAtMs,
      subject: c.uid ?? c.appId ?? "",
      handledBy: c.handledBy,
      staleFromCommitMs: staleForMs(c, c.atMs),
      staleFromMarkerMs: staleForMs(c, c.markerAtMs),
      freshEverywhereFromCommitMs: freshEverywhereMs(c, c.atMs) ?? null,
      lastOldMsPerInstanceFromCommit: c.lastOldMs.map((t) => (t < 0 ? null : t - c.atMs)),
      firstNewMsPerInstanceFromCommit: c.freshAtMs.map((t) => (t < 0 ? null : t - c.atMs)),
      violations: c.violations,
      timedOut: c.timedOut,
      trigger: triggerChecks.get(c.id) ?? null,
    })),
  };
}

/** What the held trigger of one change did (bench/held-triggers.ts), and its markers around it. */
interface TriggerCheck {
  /** The change's markers moved at the commit (the callable's own bump). */
  bumpedAtCommit: boolean;
  /** The delayed delivery moved them. */
  bumpedByTrigger: boolean;
  /** Executions of the trigger since the previous delivery that the harness did not make (the emulator's own delivery). */
  ranEarly: number;
  /** Executions of the harness's delivery (1 expected; 0 when the trigger failed). */
  runs: number;
  /** Why the delivery failed. */
  error?: string;
}

function triggerFigures(
  changes: readonly Change[],
  checks: ReadonlyMap<number, TriggerCheck>,
  unheldWrites: string[],
  unexpectedRuns: number,
  delayMs: number,
): TriggerFigures {
  const of = (path: ChangePath) => changes.filter((c) => c.path === path).map((c) => checks.get(c.id));
  const callable = of("callable");
  const elsewhere = of("elsewhere");
  const delivered = [...callable, ...elsewhere].filter((c): c is TriggerCheck => c !== undefined);
  return {
    delayMs,
    changes: changes.length,
    delivered: delivered.length,
    callable: {
      changes: callable.length,
      bumpedAtCommit: callable.filter((c) => c?.bumpedAtCommit).length,
      triggerBumpedNothing: callable.filter((c) => c !== undefined && !c.bumpedByTrigger).length,
    },
    elsewhere: {
      changes: elsewhere.length,
      notBumpedAtCommit: elsewhere.filter((c) => c !== undefined && !c.bumpedAtCommit).length,
      triggerBumped: elsewhere.filter((c) => c?.bumpedByTrigger).length,
    },
    ranEarly: delivered.reduce((sum, c) => sum + c.ranEarly, 0),
    notRunOnce: delivered.filter((c) => c.runs !== 1).length,
    unexpectedRuns,
    unheldWrites,
  };
}

/**
 * One policy's run, in named phases: set up (`setUpRun`), drive the main load (`driveMainLoad`),
 * settle (`settleMainRun`), collect the main run's counts (`collectMainRun`), the low-load
 * phase (`driveLowLoad`, counted and priced on its own), finish (`finishRun`), price (`priceRun`).
 */
async function runPolicy(policy: BenchPolicy, instances: Instance[], state: ModelState, bench: BenchStack, options: RunOptions): Promise<PolicyResult> {
  const run = setUpRun(policy, instances, state, bench, options);
  await driveMainLoad(run);
  await settleMainRun(run);
  const main = collectMainRun(run);
  const lowLoad = options.lowLoadSimulatedSeconds > 0 ? await driveLowLoad(run, run.mainEndMs) : undefined;
  const unexpectedRuns = await finishRun(run);
  return priceRun(run, main, lowLoad, unexpectedRuns);
}

/** A policy run's state and moving parts, which its phases share (`setUpRun`). */
export type PolicyRun = ReturnType<typeof setUpRun>;

/**
 * Set up: the run's seeded random streams, the checker on the model, the simulated clock every
 * instance is on with its agenda (changes and trigger deliveries between ticks), the live
 * sessions, and the calls: `invoke` (every answer checked), the changes with their held
 * triggers (`scheduleChanges`), and their probing (`probedChanges`). Sends nothing yet.
 */
export function setUpRun(policy: BenchPolicy, instances: Instance[], state: ModelState, bench: BenchStack, options: RunOptions) {
  const cfg = benchConfig;
  const { stack, redisAdmin, db, held } = bench;
  const { reads, writes } = stack;
  const wallStart = Date.now();
  /** The workload's choices: the same calls whatever the changes do. */
  const random = rng(7);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  /** The changes' times and choices (what changes, on which instance). */
  const changeRandom = rng(17);
  const pickForChange = <T>(list: readonly T[]) => list[Math.floor(changeRandom() * list.length)]!;
  const checker: Checker = createChecker(state, cfg.freshnessBoundMs);
  const ticksPerSecond = 1000 / cfg.tickMs;
  const ticksPerMinute = ticksPerSecond * 60;
  const totalTicks = options.simulatedMinutes * ticksPerMinute;
  const mainEndMs = totalTicks * cfg.tickMs;
  const latencies: Record<string, number[]> = {};
  const requests = { workload: 0, probes: 0, creditProbes: 0, changes: 0, total: 0 };
  const reportCounts = { sent: 0, retries: 0, duplicateAnswers: 0 };
  const creditProbeCounts = { sent: 0, answered: 0, figures: 0, lagged: 0, wrong: 0 };
  /** Repeated report deliveries and getCredits after reports, by the tick they are sent at. */
  const retriesAt = new Map<number, Call[]>();
  const creditProbesAt = new Map<number, Call[]>();
  const retryRandom = rng(13);
  const creditProbeRandom = rng(19);
  const mainPhase: PhaseCounts = { wrongAnswers: 0, wrongByKind: {}, violations: 0, errors: 0, latency: true, label: policy };
  const floor = new FloorCounter(state, instances.length);
  const examples: string[] = [];
  let staleExamples = 0;
  const buckets: number[] = [];
  const changesByKind: Record<string, number> = {};
  const addedTesters: string[] = [];
  const triggerChecks = new Map<number, TriggerCheck>();

  // --- the simulated clock every instance is on, and what happens between ticks
  let clockMs = 0;
  const advanceTo = async (atMs: number) => {
    if (atMs <= clockMs) return;
    const step = atMs - clockMs;
    await Promise.all(instances.map((instance) => instance.advanceClock(step)));
    clockMs = atMs;
  };
  /** Changes and trigger deliveries, at whole simulated ms (between ticks), run with every clock stopped there. */
  const agenda: { atMs: number; order: number; run: (atMs: number) => Promise<void> }[] = [];
  let agendaOrder = 0;
  const schedule = (atMs: number, run: (atMs: number) => Promise<void>) => {
    agenda.push({ atMs, order: agendaOrder++, run });
    agenda.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  };
  const runAgendaThrough = async (atMs: number) => {
    while (agenda.length > 0 && agenda[0]!.atMs <= atMs) {
      const next = agenda.shift()!;
      await advanceTo(next.atMs);
      await next.run(next.atMs);
    }
  };

  let sessionCounter = 0;
  const newSession = (uid: string): Session => ({
    uid,
    sessionId: `s${++sessionCounter}-${uid}`,
    phase: Math.floor(random() * ticksPerSecond),
    minuteTick: Math.floor(random() * ticksPerMinute),
    reports: 0,
  });
  /** The session's next usage report (its id: the session's id and the report's sequence in it). */
  const reportCall = (
    session: Session,
    instance: number,
    retry?: { tick: number; instance: number },
    creditProbe?: { delayTicks: number; instance: number },
  ): Call => {
    const reportId = `${session.sessionId}-${++session.reports}`;
    const data = { sessionId: session.sessionId, reportId, transcriptionSeconds: cfg.reportSeconds, wordsTranscribed: 150 };
    return { name: "recordTranscriptionUsage", uid: session.uid, instance, data, usage: { reportId, seconds: cfg.reportSeconds, retry, creditProbe } };
  };
  const allUsers = Array.from({ length: cfg.seed.users }, (_, i) => uidOf(i));
  const sessions: Session[] = [];
  const live = new Set<string>();
  while (sessions.length < Math.min(cfg.liveSessions, allUsers.length)) {
    const uid = pick(allUsers);
    if (live.has(uid)) continue;
    live.add(uid);
    sessions.push(newSession(uid));
  }

  const note = (verdict: Verdict, phase: PhaseCounts, name: string) => {
    phase.wrongAnswers += verdict.wrong;
    if (verdict.wrong > 0) phase.wrongByKind[kindOf(name)] = (phase.wrongByKind[kindOf(name)] ?? 0) + verdict.wrong;
    phase.violations += verdict.violations;
    for (const detail of verdict.details) {
      // Keep a few of each kind: stale answers are expected from the reference, wrong ones never.
      const stale = detail.includes("old state");
      if (stale ? staleExamples < 3 : examples.length - staleExamples < 10) {
        if (stale) staleExamples++;
        examples.push(`${phase.label}: ${detail}`);
      }
    }
  };

  const invoke = async (call: Call, atMs: number, phase: PhaseCounts = mainPhase): Promise<void> => {
    const instance = instances[call.instance]!;
    floor.noteCall(call.name, call.uid, call.instance);
    // A first delivery is in the model from the moment it is sent: a concurrent answer may include it.
    const report = call.usage ? checker.startReport(call.uid, call.usage.reportId, call.usage.seconds, call.instance) : undefined;
    const retry = call.usage?.retry;
    if (report && retry) {
      const list = retriesAt.get(retry.tick) ?? [];
      list.push({ name: call.name, uid: call.uid, instance: retry.instance, data: call.data, retryOf: report });
      retriesAt.set(retry.tick, list);
    }
    const startedAt = performance.now();
    let result: unknown;
    let verdict: Verdict | undefined;
    try {
      result = await instance.call(call.name, call.data, { uid: call.uid });
    } catch (error) {
      if (report) checker.reportFailed(report, atMs);
      phase.errors++;
      if (examples.length < 10) examples.push(`${phase.label}: ${call.name} as ${call.uid}: ${error instanceof CallableError ? error.message : String(error)}`);
    }
    if (result !== undefined) {
      if (phase.latency) (latencies[call.name] ??= []).push(performance.now() - startedAt);
      if (call.name === "getAvailableApps") {
        verdict = checker.checkApps(
          call.uid,
          call.instance,
          atMs,
          (result as { apps: AvailableApp[] }).apps.map((app) => app.id),
        );
      } else if (call.name === "getMentorNotificationFrequency") {
        verdict = checker.checkMentor(call.uid, call.instance, atMs, (result as { frequency: number }).frequency);
      } else if (call.retryOf) {
        const answer = result as UsageAnswer;
        if (answer.duplicate === true) reportCounts.duplicateAnswers++;
        verdict = checker.checkRetry(call.retryOf, call.instance, atMs, answer, cfg.seed.basicLimitSeconds);
      } else if (report) {
        verdict = checker.checkReport(report, call.instance, atMs, result as UsageAnswer, cfg.seed.basicLimitSeconds);
      } else {
        const remaining = (result as { remainingSeconds: number | null }).remainingSeconds;
        verdict = checker.checkCredits(call.uid, call.instance, atMs, remaining, cfg.seed.basicLimitSeconds);
        if (call.creditProbeOf) {
          creditProbeCounts.answered++;
          if (typeof remaining === "number") creditProbeCounts.figures++;
          if (verdict.lagged) creditProbeCounts.lagged++;
          creditProbeCounts.wrong += verdict.wrong;
        }
      }
      note(verdict, phase, call.name);
      if (call.probeOf && !verdict.staleFor.has(call.probeOf.id) && !call.probeOf.freshSeen[call.instance]) {
        call.probeOf.freshSeen[call.instance] = true;
        call.probeOf.freshAtMs[call.instance] = atMs;
      }
    }
    // The report answered (or failed): the same user asks getCredits on another instance, now
    // (after this answer, in the same tick) or some ticks later.
    const creditProbe = call.usage?.creditProbe;
    if (report && creditProbe) {
      const probe: Call = { name: "getCredits", uid: call.uid, instance: creditProbe.instance, data: {}, creditProbeOf: report };
      if (creditProbe.delayTicks === 0) {
        requests.probes++;
        requests.creditProbes++;
        creditProbeCounts.sent++;
        await invoke(probe, atMs, phase);
      } else {
        const tick = Math.round(atMs / cfg.tickMs) + creditProbe.delayTicks;
        const list = creditProbesAt.get(tick) ?? [];
        list.push(probe);
        creditProbesAt.set(tick, list);
      }
    }
  };

  /** The markers a change of `kind` moves (its callable's bump or its trigger's): read straight from redis-server, never billed. */
  const markerScopesOf = (change: Change): string[] => {
    switch (change.kind) {
      case "addTester":
      case "removeTester":
        return [scopes.tester(change.uid!)];
      case "setMentor":
        return [scopes.mentor(change.uid!)];
      case "stripeUpgrade":
        return [scopes.credits(change.uid!)];
      case "approveApp":
      case "makePrivate":
        return [scopes.publicApps];
    }
  };
  const markerVersions = async (scopeList: readonly string[]) => JSON.stringify(await redisAdmin.mget(...scopeList.map(markerKey)));

  /**
   * Applies one change at simulated time `atMs` (all instance clocks stopped there) with its
   * trigger held back, and schedules the trigger's delivery `triggerDelayMs` later.
   */
  const applyChange = async (kind: ChangeKind, atMs: number, phase: ChangePhase, counts: { changes: number }, probeLeadMs: number): Promise<void> => {
    const handledBy = Math.floor(changeRandom() * instances.length);
    const on = instances[handledBy]!;
    const liveUsers = sessions.map((s) => s.uid);
    const unapprovedIds = [...state.apps].filter(([, a]) => !a.approved && !a.private && !a.disabled).map(([id]) => id);
    const path = pathOf[kind];
    const triggerAtMs = atMs + cfg.triggerDelayMs;
    const markerAtMs = path === "callable" ? atMs : triggerAtMs;
    // Probing starts at the commit for a callable-driven change. A change made elsewhere is old
    // everywhere until its trigger's marker write; its probing starts one request interval
    // before that write (`probeLeadMs`: a tick, the low-load phase's second, a curve point's mean gap), so its last old answer before
    // the marker is seen as well as those after it, without probing through the whole delay.
    const probeFromMs = path === "callable" ? atMs : Math.max(atMs, markerAtMs - probeLeadMs);
    const base = {
      id: checker.changes.length + 1,
      kind,
      path,
      phase,
      atMs,
      markerAtMs,
      triggerAtMs,
      probeFromMs,
      handledBy: path === "callable" ? handledBy : -1,
      lastOldMs: instances.map(() => -1),
      freshSeen: instances.map(() => false),
      freshAtMs: instances.map(() => -1),
      violations: 0,
      timedOut: false,
      done: false,
    };
    /** The document written, the commit, and the change in the model (applied once the commit is done). */
    let plan: { document: string; commit: () => Promise<void>; change: Change; apply: () => void };
    switch (kind) {
      case "addTester": {
        const uid = pickForChange(liveUsers.filter((u) => !state.testers.has(u)));
        const apps = new Set([pickForChange(unapprovedIds.filter((id) => state.apps.get(id)!.owner !== uid))]);
        plan = {
          document: `testers/${uid}`,
          commit: async () => void (await on.call("addTester", { uid, apps: [...apps] }, adminAs)),
          change: { ...base, uid, before: { testerApps: null }, probe: { name: "getAvailableApps", uid } },
          apply: () => {
            state.testers.set(uid, apps);
            addedTesters.push(uid);
          },
        };
        break;
      }
      case "removeTester": {
        const uid = addedTesters.filter((u) => state.testers.has(u)).pop() ?? [...state.testers.keys()][0]!;
        plan = {
          document: `testers/${uid}`,
          commit: async () => void (await on.call("removeTester", { uid }, adminAs)),
          change: { ...base, uid, before: { testerApps: state.testers.get(uid) ?? null }, probe: { name: "getAvailableApps", uid } },
          apply: () => void state.testers.delete(uid),
        };
        break;
      }
      case "approveApp": {
        const appId = pickForChange(unapprovedIds);
        const app = state.apps.get(appId)!;
        const probeUid = pickForChange(liveUsers.filter((u) => u !== app.owner));
        plan = {
          document: `apps/${appId}`,
          commit: async () => void (await db.doc(`apps/${appId}`).update({ approved: true, status: "approved" })),
          change: { ...base, appId, before: { app: { ...app } }, probe: { name: "getAvailableApps", uid: probeUid } },
          apply: () => void state.apps.set(appId, { ...app, approved: true }),
        };
        break;
      }
      case "makePrivate": {
        const publicIds = [...state.apps].filter(([, a]) => a.approved && !a.private && !a.disabled).map(([id]) => id);
        const appId = pickForChange(publicIds);
        const app = state.apps.get(appId)!;
        const probeUid = pickForChange(liveUsers.filter((u) => u !== app.owner));
        plan = {
          document: `apps/${appId}`,
          commit: async () => void (await db.doc(`apps/${appId}`).update({ private: true })),
          change: { ...base, appId, before: { app: { ...app } }, probe: { name: "getAvailableApps", uid: probeUid } },
          apply: () => void state.apps.set(appId, { ...app, private: true }),
        };
        break;
      }
      case "setMentor": {
        const uid = pickForChange(liveUsers);
        const old = state.mentor.get(uid) ?? 0;
        const frequency = (old + 1 + Math.floor(changeRandom() * 5)) % 6;
        plan = {
          document: `users/${uid}`,
          commit: async () => void (await on.call("setMentorNotificationFrequency", { frequency }, { uid })),
          change: { ...base, uid, before: { mentor: old }, probe: { name: "getMentorNotificationFrequency", uid } },
          apply: () => void state.mentor.set(uid, frequency),
        };
        break;
      }
      case "stripeUpgrade": {
        const candidates = liveUsers.filter((uid) => state.plan.get(uid) === "basic");
        if (candidates.length === 0) return;
        const uid = pickForChange(candidates);
        const event = subscriptionEvent({ customer: `cus_bench_${uid}`, uid, priceId: localStripePriceId("pro"), subscriptionId: `sub_bench_${uid}` });
        plan = {
          document: `users/${uid}`,
          commit: async () => {
            const response = await sendEvent(on, event);
            if (response.status !== 200) throw new Error(`stripeWebhook answered ${response.status}: ${JSON.stringify(response.body)}`);
          },
          change: { ...base, uid, before: { plan: "basic" }, probe: { name: "getCredits", uid } },
          apply: () => void state.plan.set(uid, "pro"),
        };
        break;
      }
    }
    const { change } = plan;
    const markerScopes = markerScopesOf(change);
    const versionsBefore = await markerVersions(markerScopes);
    counts.changes++;
    const heldChange: HeldChange = await held.hold(plan.document, plan.commit);
    const versionsAtCommit = await markerVersions(markerScopes);
    plan.apply();
    checker.changes.push(change);
    floor.noteChange();
    changesByKind[kind] = (changesByKind[kind] ?? 0) + 1;
    // The trigger, `triggerDelayMs` after the commit: the event Firestore sends for this change.
    schedule(triggerAtMs, async () => {
      const versionsBeforeTrigger = await markerVersions(markerScopes);
      const delivery = await held.release(heldChange);
      const versionsAfterTrigger = await markerVersions(markerScopes);
      triggerChecks.set(change.id, {
        bumpedAtCommit: versionsAtCommit !== versionsBefore,
        bumpedByTrigger: versionsAfterTrigger !== versionsBeforeTrigger,
        ranEarly: delivery.ranEarly,
        runs: delivery.runs,
        ...(delivery.error === undefined ? {} : { error: delivery.error }),
      });
      if (delivery.error !== undefined && examples.length < 20)
        examples.push(`${policy}: the trigger of change #${change.id} (${kind}) failed: ${delivery.error}`);
    });
  };

  /**
   * Changes of `phase` at seeded random times in [fromMs, toMs), each with its trigger delivered
   * and probed in time; a change made elsewhere is probed from `probeLeadMs` before its marker write.
   */
  let changeIndex = 0;
  const scheduleChanges = (
    phase: ChangePhase,
    fromMs: number,
    toMs: number,
    counts: { changes: number },
    probeLeadMs = phase === "main" ? cfg.tickMs : 1000,
  ) => {
    const draw = (range: { min: number; max: number }) => range.min + Math.floor(changeRandom() * (range.max - range.min));
    for (let atMs = fromMs + draw(cfg.firstChangeMs); atMs + cfg.triggerDelayMs + cfg.changeTailMs <= toMs; atMs += draw(cfg.changeGapMs)) {
      const kind = changeCycle[changeIndex++ % changeCycle.length]!;
      schedule(atMs, (at) => applyChange(kind, at, phase, counts, probeLeadMs));
    }
  };
  /** Marks the changes whose probing is over (every instance fresh, or given up on); returns those still probed at `atMs`. */
  const probedChanges = (atMs: number, phase: ChangePhase): Change[] => {
    const probed: Change[] = [];
    for (const change of checker.changes) {
      if (change.done || change.phase !== phase) continue;
      if (change.freshSeen.every(Boolean)) {
        change.done = true;
        continue;
      }
      if (atMs - change.atMs > cfg.probeTimeoutMs) {
        change.done = true;
        change.timedOut = true;
        continue;
      }
      if (atMs >= change.probeFromMs) probed.push(change);
    }
    return probed;
  };

  return {
    policy,
    instances,
    state,
    bench,
    options,
    reads,
    writes,
    wallStart,
    random,
    pick,
    checker,
    ticksPerSecond,
    ticksPerMinute,
    totalTicks,
    mainEndMs,
    latencies,
    requests,
    reportCounts,
    creditProbeCounts,
    retriesAt,
    creditProbesAt,
    retryRandom,
    creditProbeRandom,
    mainPhase,
    floor,
    examples,
    buckets,
    changesByKind,
    triggerChecks,
    advanceTo,
    agenda,
    runAgendaThrough,
    reportCall,
    newSession,
    allUsers,
    sessions,
    live,
    invoke,
    scheduleChanges,
    probedChanges,
  };
}

/**
 * Drive the main load: the live sessions' calls tick by tick on random instances, the repeated
 * report deliveries and the getCredits after reports, the changes at their seeded times, and
 * every change probed on every instance until each serves its new state.
 */
async function driveMainLoad(run: PolicyRun): Promise<void> {
  const cfg = benchConfig;
  const { policy, instances, options, reads, wallStart, random, pick, ticksPerSecond, ticksPerMinute, totalTicks, mainEndMs, requests } = run;
  const { reportCounts, creditProbeCounts, retriesAt, creditProbesAt, retryRandom, creditProbeRandom, buckets } = run;
  const { advanceTo, runAgendaThrough, reportCall, newSession, allUsers, sessions, live, invoke, scheduleChanges, probedChanges } = run;
  let lastBucketReads = 0;
  scheduleChanges("main", 0, mainEndMs, requests);
  for (let tick = 1; tick <= totalTicks; tick++) {
    const atMs = tick * cfg.tickMs;
    await runAgendaThrough(atMs);
    await advanceTo(atMs);

    if (tick % ticksPerMinute === 0) {
      // Session turnover: some sessions end, other users start theirs (cold entries).
      for (let k = 0; k < cfg.sessionTurnoverPerMinute; k++) {
        const index = Math.floor(random() * sessions.length);
        const idle = allUsers.filter((uid) => !live.has(uid));
        if (idle.length === 0) break;
        const uid = pick(idle);
        live.delete(sessions[index]!.uid);
        live.add(uid);
        sessions[index] = newSession(uid);
      }
    }

    const calls: Call[] = [];
    const pickInstance = () => Math.floor(random() * instances.length);
    for (const session of sessions) {
      if (tick % ticksPerSecond === session.phase) {
        calls.push({ name: "getAvailableApps", uid: session.uid, instance: pickInstance(), data: {} });
        calls.push({ name: "getMentorNotificationFrequency", uid: session.uid, instance: pickInstance(), data: {} });
      }
      if (tick % ticksPerMinute === session.minuteTick) {
        const instance = pickInstance();
        let retry: { tick: number; instance: number } | undefined;
        if (retryRandom() < cfg.reportRetryShare) {
          retry = { tick: tick + 1 + Math.floor(retryRandom() * cfg.reportRetryMaxTicks), instance: Math.floor(retryRandom() * instances.length) };
          if (retry.tick > totalTicks) retry = undefined; // the run ends first
        }
        let creditProbe: { delayTicks: number; instance: number } | undefined;
        if (instances.length > 1 && creditProbeRandom() < cfg.creditProbeShare) {
          const delayTicks = Math.floor(creditProbeRandom() * (cfg.creditProbeMaxDelayMs / cfg.tickMs + 1));
          const other = (instance + 1 + Math.floor(creditProbeRandom() * (instances.length - 1))) % instances.length;
          if (tick + delayTicks <= totalTicks) creditProbe = { delayTicks, instance: other };
        }
        calls.push(reportCall(session, instance, retry, creditProbe));
        reportCounts.sent++;
      }
    }
    // Repeated deliveries of reports answered in earlier ticks. Calls of one tick run concurrently
    // (ticks one after the other), and a user has at most one first delivery in a tick.
    const retries = retriesAt.get(tick) ?? [];
    retriesAt.delete(tick);
    calls.push(...retries);
    reportCounts.retries += retries.length;
    requests.workload += calls.length;
    // getCredits after reports answered in earlier ticks (those at 0 ticks follow their report's answer).
    const creditProbes = creditProbesAt.get(tick) ?? [];
    creditProbesAt.delete(tick);
    calls.push(...creditProbes);
    requests.probes += creditProbes.length;
    requests.creditProbes += creditProbes.length;
    creditProbeCounts.sent += creditProbes.length;
    for (const change of probedChanges(atMs, "main")) {
      change.freshSeen.forEach((fresh, instance) => {
        if (!fresh) {
          calls.push({ name: change.probe.name, uid: change.probe.uid, instance, data: {}, probeOf: change });
          requests.probes++;
        }
      });
    }
    await Promise.all(calls.map((call) => invoke(call, atMs)));

    if (atMs % cfg.bucketMs === 0) {
      const total = reads.total();
      buckets.push(total - lastBucketReads);
      lastBucketReads = total;
    }
    if (tick % ticksPerMinute === 0)
      process.stdout.write(
        `    ${policy}: simulated minute ${tick / ticksPerMinute}/${options.simulatedMinutes}, ${reads.total()} reads, ${((Date.now() - wallStart) / 1000).toFixed(0)} s\r\n`,
      );
  }
}

/** Settle: the main run's last changes and trigger deliveries (each was due in it: `changeTailMs`); probing ends with it. */
async function settleMainRun(run: PolicyRun): Promise<void> {
  const { checker, requests, runAgendaThrough, mainEndMs } = run;
  await runAgendaThrough(mainEndMs);
  for (const change of checker.changes) change.done = true;
  requests.total = requests.workload + requests.probes + requests.changes;
}

/**
 * Collect the main run's figures, before the low-load phase moves the counters (and before its
 * answers can add to a change's stale answers).
 */
function collectMainRun(run: PolicyRun) {
  const { reads, writes, wallStart, checker, requests, floor, triggerChecks, latencies } = run;
  const { redisTally } = run.bench;
  const wallMs = Date.now() - wallStart;
  const mainReads = { total: reads.total(), byMethod: reads.byMethod(), perRequest: reads.total() / requests.total };
  const mainWrites = { total: writes.total(), byMethod: writes.byMethod(), perRequest: writes.total() / requests.total };
  const mainFigures = { ...checker.figuresChecked };
  const mainRedis = redisFigures(redisTally.take(), requests.total);
  const mainFloor = floor.figures();
  const mainChanges = [...checker.changes];
  const freshness = freshnessOf(mainChanges, triggerChecks);
  const latency: Record<string, { count: number; p50: number; p99: number }> = {};
  for (const [name, values] of Object.entries(latencies)) {
    const sorted = values.sort((a, b) => a - b);
    latency[name] = { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  }
  return { wallMs, mainReads, mainWrites, mainFigures, mainRedis, mainFloor, freshness, latency };
}

/**
 * The low-load phase: the same warm instances, clocks moving on from the main run, each
 * instance given exactly one request per simulated second from the same mix (live users'
 * getAvailableApps and getMentorNotificationFrequency in turn, a recordTranscriptionUsage
 * every `lowLoadUsageEverySeconds`), and changes as in the main run: while a change is probed
 * on an instance, the probe is that instance's request of the second. Every answer goes
 * through the checker. Reads, Redis commands and the floor are counted for this phase alone.
 */
async function driveLowLoad(run: PolicyRun, fromMs: number): Promise<LowLoadResult> {
  const cfg = benchConfig;
  const { policy, instances, options, checker, sessions } = run;
  const { advanceTo, runAgendaThrough, reportCall, invoke, scheduleChanges, probedChanges } = run;
  const measured = beginMeasuredPhase(run, `${policy} (low load)`);
  const lowRandom = rng(11);
  const every = cfg.lowLoadUsageEverySeconds;
  const requestsByName: Record<string, number> = {};
  const counts = { changes: 0 };
  let served = 0;
  let probes = 0;
  const seconds = options.lowLoadSimulatedSeconds;
  scheduleChanges("lowLoad", fromMs, fromMs + seconds * 1000, counts);
  for (let second = 1; second <= seconds; second++) {
    const atMs = fromMs + second * 1000;
    await runAgendaThrough(atMs);
    await advanceTo(atMs);
    const probed = probedChanges(atMs, "lowLoad");
    const calls = instances.map((_, instance): Call => {
      const session = sessions[Math.floor(lowRandom() * sessions.length)]!;
      const probeOf = probed.find((change) => !change.freshSeen[instance]);
      if (probeOf) {
        probes++;
        return { name: probeOf.probe.name, uid: probeOf.probe.uid, instance, data: {}, probeOf };
      }
      // Usage reports staggered over the instances, so they do not all land in one second.
      const slot = second + Math.floor((instance * every) / instances.length);
      if (slot % every === 0) return reportCall(session, instance);
      return { name: slot % 2 === 0 ? "getAvailableApps" : "getMentorNotificationFrequency", uid: session.uid, instance, data: {} };
    });
    for (const call of calls) requestsByName[call.name] = (requestsByName[call.name] ?? 0) + 1;
    served += calls.length;
    await Promise.all(calls.map((call) => invoke(call, atMs, measured.counts)));
  }
  await runAgendaThrough(fromMs + seconds * 1000);
  const lowChanges = checker.changes.filter((c) => c.phase === "lowLoad");
  for (const change of lowChanges) change.done = true;
  return collectMeasuredPhase(run, measured, {
    simulatedSeconds: seconds,
    requestsPerSecondPerInstance: 1,
    served,
    probes,
    changeRequests: counts.changes,
    requestsByName,
    changes: lowChanges,
  });
}

/** A phase counted on its own (`beginMeasuredPhase`): its answers' tally, its start, the floor before it. */
export interface MeasuredPhase {
  counts: PhaseCounts;
  wallStartMs: number;
  floorBefore: number;
}

/** Starts a phase counted on its own: the reads, writes and Redis counters reset, the floor so far noted. */
export function beginMeasuredPhase(run: PolicyRun, label: string): MeasuredPhase {
  run.reads.reset();
  run.writes.reset();
  run.bench.redisTally.reset();
  return {
    counts: { wrongAnswers: 0, wrongByKind: {}, violations: 0, errors: 0, latency: false, label },
    wallStartMs: Date.now(),
    floorBefore: run.floor.figures().reads,
  };
}

/** What a measured phase sent: its requests (`served`, of them `probes`), the changes' own calls, its changes. */
export interface PhaseTraffic {
  simulatedSeconds: number;
  requestsPerSecondPerInstance: number;
  served: number;
  probes: number;
  changeRequests: number;
  requestsByName: Record<string, number>;
  changes: readonly Change[];
}

/** Collects and prices a measured phase: per-request reads, writes and Redis commands by purpose, cost per 1M at `listPrices`, its floor, staleness and answers. */
export function collectMeasuredPhase(run: PolicyRun, measured: MeasuredPhase, traffic: PhaseTraffic): LowLoadResult {
  const { reads, writes, floor, triggerChecks } = run;
  const phase = measured.counts;
  const total = traffic.served + traffic.changeRequests;
  const perRequest = reads.total() / total;
  const writesPerRequest = writes.total() / total;
  const redis = redisFigures(run.bench.redisTally.take(), total);
  return {
    simulatedSeconds: traffic.simulatedSeconds,
    requestsPerSecondPerInstance: traffic.requestsPerSecondPerInstance,
    requests: total,
    probes: traffic.probes,
    changeRequests: traffic.changeRequests,
    requestsByName: traffic.requestsByName,
    reads: { total: reads.total(), byMethod: reads.byMethod(), perRequest },
    writes: { total: writes.total(), byMethod: writes.byMethod(), perRequest: writesPerRequest },
    redis,
    costPerMillionUsd: costPerMillion(perRequest, writesPerRequest, redis.perRequest),
    floorReads: floor.figures().reads - measured.floorBefore,
    freshness: freshnessOf(traffic.changes, triggerChecks),
    violations: phase.violations,
    wrongAnswers: phase.wrongAnswers,
    wrongAnswersByKind: phase.wrongByKind,
    errors: phase.errors,
    wallMs: Date.now() - measured.wallStartMs,
  };
}

/** Finish: nothing left on the agenda, and the held triggers' account of the run (executions no delivery made). */
export async function finishRun(run: PolicyRun): Promise<number> {
  const { agenda } = run;
  if (agenda.length > 0) throw new Error(`${agenda.length} changes or trigger deliveries were left undone at the end of the run`);
  return run.bench.held.finishRun();
}

/** What the held triggers of every change of the run did (bench/held-triggers.ts), after `finishRun`. */
export function runTriggerFigures(run: PolicyRun, unexpectedRuns: number): TriggerFigures {
  return triggerFigures(run.checker.changes, run.triggerChecks, run.bench.held.unheldWrites(), unexpectedRuns, benchConfig.triggerDelayMs);
}

/** Price: the run's result, the main run's cost per 1M requests at `listPrices` (the low-load phase priced its own). */
function priceRun(run: PolicyRun, main: ReturnType<typeof collectMainRun>, lowLoad: LowLoadResult | undefined, unexpectedRuns: number): PolicyResult {
  const { policy, options, requests, reportCounts, creditProbeCounts, buckets, changesByKind, mainPhase, examples } = run;
  const { wallMs, mainReads, mainWrites, mainFigures, mainRedis, mainFloor, freshness, latency } = main;
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
    readsPerBucket: buckets,
    latency,
    freshness,
    triggers: runTriggerFigures(run, unexpectedRuns),
    changesByKind,
    wrongAnswers: mainPhase.wrongAnswers,
    wrongAnswersByKind: mainPhase.wrongByKind,
    errors: mainPhase.errors,
    examples,
    redis: mainRedis,
    costPerMillionUsd: costPerMillion(mainReads.perRequest, mainWrites.perRequest, mainRedis.perRequest),
    floor: { ...mainFloor, perRequest: mainFloor.reads / requests.total, readsOverFloor: mainReads.total / mainFloor.reads },
    lowLoad,
  };
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
