/**
 * The driver: one policy run's instances on one simulated clock. It keeps the agenda of what
 * happens between ticks (the changes' commits and their held triggers' deliveries), sends every
 * call and holds its answer against the checker, makes the changes (each trigger held back and
 * delivered `triggerDelayMs` later, its markers read before and after), probes each change on
 * every instance until each serves the new state, and drives a phase step by step
 * (`drivePhase`): the main run, the low-load phase and the load curve's points alike.
 */
import type { AvailableApp } from "../functions/src/apps/model";
import { markerKey } from "../functions/src/redis/markers";
import { CallableError, Instance } from "../scripts/harness/instance";
import type { BenchStack } from "./bench-stack";
import { Change, ChangeKind, ChangePhase, Checker, createChecker, UsageAnswer, Verdict } from "./checker";
import { benchConfig } from "./config";
import type { TriggerCheck } from "./figures";
import { FloorCounter } from "./floor";
import type { HeldChange } from "./held-triggers";
import type { ModelState } from "./model";
import { rng } from "./model";
import type { BenchPolicy } from "./policies";
import { spreadOverStep } from "./compute-bill";
import type { TimedRequest } from "./whole-bill";
import { Call, changeCycle, ChangeContext, markerScopesOf, pathOf, Workload } from "./workload";

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

/** A policy run's state and moving parts, which its phases share (`setUpRun`). */
export type PolicyRun = ReturnType<typeof setUpRun>;

/**
 * Set up: the workload's sessions, the checker on the model, the simulated clock every
 * instance is on with its agenda (changes and trigger deliveries between ticks), and the calls:
 * `invoke` (every answer checked), the changes with their held triggers (`scheduleChanges`), and
 * their probing (`probedChanges`). Sends nothing yet.
 */
