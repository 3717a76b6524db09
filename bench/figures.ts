/**
 * What a run measures, as written into the results files: billed reads and writes, Redis
 * commands by purpose, the floor, staleness by path, what the held triggers did, and the
 * low-load phase and the policy's result they make up.
 */
import { Change, ChangePath, freshEverywhereMs, staleForMs } from "./checker";
import { benchConfig } from "./config";
import type { PhaseCounts, PolicyRun } from "./driver";
import type { FloorFigures } from "./floor";
import { CostPerMillion, costPerMillion } from "./pricing";
import { RedisCommandCounts, RedisPurpose, redisPurposes } from "./redis-commands";
import type { FunctionCost } from "./function-usage";
import { FunctionsFigures, functionsFigures, WholeBillPerMillion, wholeBillPerMillion } from "./whole-bill";

/** Redis commands as Upstash bills them (bench/redis-commands.ts), with per-request figures. */
export interface RedisFigures extends RedisCommandCounts {
  perRequest: number;
  perRequestByPurpose: Record<RedisPurpose, number>;
}

/** Billed Firestore operations of one kind (reads or writes) in a phase, counted by the proxy. */
export interface BilledFigures {
  total: number;
  byMethod: Record<string, number>;
  perRequest: number;
}

/** The floor (bench/floor.ts): the fewest reads the calls made could cost. */
export interface FloorResult extends FloorFigures {
  perRequest: number;
  /** This policy's reads over the floor. */
  readsOverFloor: number;
}

