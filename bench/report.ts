/**
 * The benchmark's outputs: the markdown table (stdout and bench/results/latest.md) and the
 * hand-written SVG chart of reads per simulated minute (bench/results/reads-per-minute.svg),
 * the goals `ours` is held to, and the check that fails the run when it misses one.
 */
import type { FloorFigures } from "./floor";
import type { RedisCommandCounts, RedisPurpose } from "./redis-commands";

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

/** Redis commands as Upstash bills them (bench/redis-commands.ts), with per-request figures. */
export interface RedisFigures extends RedisCommandCounts {
  perRequest: number;
  perRequestByPurpose: Record<RedisPurpose, number>;
}

/** US dollars for 1M requests, at `listPrices`: Firestore reads, Firestore writes, Upstash commands, all three. */
export interface CostPerMillion {
  total: number;
  reads: number;
  writes: number;
  redis: number;
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

interface ReportConfig {
  instances: number;
  simulatedMinutes: number;
  liveSessions: number;
  tickMs: number;
  pollIntervalMs: number;
  changeGapMs: { min: number; max: number };
  triggerDelayMs: number;
  freshnessBoundMs: number;
  probeTimeoutMs: number;
  bucketMs: number;
  creditProbeShare: number;
  creditProbeMaxDelayMs: number;
  seed: { users: number; heavyUsers: number; publicApps: number; privateApps: number; unapprovedApps: number; testers: number };
}

/** What `ours` must meet; `npm run bench` exits 1 when it misses one (see `goalFailures`). */
export const goals = {
  /** Reads per request, cut against `none` (shown, not failed). */
  readCutVsNone: 0.95,
  /** The contract's bound (instance clock): from the commit for a callable-driven change, from the trigger's marker write for one made elsewhere. */
  freshnessMs: 2000,
  /**
   * A callable-driven change: old state served after its commit, at most (instance clock; main
   * run and low-load phase). Its callable bumps at the commit, so this is one poll interval
   * and the resolution of the measurement, whatever the trigger's delay. It must also be above 0
   * in the main run: changes land at random phases of the poll, so some instance serves the old
   * state for a while; 0 means the measurement saw nothing.
   */
  maxCallableStalenessMs: 1500,
  /** Redis commands per request for cache coherence (shown, not failed). */
  coherenceCommandsPerRequest: 0.1,
  /** Cost of 1M requests of the main mix, Firestore reads + writes + Redis commands at `listPrices` (USD). */
  maxCostPerMillionUsd: 0.3,
  /** The reference's cost over ours (reads + writes + Redis each), measured in the same run. */
  minCostCutVsReference: 10,
  /** Answers older than the contract allows (main run and low-load phase). */
  maxFreshnessViolations: 0,
  /**
   * Answers that match neither the state before nor after a change, and credit figures that are
   * not the fleet's figure within 2 s of its reports, or repeated reports not answered as
   * duplicates (main run and low-load phase).
   */
  maxWrongAnswers: 0,
};

/** The p-th percentile of sorted values (nearest rank); 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const fmtS = (ms: number) => (ms / 1000).toFixed(2);
const fmtUsd = (n: number) => `$${n >= 10 ? n.toFixed(2) : n.toFixed(3)}`;
const fmtRatio = (n: number) => (Number.isFinite(n) ? `${n >= 100 ? n.toFixed(0) : n.toFixed(2)}×` : "–");
const mark = (ok: boolean) => (ok ? "met" : "**NOT met**");

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

/**
 * Why `ours` fails the run, one line per goal missed (empty: it passed), and what could not be
 * checked (`notes`, e.g. the 10x goal when the reference did not run).
 */
export function goalFailures(results: readonly PolicyResult[]): { failures: string[]; notes: string[] } {
  const failures: string[] = [];
  const notes: string[] = [];
  const ours = results.find((r) => r.policy === "ours");
  if (!ours) return { failures, notes: ["ours did not run: no goal checked"] };
  const low = ours.lowLoad;
  const violations = ours.freshness.violations + (low?.violations ?? 0);
  const wrong = ours.wrongAnswers + (low?.wrongAnswers ?? 0);
  const errors = ours.errors + (low?.errors ?? 0);
  const cost = ours.costPerMillionUsd.total;
  if (cost > goals.maxCostPerMillionUsd) {
    failures.push(
      `cost of 1M requests ${fmtUsd(cost)} (reads ${fmtUsd(ours.costPerMillionUsd.reads)} + writes ${fmtUsd(ours.costPerMillionUsd.writes)} + Redis ${fmtUsd(ours.costPerMillionUsd.redis)}) is above the goal of ${fmtUsd(goals.maxCostPerMillionUsd)}`,
    );
  }
  const cut = costCutVsReference(results, ours);
  if (cut === undefined) notes.push(`the reference did not run: the ≥ ${goals.minCostCutVsReference}× cost cut was not checked`);
  else if (!(cut >= goals.minCostCutVsReference)) failures.push(`the reference costs ${fmtRatio(cut)} ours, below the goal of ${goals.minCostCutVsReference}×`);
  if (violations > goals.maxFreshnessViolations)
    failures.push(`${violations} answers older than the contract allows (main run ${ours.freshness.violations}, low load ${low?.violations ?? 0})`);
  if (wrong > goals.maxWrongAnswers) {
    const byKind = Object.entries(ours.wrongAnswersByKind)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(", ");
    failures.push(`${wrong} wrong answers (main run ${ours.wrongAnswers}${byKind ? `: ${byKind}` : ""}; low load ${low?.wrongAnswers ?? 0})`);
  }
  if (errors > 0) failures.push(`${errors} errors (main run ${ours.errors}, low load ${low?.errors ?? 0})`);
  if (ours.freshness.timedOut > 0 || (low?.freshness.timedOut ?? 0) > 0) {
    failures.push(`${ours.freshness.timedOut + (low?.freshness.timedOut ?? 0)} changes never fresh on every instance`);
  }
  const callable = ours.freshness.byPath.callable;
  const callableMaxMs = Math.max(callable.fromCommit.maxMs, low?.freshness.byPath.callable.fromCommit.maxMs ?? 0);
  if (callableMaxMs > goals.maxCallableStalenessMs) {
    failures.push(
      `a callable-driven change was served old ${fmtS(callableMaxMs)} s after its commit, above the goal of ${fmtS(goals.maxCallableStalenessMs)} s`,
    );
  }
  if (callable.changes === 0) notes.push("no callable-driven change in the main run: its staleness was not measured");
  else if (!(callable.fromCommit.maxMs > 0))
    failures.push(
      `no instance served a callable-driven change's old state after its commit (max 0 over ${callable.changes} changes): the measurement saw nothing`,
    );
  // The held triggers (every policy: they run the same product code, and a failure here makes the run's freshness figures meaningless).
  for (const r of results) {
    const problems = triggerProblems(r.triggers);
    if (problems.length > 0) failures.push(`held triggers (${r.policy}): ${problems.join("; ")}`);
  }
  return { failures, notes };
}

/** What went wrong with a run's held triggers (bench/held-triggers.ts); empty when each behaved. */
export function triggerProblems(t: TriggerFigures): string[] {
  const problems: string[] = [];
  if (t.delivered !== t.changes) problems.push(`${t.changes - t.delivered} of ${t.changes} triggers never delivered`);
  if (t.callable.bumpedAtCommit !== t.callable.changes)
    problems.push(`${t.callable.changes - t.callable.bumpedAtCommit} callable-driven changes not bumped at their commit`);
  if (t.callable.triggerBumpedNothing !== t.callable.changes)
    problems.push(`${t.callable.changes - t.callable.triggerBumpedNothing} callable-driven changes bumped again by their delayed trigger`);
  if (t.elsewhere.notBumpedAtCommit !== t.elsewhere.changes)
    problems.push(`${t.elsewhere.changes - t.elsewhere.notBumpedAtCommit} changes made elsewhere bumped before their trigger`);
  if (t.elsewhere.triggerBumped !== t.elsewhere.changes)
    problems.push(`${t.elsewhere.changes - t.elsewhere.triggerBumped} changes made elsewhere not bumped by their trigger`);
  if (t.ranEarly > 0) problems.push(`${t.ranEarly} trigger executions in the Functions emulator before the harness delivered the change`);
  if (t.notRunOnce > 0) problems.push(`${t.notRunOnce} deliveries failed`);
  if (t.unexpectedRuns > 0) problems.push(`${t.unexpectedRuns} trigger executions in the Functions emulator during the run`);
  if (t.unheldWrites.length > 0)
    problems.push(`${t.unheldWrites.length} writes to triggered documents that no change made (${t.unheldWrites.slice(0, 3).join(", ")})`);
  return problems;
}

/** One point of the freshness-cost curve (`npm run bench:interval`): ours at one poll interval. */
export interface IntervalPoint {
  pollIntervalMs: number;
  result: PolicyResult;
}

/** Vercel's documented bound for tag revalidation, the anchor beside the curve. */
export const vercelAnchor = {
  ms: 300,
  text: "Vercel documents tag revalidation reaching every region within 300 ms",
  source: "vercel.com/docs/infrastructure/data-cache/manage-data-cache (on-demand revalidation of the Data Cache)",
};

/** The curve as a markdown table: each interval at the bench mix and at low load, Vercel's anchor last. */
export function renderIntervalTable(
  points: readonly IntervalPoint[],
  cfg: ReportConfig & { lowLoadSimulatedSeconds: number },
  environment?: ReportEnvironment,
): string {
  const stale = (p: Percentiles) => `${fmtS(p.p50Ms)} / ${fmtS(p.p99Ms)} / ${fmtS(p.maxMs)}`;
  const cost = (c: CostPerMillion) => `${fmtUsd(c.reads)} + ${fmtUsd(c.writes)} + ${fmtUsd(c.redis)} = ${fmtUsd(c.total)}`;
  const delayS = cfg.triggerDelayMs / 1000;
  const rows: string[] = [];
  for (const { pollIntervalMs, result } of points) {
    const f = result.freshness;
    rows.push(
      `| ${fmtInt(pollIntervalMs)} ms | bench mix | ${f.byPath.callable.changes} / ${f.byPath.elsewhere.changes} | ${stale(f.byPath.callable.fromCommit)} | ${stale(f.byPath.callable.freshEverywhere)} | ` +
        `${stale(f.byPath.elsewhere.fromCommit)} | ${stale(f.byPath.elsewhere.freshEverywhere)} | ` +
        `${result.redis.perRequestByPurpose.coherence.toFixed(4)} | ${cost(result.costPerMillionUsd)} | ${fmtInt(f.violations)} / ${fmtInt(result.wrongAnswers)} |`,
    );
    const l = result.lowLoad;
    if (l) {
      const lf = l.freshness;
      rows.push(
        `| ${fmtInt(pollIntervalMs)} ms | low load | ${lf.byPath.callable.changes} / ${lf.byPath.elsewhere.changes} | ${stale(lf.byPath.callable.fromCommit)} | ${stale(lf.byPath.callable.freshEverywhere)} | ` +
          `${stale(lf.byPath.elsewhere.fromCommit)} | ${stale(lf.byPath.elsewhere.freshEverywhere)} | ` +
          `${l.redis.perRequestByPurpose.coherence.toFixed(4)} | ${cost(l.costPerMillionUsd)} | ${fmtInt(l.violations)} / ${fmtInt(l.wrongAnswers)} |`,
      );
    }
  }
  return [
    `Freshness-cost curve (\`npm run bench:interval\`): ours at each marker poll interval (MARKER_POLL_INTERVAL_MS), ${cfg.instances} instances. ` +
      `Per point: ${cfg.simulatedMinutes} simulated minutes of the bench mix (${cfg.liveSessions} live sessions, tick ${cfg.tickMs} ms), then ${cfg.lowLoadSimulatedSeconds} simulated s of low load ` +
      `(1 request/s per instance), on the same seed and workload as \`npm run bench\`; changes at seeded random times, so at random phases of the poll; every change's Firestore trigger delivered ${delayS} s after its commit.`,
    ...(environment
      ? [
          "",
          `Stack: ${environment.firestore}; ${environment.functions}, its background triggers paused during the runs: each change's Firestore trigger is held back and delivered by the harness ` +
            `to the trigger's export in an instance process of its own; reads and writes counted by the gRPC proxy, Redis commands at the Upstash gateway; Node ${environment.node}.`,
        ]
      : []),
    "",
    `| poll interval | load | changes: callable-driven / made elsewhere | callable-driven: last old answer after the commit, p50 / p99 / max (s) | callable-driven: new state on every instance after the commit, p50 / p99 / max (s) | ` +
      `made elsewhere (the ${delayS} s trigger delay included): last old answer after the commit | made elsewhere: new state on every instance after the commit | coherence Redis commands / request | cost of 1M requests: reads + writes + Redis = total | answers > 2 s after the marker write / wrong answers |`,
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    `| Vercel (documented, not measured) | – | – | – | every region within ${fmtS(vercelAnchor.ms)} s | – | – | – | – | – |`,
    "",
    `Per change, on the instance clock: the last old answer is the latest time any instance answered with the change's old state, less the commit; "new state on every instance" is when the last instance first answered a probe with the new state, less the commit. ` +
      `Instances are asked only at their requests (every tick of ${cfg.tickMs} ms at the mix, every second at low load), so the true window lies between the two. ` +
      `At 250 ms an instance polls on every tick, so no answer is old at tick resolution; at low load every request finds a poll due when the interval is 1 s or less, and pays for it. ` +
      `The anchor: ${vercelAnchor.text} (${vercelAnchor.source}); it counts from the revalidation call, as ours counts from the commit. ` +
      `Cost at the list prices of \`npm run bench\` (${listPrices.asOf}). deploy:check refuses intervals above 1,200 ms: they cannot keep the 2 s promise.`,
  ].join("\n");
}

/** What ran the functions and Firestore, one line each, for the table's header. */
export interface ReportEnvironment {
  firestore: string;
  functions: string;
  node: string;
}

export function renderTable(results: PolicyResult[], cfg: ReportConfig, environment?: ReportEnvironment): string {
  const none = results.find((r) => r.policy === "none");
  const ours = results.find((r) => r.policy === "ours");
  const cut = (r: PolicyResult) => (none && r !== none ? 1 - r.reads.perRequest / none.reads.perRequest : undefined);
  const row = (label: string, cell: (r: PolicyResult) => string, goal = "") => `| ${label} | ${results.map(cell).join(" | ")} | ${goal} |`;
  const lat = (name: string) => (r: PolicyResult) => {
    const l = r.latency[name];
    return l ? `${fmtMs(l.p50)} / ${fmtMs(l.p99)}` : "–";
  };
  const cost = (c: CostPerMillion) => `${fmtUsd(c.reads)} + ${fmtUsd(c.writes)} + ${fmtUsd(c.redis)} = ${fmtUsd(c.total)}`;
  const low = (cell: (l: LowLoadResult) => string) => (r: PolicyResult) => (r.lowLoad ? cell(r.lowLoad) : "–");
  const oursCut = ours ? cut(ours) : undefined;
  const oursVsReference = ours ? costCutVsReference(results, ours) : undefined;
  const lowSeconds = results.find((r) => r.lowLoad)?.lowLoad?.simulatedSeconds;
  const stale = (p: Percentiles) => `${fmtS(p.p50Ms)} / ${fmtS(p.p99Ms)} / ${fmtS(p.maxMs)}`;
  const gapS = (ms: number) => String(ms / 1000);
  const lines = [
    `Workload: ${cfg.instances} instances (processes), ${cfg.seed.users} users (${cfg.seed.heavyUsers} with a usage document for every hour of the month), ` +
      `${cfg.liveSessions} live sessions, ${cfg.seed.publicApps} public + ${cfg.seed.privateApps} private + ${cfg.seed.unapprovedApps} unapproved apps, ` +
      `${cfg.seed.testers} testers; ${cfg.simulatedMinutes} simulated minutes per policy (tick ${cfg.tickMs} ms); changes at seeded random times ` +
      `(${gapS(cfg.changeGapMs.min)} to ${gapS(cfg.changeGapMs.max)} s apart), so each lands at a random phase of the marker poll (${cfg.pollIntervalMs} ms); ` +
      `every change's Firestore trigger delivered ${gapS(cfg.triggerDelayMs)} s after its commit; after ${Math.round(cfg.creditProbeShare * 100)}% of the reports, ` +
      `a getCredits on another instance 0 to ${gapS(cfg.creditProbeMaxDelayMs)} s later` +
      (lowSeconds === undefined ? "." : `; then ${lowSeconds} simulated s of low load (1 request/s per instance, with changes) on the same warm instances.`),
    ...(environment
      ? [
          "",
          `Stack: ${environment.firestore}; ${environment.functions}, its background triggers paused during the runs: each change's Firestore trigger is held back and delivered by the harness (the event Firestore sends for that change) to the trigger's export in an instance process of its own; ` +
            `reads and writes counted by the gRPC proxy in front of the emulator; Redis commands counted at the Upstash gateway as Upstash bills them; Node ${environment.node}.`,
        ]
      : []),
    "",
    `| figure | ${results.map((r) => r.policy).join(" | ")} | goal (ours) |`,
    `|---|${results.map(() => "---:").join("|")}|---|`,
    row(
      "requests served (workload + probes, of them getCredits after a report, + changes)",
      (r) =>
        `${fmtInt(r.requests.total)} (${fmtInt(r.requests.workload)} + ${fmtInt(r.requests.probes)} (${fmtInt(r.requests.creditProbes)}) + ${fmtInt(r.requests.changes)})`,
    ),
    row(
      "**cost of 1M requests on this mix: reads + writes + Redis = total**",
      (r) => cost(r.costPerMillionUsd),
      ours ? `≤ ${fmtUsd(goals.maxCostPerMillionUsd)}: ${mark(ours.costPerMillionUsd.total <= goals.maxCostPerMillionUsd)}` : "",
    ),
    row(
      "reference cost ÷ this cost",
      (r) => {
        const ratio = costCutVsReference(results, r);
        return ratio === undefined ? "–" : fmtRatio(ratio);
      },
      oursVsReference === undefined
        ? ours
          ? `≥ ${goals.minCostCutVsReference}×: not checked (no reference run)`
          : ""
        : `≥ ${goals.minCostCutVsReference}×: ${mark(oursVsReference >= goals.minCostCutVsReference)}`,
    ),
    row("Firestore document reads (billed, counted by the proxy)", (r) => fmtInt(r.reads.total)),
    row("reads / request", (r) => r.reads.perRequest.toFixed(3)),
    row("Firestore document writes (billed: what commits applied, counted by the proxy)", (r) => fmtInt(r.writes.total)),
    row("writes / request", (r) => r.writes.perRequest.toFixed(4)),
    row(
      "usage reports: sent / repeated deliveries / repeats answered duplicate",
      (r) => `${fmtInt(r.reports.sent)} / ${fmtInt(r.reports.retries)} / ${fmtInt(r.reports.duplicateAnswers)}`,
    ),
    row(
      "basic-plan credit figures checked to the second (of them, a report's own answer; the figure from before a report < 2 s old)",
      (r) => `${fmtInt(r.reports.figuresChecked)} (${fmtInt(r.reports.ownReportFigures)}; ${fmtInt(r.reports.laggedFigures)})`,
    ),
    row(
      `getCredits on another instance 0–${gapS(cfg.creditProbeMaxDelayMs)} s after a report: sent / basic-plan figures / of them the figure from before the report / wrong`,
      (r) => `${fmtInt(r.creditProbes.sent)} / ${fmtInt(r.creditProbes.figures)} / ${fmtInt(r.creditProbes.lagged)} / ${fmtInt(r.creditProbes.wrong)}`,
    ),
    row("floor: fewest reads these calls could cost (bench/floor.ts)", (r) => `${fmtInt(r.floor.reads)} (${r.floor.perRequest.toFixed(3)} / request)`),
    row("reads ÷ floor", (r) => fmtRatio(r.floor.readsOverFloor), ours ? `ours / floor = ${fmtRatio(ours.floor.readsOverFloor)}` : ""),
    row(
      "reads per request cut vs none",
      (r) => (cut(r) === undefined ? "–" : `${(cut(r)! * 100).toFixed(2)}%`),
      oursCut === undefined ? "" : `≥ 95%: ${mark(oursCut >= goals.readCutVsNone)}`,
    ),
    row("Redis commands / request (all, as Upstash bills them)", (r) => r.redis.perRequest.toFixed(3)),
    row(
      "– for cache coherence (marker polls and bumps)",
      (r) => r.redis.perRequestByPurpose.coherence.toFixed(4),
      ours ? `≤ ${goals.coherenceCommandsPerRequest}: ${mark(ours.redis.perRequestByPurpose.coherence <= goals.coherenceCommandsPerRequest)}` : "",
    ),
    row("– for the fleet's credit figure (usage count and rebuild scripts)", (r) => r.redis.perRequestByPurpose.credits.toFixed(4)),
    row("– for enrichment (enabled apps, install counts)", (r) => r.redis.perRequestByPurpose.enrichment.toFixed(4)),
    row("– other (freemium threshold, stats publish)", (r) => r.redis.perRequestByPurpose.other.toFixed(4)),
    row("getAvailableApps p50 / p99 (ms)", lat("getAvailableApps")),
    row("getMentorNotificationFrequency p50 / p99 (ms)", lat("getMentorNotificationFrequency")),
    row("recordTranscriptionUsage p50 / p99 (ms)", lat("recordTranscriptionUsage")),
    row("getCredits (probes) p50 / p99 (ms)", lat("getCredits")),
    row(
      "changes during the run: callable-driven (callables, Stripe webhook) / made elsewhere (direct writes)",
      (r) => `${r.freshness.byPath.callable.changes} / ${r.freshness.byPath.elsewhere.changes}`,
    ),
    row(
      "**callable-driven: old state served after the commit, p50 / p99 / max (s, instance clock)**",
      (r) => stale(r.freshness.byPath.callable.fromCommit),
      ours
        ? `max ≤ ${fmtS(goals.maxCallableStalenessMs)} s and > 0: ${mark(ours.freshness.byPath.callable.fromCommit.maxMs <= goals.maxCallableStalenessMs && ours.freshness.byPath.callable.fromCommit.maxMs > 0)}`
        : "",
    ),
    row("callable-driven: new state served on every instance, after the commit, p50 / p99 / max (s)", (r) =>
      stale(r.freshness.byPath.callable.freshEverywhere),
    ),
    row(
      "**made elsewhere: old state served after the trigger's marker write, p50 / p99 / max (s)**",
      (r) => stale(r.freshness.byPath.elsewhere.fromMarker),
      ours ? `≤ ${fmtS(goals.freshnessMs)} s: ${mark(ours.freshness.byPath.elsewhere.fromMarker.maxMs <= goals.freshnessMs)}` : "",
    ),
    row(`made elsewhere: old state served after the commit (the ${gapS(cfg.triggerDelayMs)} s trigger delay included), p50 / p99 / max (s)`, (r) =>
      stale(r.freshness.byPath.elsewhere.fromCommit),
    ),
    row("made elsewhere: new state served on every instance, after the commit, p50 / p99 / max (s)", (r) =>
      stale(r.freshness.byPath.elsewhere.freshEverywhere),
    ),
    row(
      "answers older than the contract allows (> 2 s after the marker write: the commit, or the trigger for a change made elsewhere)",
      (r) => fmtInt(r.freshness.violations),
      ours ? `0: ${mark(ours.freshness.violations === 0)}` : "",
    ),
    row(
      `changes not fresh on every instance within ${cfg.probeTimeoutMs / 1000} s`,
      (r) => String(r.freshness.timedOut),
      ours ? `0: ${mark(ours.freshness.timedOut === 0)}` : "",
    ),
    row(
      `held triggers (both phases), delivered ${gapS(cfg.triggerDelayMs)} s after the commit: callable-driven ones that bumped nothing / made-elsewhere ones that bumped`,
      (r) =>
        `${r.triggers.callable.triggerBumpedNothing} of ${r.triggers.callable.changes} / ${r.triggers.elsewhere.triggerBumped} of ${r.triggers.elsewhere.changes}`,
      ours
        ? `all: ${mark(ours.triggers.callable.triggerBumpedNothing === ours.triggers.callable.changes && ours.triggers.elsewhere.triggerBumped === ours.triggers.elsewhere.changes)}`
        : "",
    ),
    row("wrong answers / errors", (r) => `${r.wrongAnswers} / ${r.errors}`, ours ? `0: ${mark(ours.wrongAnswers === 0 && ours.errors === 0)}` : ""),
    row("– wrong credit figures (not the fleet's within 2 s of a report) or repeats not answered duplicate", (r) => fmtInt(r.wrongAnswersByKind.credits ?? 0)),
    row(
      "**low load (1 request/s per instance): cost of 1M requests, reads + writes + Redis = total**",
      low((l) => cost(l.costPerMillionUsd)),
    ),
    row(
      "low load: reads / request, writes / request, Redis commands / request (coherence / credits / enrichment / other)",
      low(
        (l) =>
          `${l.reads.perRequest.toFixed(3)}, ${l.writes.perRequest.toFixed(4)}, ${l.redis.perRequest.toFixed(3)} ` +
          `(${l.redis.perRequestByPurpose.coherence.toFixed(3)} / ${l.redis.perRequestByPurpose.credits.toFixed(3)} / ${l.redis.perRequestByPurpose.enrichment.toFixed(3)} / ${l.redis.perRequestByPurpose.other.toFixed(3)})`,
      ),
    ),
    row(
      "low load: changes (callable-driven / elsewhere); stale after the commit, max (s): callable-driven / elsewhere after its marker write",
      low(
        (l) =>
          `${l.freshness.byPath.callable.changes} / ${l.freshness.byPath.elsewhere.changes}; ` +
          `${fmtS(l.freshness.byPath.callable.fromCommit.maxMs)} / ${fmtS(l.freshness.byPath.elsewhere.fromMarker.maxMs)}`,
      ),
    ),
    row(
      "low load: requests (of them probes); stale beyond 2 s / wrong answers / errors",
      low((l) => `${fmtInt(l.requests)} (${fmtInt(l.probes)}); ${l.violations} / ${l.wrongAnswers} / ${l.errors}`),
      ours?.lowLoad ? `0: ${mark(ours.lowLoad.violations === 0 && ours.lowLoad.wrongAnswers === 0 && ours.lowLoad.errors === 0)}` : "",
    ),
    "",
    `Cost: Firestore document reads at $${listPrices.firestoreReadsPer100k} and writes at $${listPrices.firestoreWritesPer100k} per 100,000 (${listPrices.firestoreSource}; a delete is priced as a write) and Upstash commands at ` +
      `$${listPrices.upstashCommandsPer100k} per 100,000 (${listPrices.upstashSource}), list prices as of ${listPrices.asOf}; function invocations and compute are the same for every policy and left out. ` +
      `Writes are what each successful commit applied (one per document written, a field transform part of its write, a failed commit nothing), counted by the same proxy as reads. ` +
      `Redis commands are counted at the gateway as Upstash bills them (a pipeline of N commands is N, a script call is 1) and put to a purpose by their first key. ` +
      `Credits are checked to the second: a basic user's remaining seconds, on any instance, must be the limit less the seeded usage and every report, or the figure from before a report answered less than ${fmtS(cfg.freshnessBoundMs)} s earlier (instance clock); a report's own answer includes it; a repeated delivery (same reportId) must answer duplicate: true and count nothing. ` +
      `Staleness is measured on the instance clock from each change's commit, at the resolution of a tick (${cfg.tickMs} ms): a change's figure is the latest time any instance answered with its old state, less the commit (or less the marker write); ` +
      `"new state on every instance" is when the last instance first answered a probe with the new state, less the commit: the true window lies between the two. ` +
      `A callable-driven change is bumped by its callable right after the commit; its trigger, delivered later, must bump nothing. A change made elsewhere is bumped only by its trigger, and the contract's 2 s count from that marker write.`,
  ];
  return lines.join("\n");
}

const colors: Record<string, string> = { none: "#d62728", reference: "#ff7f0e", ours: "#2ca02c" };
const kindLabels: Record<string, string> = { addTester: "T+", removeTester: "T−", approveApp: "A", makePrivate: "P", setMentor: "M", stripeUpgrade: "$" };

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A log-scale line chart of reads per simulated minute per policy, change events marked. */
export function renderSvg(results: PolicyResult[], cfg: ReportConfig): string {
  const width = 900;
  const height = 440;
  const left = 80;
  const right = 150;
  const top = 50;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const perMinute = 60_000 / cfg.bucketMs;
  const series = results.map((r) => ({ policy: r.policy, values: r.readsPerBucket.map((n) => n * perMinute) }));
  const maxValue = Math.max(10, ...series.flatMap((s) => s.values));
  const maxExp = Math.ceil(Math.log10(maxValue));
  const totalMs = cfg.simulatedMinutes * 60_000;
  const x = (ms: number) => left + (ms / totalMs) * plotW;
  const y = (v: number) => top + plotH - (Math.log10(Math.max(1, v)) / maxExp) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">Firestore document reads per simulated minute (log scale)</text>`);
  parts.push(
    `<text x="${left}" y="40" fill="#555">${escapeXml(`${cfg.instances} instances, ${cfg.liveSessions} live sessions, ${cfg.seed.users} users; ${cfg.bucketMs / 1000} s buckets; dashed lines: changes`)}</text>`,
  );
  // Grid and y axis (powers of ten).
  for (let e = 0; e <= maxExp; e++) {
    const yy = y(10 ** e);
    parts.push(`<line x1="${left}" y1="${yy.toFixed(1)}" x2="${left + plotW}" y2="${yy.toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 8}" y="${(yy + 4).toFixed(1)}" text-anchor="end" fill="#333">${fmtInt(10 ** e)}</text>`);
  }
  // x axis (minutes).
  for (let m = 0; m <= cfg.simulatedMinutes; m++) {
    const xx = x(m * 60_000);
    parts.push(`<line x1="${xx.toFixed(1)}" y1="${top + plotH}" x2="${xx.toFixed(1)}" y2="${top + plotH + 5}" stroke="#333"/>`);
    parts.push(`<text x="${xx.toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" fill="#333">${m}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${height - 18}" text-anchor="middle" fill="#333">simulated minutes (instance clock)</text>`);
  parts.push(`<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">reads / minute</text>`);
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  // Change events (the same schedule for every policy).
  const events = results[0]?.freshness.changes ?? [];
  for (const event of events) {
    const xx = x(event.atMs);
    parts.push(`<line x1="${xx.toFixed(1)}" y1="${top}" x2="${xx.toFixed(1)}" y2="${top + plotH}" stroke="#7f7f7f" stroke-dasharray="3,3"/>`);
    parts.push(`<text x="${xx.toFixed(1)}" y="${top + 12}" text-anchor="middle" font-size="10" fill="#555">${escapeXml(kindLabels[event.kind] ?? "?")}</text>`);
  }
  // Series.
  for (const s of series) {
    const points = s.values.map((v, i) => `${x((i + 1) * cfg.bucketMs).toFixed(1)},${y(v).toFixed(1)}`);
    const color = colors[s.policy] ?? "#1f77b4";
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(" ")}"/>`);
    for (const point of points) {
      const [px, py] = point.split(",");
      parts.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${color}"/>`);
    }
  }
  // Legend.
  series.forEach((s, i) => {
    const ly = top + 20 + i * 20;
    const color = colors[s.policy] ?? "#1f77b4";
    parts.push(`<line x1="${left + plotW + 15}" y1="${ly}" x2="${left + plotW + 40}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${left + plotW + 46}" y="${ly + 4}">${escapeXml(s.policy)}</text>`);
  });
  const legendY = top + 20 + series.length * 20 + 10;
  const legend = ["T+ tester added", "T− tester removed", "A app approved", "P app made private", "M mentor setting", "$ Stripe upgrade"];
  legend.forEach((text, i) => parts.push(`<text x="${left + plotW + 15}" y="${legendY + i * 16}" font-size="11" fill="#555">${escapeXml(text)}</text>`));
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