export function setUpRun(policy: BenchPolicy, instances: Instance[], state: ModelState, bench: BenchStack) {
  const cfg = benchConfig;
  const { stack, redisAdmin, db, held } = bench;
  const { reads, writes } = stack;
  const workload = new Workload();
  /** The changes' times and choices (what changes, on which instance). */
  const changeRandom = rng(17);
  const checker: Checker = createChecker(state, cfg.freshnessBoundMs);
  const latencies: Record<string, number[]> = {};
  /** Every request `invoke` sent, in the order sent, with its measured handler time: the compute bill's timeline (bench/whole-bill.ts). */
  const timed: TimedRequest[] = [];
  const requests = { workload: 0, probes: 0, creditProbes: 0, changes: 0, total: 0 };
  const reportCounts = { sent: 0, retries: 0, duplicateAnswers: 0 };
  const creditProbeCounts = { sent: 0, answered: 0, figures: 0, lagged: 0, wrong: 0 };
  /** Repeated report deliveries and getCredits after reports, by the tick they are sent at. */
  const retriesAt = new Map<number, Call[]>();
  const creditProbesAt = new Map<number, Call[]>();
  const mainPhase: PhaseCounts = { wrongAnswers: 0, wrongByKind: {}, violations: 0, errors: 0, latency: true, label: policy };
  const floor = new FloorCounter(state, instances.length);
  const examples: string[] = [];
  let staleExamples = 0;
  const changesByKind: Record<string, number> = {};
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
    // Placed at the step's time; `drivePhase` spreads the step's requests over it once they are answered.
    const timing: TimedRequest = { name: call.name, instance: call.instance, startMs: atMs, handlerMs: 0 };
    timed.push(timing);
    let result: unknown;
    let verdict: Verdict | undefined;
    try {
      result = await instance.call(call.name, call.data, { uid: call.uid });
    } catch (error) {
      if (report) checker.reportFailed(report, atMs);
      phase.errors++;
      if (examples.length < 10) examples.push(`${phase.label}: ${call.name} as ${call.uid}: ${error instanceof CallableError ? error.message : String(error)}`);
    }
    // A failed call is billed as well: its time counts whatever it answered.
    timing.handlerMs = performance.now() - startedAt;
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

  /** The repeated deliveries and the getCredits due at `tick` (those of earlier reports' answers), taken off the queues. */
  const followUpsAt = (tick: number) => {
    const retries = retriesAt.get(tick) ?? [];
    retriesAt.delete(tick);
    const creditProbes = creditProbesAt.get(tick) ?? [];
    creditProbesAt.delete(tick);
    return { retries, creditProbes };
  };

  /** The markers' versions, read straight from redis-server (never billed). */
  const markerVersions = async (scopeList: readonly string[]) => JSON.stringify(await redisAdmin.mget(...scopeList.map(markerKey)));

  /**
   * Applies one change at simulated time `atMs` (all instance clocks stopped there) with its
   * trigger held back, and schedules the trigger's delivery `triggerDelayMs` later.
   */
  const applyChange = async (kind: ChangeKind, atMs: number, phase: ChangePhase, counts: { changes: number }, probeLeadMs: number): Promise<void> => {
    const handledBy = Math.floor(changeRandom() * instances.length);
    const on = instances[handledBy]!;
    const path = pathOf[kind];
    const triggerAtMs = atMs + cfg.triggerDelayMs;
    const markerAtMs = path === "callable" ? atMs : triggerAtMs;
    // Probing starts at the commit for a callable-driven change. A change made elsewhere is old
    // everywhere until its trigger's marker write; its probing starts one request interval
    // before that write (`probeLeadMs`: a tick, the low-load phase's second, a curve point's mean gap), so its last old answer before
    // the marker is seen as well as those after it, without probing through the whole delay.
    const probeFromMs = path === "callable" ? atMs : Math.max(atMs, markerAtMs - probeLeadMs);
    const base: ChangeContext["base"] = {
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
    const plan = workload.planChange(kind, { state, db, on, base, random: changeRandom });
    if (plan === undefined) return;
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
    reads,
    writes,
    workload,
    checker,
    latencies,
    timed,
    requests,
    reportCounts,
    creditProbeCounts,
    mainPhase,
    floor,
    examples,
    changesByKind,
    triggerChecks,
    agenda,
    advanceTo,
    runAgendaThrough,
    invoke,
    followUpsAt,
    scheduleChanges,
    probedChanges,
  };
}

/** How a phase is driven: its steps, its answers' tally, its changes, and the calls of each step. */
export interface PhaseSteps {
  /** Steps of `stepMs` from `fromMs` (exclusive) to `endMs`. */
  fromMs: number;
  endMs: number;
  stepMs: number;
  counts: PhaseCounts;
  /** Changes made and probed in this phase (none without); `counts.changes` counts their own calls. */
  changes?: { phase: ChangePhase; counts: { changes: number }; probeLeadMs?: number };
  /** Session turnover every simulated minute, drawn from this stream (none without). */
  turnover?: () => number;
  /** The calls of the step at `atMs`; `probed`: the phase's changes some instance has not yet served fresh. */
  callsAt: (atMs: number, probed: readonly Change[]) => Call[];
  /** After the step's calls were answered. */
  afterStep?: (atMs: number) => void;
}

/** What a phase sent: its requests (`served`, of them `probes` of changes), by name, and its changes. */
export interface PhaseCalls {
  served: number;
  probes: number;
  requestsByName: Record<string, number>;
  changes: Change[];
}

/**
 * Drives a phase step by step: what is due on the agenda, every clock moved to the step, the
 * step's calls sent at once and checked; then the agenda through the phase's end, and its
 * changes' probing over.
 */
export async function drivePhase(run: PolicyRun, steps: PhaseSteps): Promise<PhaseCalls> {
  const { fromMs, endMs, stepMs, counts, changes } = steps;
  const requestsByName: Record<string, number> = {};
  let served = 0;
  let probes = 0;
  if (changes) run.scheduleChanges(changes.phase, fromMs, endMs, changes.counts, changes.probeLeadMs);
  for (let atMs = fromMs + stepMs; atMs <= endMs; atMs += stepMs) {
    await run.runAgendaThrough(atMs);
    await run.advanceTo(atMs);
    if (steps.turnover && atMs % 60_000 === 0) run.workload.turnOver(steps.turnover);
    const probed = changes ? run.probedChanges(atMs, changes.phase) : [];
    const calls = steps.callsAt(atMs, probed);
    for (const call of calls) {
      requestsByName[call.name] = (requestsByName[call.name] ?? 0) + 1;
      if (call.probeOf) probes++;
    }
    served += calls.length;
    const timedFrom = run.timed.length;
    await Promise.all(calls.map((call) => run.invoke(call, atMs, counts)));
    spreadStep(run.timed.slice(timedFrom), atMs, stepMs);
    steps.afterStep?.(atMs);
  }
  await run.runAgendaThrough(endMs);
  const phaseChanges = changes ? run.checker.changes.filter((c) => c.phase === changes.phase) : [];
  for (const change of phaseChanges) change.done = true;
  return { served, probes, requestsByName, changes: phaseChanges };
}

/**
 * The step's requests on the bill's timeline: each instance's, in the order sent, spread evenly
 * over the step from its time (`spreadOverStep`: the bench sends them at once, clients would not).
 */
function spreadStep(stepRequests: readonly TimedRequest[], atMs: number, stepMs: number): void {
  const byInstance = new Map<number, TimedRequest[]>();
  for (const request of stepRequests) byInstance.set(request.instance, [...(byInstance.get(request.instance) ?? []), request]);
  for (const requests of byInstance.values()) requests.forEach((request, k) => (request.startMs = spreadOverStep(atMs, stepMs, k, requests.length)));
}

/** Finish: nothing left on the agenda, and the held triggers' account of the run (executions no delivery made). */
export async function finishRun(run: PolicyRun): Promise<number> {
  const { agenda } = run;
  if (agenda.length > 0) throw new Error(`${agenda.length} changes or trigger deliveries were left undone at the end of the run`);
  return run.bench.held.finishRun();
}