/** Staleness of a set of changes (instance clock, ms): each change's latest old answer on any instance, less a start. */
export interface Percentiles {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The changes of one path (callable-driven or made elsewhere), measured from their commit and from their marker write. */
export interface PathFreshness {
  changes: number;
  /** The last old answer on any instance, after the commit: the stale window's lower bound. */
  fromCommit: Percentiles;
  /** The same after the marker write (as `fromCommit` for a callable-driven change: its marker is written at the commit). */
  fromMarker: Percentiles;
  /** When every instance had answered the new state, after the commit: the window's upper bound (over the changes that got there). */
  freshEverywhere: Percentiles & { changes: number };
}

/** A phase's changes: staleness by path, violations of the contract, and every change. */
export interface FreshnessFigures {
  byPath: { callable: PathFreshness; elsewhere: PathFreshness };
  /** Answers with a change's old state more than the bound after its marker write. */
  violations: number;
  timedOut: number;
  /** Changes not yet fresh on every instance when their phase ended (without having timed out). */
  unfinished: number;
  changes: {
    id: number;
    kind: string;
    path: string;
    atMs: number;
    markerAtMs: number;
    triggerAtMs: number;
    subject: string;
    handledBy: number;
    staleFromCommitMs: number;
    staleFromMarkerMs: number;
    freshEverywhereFromCommitMs: number | null;
    lastOldMsPerInstanceFromCommit: (number | null)[];
    firstNewMsPerInstanceFromCommit: (number | null)[];
    violations: number;
    timedOut: boolean;
    trigger: { bumpedAtCommit: boolean; bumpedByTrigger: boolean; ranEarly: number; runs: number; error?: string } | null;
  }[];
}

/** The held triggers of a run (bench/held-triggers.ts), both phases. */
export interface TriggerFigures {
  /** Simulated time from each commit to its trigger's delivery. */
  delayMs: number;
  changes: number;
  delivered: number;
  /** Callable-driven changes: bumped by their callable at the commit; their trigger, later, bumped nothing. */
  callable: { changes: number; bumpedAtCommit: number; triggerBumpedNothing: number };
  /** Changes made elsewhere: nothing bumped at the commit; their trigger bumped. */
  elsewhere: { changes: number; notBumpedAtCommit: number; triggerBumped: number };
  /** Executions in the Functions emulator found when a change was delivered (the Firestore emulator's own delivery was not refused). */
  ranEarly: number;
  /** Deliveries to the trigger host that did not run the trigger once (it failed). */
  notRunOnce: number;
  /** Executions in the Functions emulator during the run that no delivery accounts for. */
  unexpectedRuns: number;
  /** Writes to triggered documents that no change made (their triggers were dropped or undelayed). */
  unheldWrites: string[];
}

/**
 * The low-load phase: after the main run, the same warm instances, each given exactly one
 * request per simulated second from the same mix, with changes (a change's probe taking an
 * instance's request while it is probed there). Counted on its own.
 */
export interface LowLoadResult {
  simulatedSeconds: number;
  requestsPerSecondPerInstance: number;
  /** Every request of the phase: one per instance per second, plus the changes' own calls. */
  requests: number;
  /** Of the one-a-second requests, those that were a change's probe. */
  probes: number;
  changeRequests: number;
  requestsByName: Record<string, number>;
  reads: BilledFigures;
  writes: BilledFigures;
  redis: RedisFigures;
  /** Firestore reads + writes + Redis commands of 1M requests (the bench's cost line since it began). */
  costPerMillionUsd: CostPerMillion;
  /** Invocations and compute of the phase's requests, per function and in all (bench/whole-bill.ts). */
  functions: FunctionsFigures;
  /** Firestore + Redis beside invocations + compute: the whole bill of 1M requests. */
  wholeBillPerMillionUsd: WholeBillPerMillion;
  /** Floor reads added by this phase's calls (keys no instance had needed yet). */
  floorReads: number;
  /** The phase's own changes. */
  freshness: FreshnessFigures;
  /** Answers older than the contract allows (after any change, the main run's last ones included). */
  violations: number;
  wrongAnswers: number;
  wrongAnswersByKind: Record<string, number>;
  errors: number;
  wallMs: number;
}

export interface PolicyResult {
  policy: string;
  /** The instances' marker poll interval. */
  pollIntervalMs: number;
  simulatedMinutes: number;
  wallMs: number;
  /** Probes include the getCredits after reports (`creditProbes`). */
  requests: { workload: number; probes: number; creditProbes: number; changes: number; total: number };
  /**
   * Usage reports of the main run: first deliveries, repeated deliveries (part of the workload),
   * repeats answered `duplicate: true`; basic-plan credit figures checked to the second (every
   * getCredits and recordTranscriptionUsage answer of a basic user, main run), of which answers
   * to their own report, and of which the figure from before a report answered less than 2 s
   * earlier (allowed by the lag).
   */
  reports: { sent: number; retries: number; duplicateAnswers: number; figuresChecked: number; ownReportFigures: number; laggedFigures: number };
  /**
   * getCredits on another instance 0 to 3 s after a report (main run): sent, answered, basic-plan
   * figures among the answers, of them the figure from before the report, and wrong answers.
   */
  creditProbes: { sent: number; answered: number; figures: number; lagged: number; wrong: number };
  reads: BilledFigures;
  writes: BilledFigures;
  /** Billable reads per bucket of simulated time (config.bucketMs), in order. */
  readsPerBucket: number[];
  latency: Record<string, { count: number; p50: number; p99: number }>;
  /** The main run's changes. */
  freshness: FreshnessFigures;
  triggers: TriggerFigures;
  changesByKind: Record<string, number>;
  wrongAnswers: number;
  /** Wrong answers by what was asked: apps, mentor, credits (getCredits and recordTranscriptionUsage). */
  wrongAnswersByKind: Record<string, number>;
  errors: number;
  examples: string[];
  redis: RedisFigures;
  /** Firestore reads + writes + Redis commands of 1M requests. */
  costPerMillionUsd: CostPerMillion;
  /** Invocations and compute of the main run's requests, per function and in all (bench/whole-bill.ts). */
  functions: FunctionsFigures;
  /** Firestore + Redis beside invocations + compute: the whole bill of 1M requests. */
  wholeBillPerMillionUsd: WholeBillPerMillion;
  /** Each function's whole bill per 1M of its requests, main run (bench/function-usage.ts). */
  byFunction: Record<string, FunctionCost>;
  floor: FloorResult;
  lowLoad?: LowLoadResult;
}

/** The p-th percentile of sorted values (nearest rank); 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The gateway's counts for a phase, with per-request figures. */
export function redisFigures(counts: RedisCommandCounts, requests: number): RedisFigures {
  const perRequestByPurpose = Object.fromEntries(
    redisPurposes.map((purpose) => [purpose, counts.byPurpose[purpose] / requests]),
  ) as RedisFigures["perRequestByPurpose"];
  return { ...counts, perRequest: counts.total / requests, perRequestByPurpose };
}

/** The staleness figures of a phase's changes, by path (`FreshnessFigures`). */
export function freshnessOf(changes: readonly Change[], triggerChecks: ReadonlyMap<number, TriggerCheck>): FreshnessFigures {
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
export interface TriggerCheck {
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

/** A phase counted on its own (`beginMeasuredPhase`): its answers' tally, its start, the floor before it. */
export interface MeasuredPhase {
  counts: PhaseCounts;
  wallStartMs: number;
  floorBefore: number;
  /** Where the phase's requests start in `run.timed`. */
  timedFrom: number;
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
    timedFrom: run.timed.length,
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

/** Collects and prices a measured phase: per-request reads, writes and Redis commands by purpose, cost per 1M at `listPrices`, the whole bill (invocations and compute beside it), its floor, staleness and answers. */
export function collectMeasuredPhase(run: PolicyRun, measured: MeasuredPhase, traffic: PhaseTraffic): LowLoadResult {
  const { reads, writes, floor, triggerChecks } = run;
  const phase = measured.counts;
  const total = traffic.served + traffic.changeRequests;
  const perRequest = reads.total() / total;
  const writesPerRequest = writes.total() / total;
  const redis = redisFigures(run.bench.redisTally.take(), total);
  const storage = costPerMillion(perRequest, writesPerRequest, redis.perRequest);
  const functions = functionsFigures(run.timed.slice(measured.timedFrom));
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
    costPerMillionUsd: storage,
    functions,
    wholeBillPerMillionUsd: wholeBillPerMillion(storage, functions.perMillionUsd),
    floorReads: floor.figures().reads - measured.floorBefore,
    freshness: freshnessOf(traffic.changes, triggerChecks),
    violations: phase.violations,
    wrongAnswers: phase.wrongAnswers,
    wrongAnswersByKind: phase.wrongByKind,
    errors: phase.errors,
    wallMs: Date.now() - measured.wallStartMs,
  };
}

/** What the held triggers of every change of the run did (bench/held-triggers.ts), after `finishRun`. */
export function runTriggerFigures(run: PolicyRun, unexpectedRuns: number): TriggerFigures {
  return triggerFigures(run.checker.changes, run.triggerChecks, run.bench.held.unheldWrites(), unexpectedRuns, benchConfig.triggerDelayMs);
}
