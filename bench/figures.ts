/**
 * What a run measures, as written into the results files: billed reads and writes, Redis
 * commands by purpose, the floor, staleness by path, what the held triggers did, and the
 * low-load phase and the policy's result they make up.
 */
import type { FloorFigures } from "./floor";
import type { CostPerMillion } from "./pricing";
import type { RedisCommandCounts, RedisPurpose } from "./redis-commands";

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
  costPerMillionUsd: CostPerMillion;
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
  costPerMillionUsd: CostPerMillion;
  floor: FloorResult;
  lowLoad?: LowLoadResult;
}

/** The p-th percentile of sorted values (nearest rank); 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
