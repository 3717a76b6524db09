/**
 * The goals `ours` is held to, and the checks of a run's results against them: `npm run bench`
 * exits 1 when ours misses one, and every bench command fails when the held triggers did not
 * behave (the measurement would be unsound).
 */
import type { PolicyResult, TriggerFigures } from "./figures";
import { fmtRatio, fmtS, fmtUsd } from "./format";
import { costCutVsReference } from "./pricing";

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
  /** Cost of 1M requests of the main mix, Firestore reads + writes + Redis commands at `listPrices` (USD; issue 28). */
  maxCostPerMillionUsd: 0.22,
  /** The reference's cost over ours (reads + writes + Redis each), measured in the same run (issue 28). */
  minCostCutVsReference: 13,
  /** Answers older than the contract allows (main run and low-load phase). */
  maxFreshnessViolations: 0,
  /**
   * Answers that match neither the state before nor after a change, and credit figures that are
   * not the fleet's figure within 2 s of its reports, or repeated reports not answered as
   * duplicates (main run and low-load phase).
   */
  maxWrongAnswers: 0,
};

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
