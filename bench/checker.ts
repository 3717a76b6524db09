/**
 * The checks every answer goes through (workload calls and freshness probes alike), against
 * the model of the data (bench/model.ts) and the changes the run made: what is right, what is
 * stale (the state just before the latest change that touches it), what is a violation of the
 * contract's bound, and what is wrong.
 *
 * Credits are checked to the second: the checker knows each user's seeded usage of the month and
 * every usage report the run made (its seconds, and when, on the instance clock, it was
 * answered), so it knows the one figure the fleet must answer, and which older figures are
 * still allowed (`checkCredits`).
 */
import type { Plan } from "../functions/src/credits/plans";
import { AppState, expectedApps, ModelState, visible } from "./model";

export type ChangeKind = "addTester" | "approveApp" | "setMentor" | "stripeUpgrade" | "makePrivate" | "removeTester";

/**
 * How a change reaches the markers. `callable`: made through the suite (an admin callable, a
 * settings callable, the Stripe webhook), which bumps its markers right after its commit; its
 * trigger, delivered later, names the same change and bumps nothing. `elsewhere`: a write made
 * outside the suite (an operator's direct write), bumped only by its trigger.
 */
export type ChangePath = "callable" | "elsewhere";

/** The phase a change was made in: the main run, the low-load phase, or a point of the load curve (bench/curve.ts). */
export type ChangePhase = "main" | "lowLoad" | `curve@${number}`;

export interface Change {
  id: number;
  kind: ChangeKind;
  path: ChangePath;
  phase: ChangePhase;
  /** Simulated (instance-clock) ms since the run started at which the change committed. */
  atMs: number;
  /**
   * When its marker was written: at the commit for a callable-driven change (the callable's own
   * bump), at the trigger's delivery for a change made elsewhere. The contract's bound counts from here.
   */
  markerAtMs: number;
  /** When the change's trigger is delivered (the commit plus the modelled trigger delay). */
  triggerAtMs: number;
  /** Probing starts here: at the commit for a callable-driven change, one request interval before the marker write for one made elsewhere. */
  probeFromMs: number;
  uid?: string;
  appId?: string;
  /** The state the change replaced. */
  before: { app?: AppState; testerApps?: Set<string> | null; mentor?: number; plan?: Plan };
  /** Who to ask, on every instance, until each serves the new state. */
  probe: { name: "getAvailableApps" | "getMentorNotificationFrequency" | "getCredits"; uid: string };
  /** Instance index that handled the change (callables and webhook), or -1 (a direct write). */
  handledBy: number;
  /** Per instance: the latest simulated ms at which it served the old state (-1 = never). */
  lastOldMs: number[];
  /** Per instance: it has served the new state to a probe. */
  freshSeen: boolean[];
  /** Per instance: the simulated ms of that first new answer to a probe (-1 = not yet). */
  freshAtMs: number[];
  /** Answers with the old state later than the contract's bound. */
  violations: number;
  /** Probing gave up before every instance was fresh. */
  timedOut: boolean;
  done: boolean;
}

/**
 * How long after `fromMs` any instance served a change's old state (0: never after it): the
 * window's lower bound, at the resolution of the requests (an instance not asked in between
 * could only have answered the same).
 */
export function staleForMs(change: Pick<Change, "lastOldMs">, fromMs: number): number {
  return Math.max(0, ...change.lastOldMs.map((t) => (t < 0 ? 0 : t - fromMs)));
}

/**
 * How long after `fromMs` every instance had answered a probe with the new state: the window's
 * upper bound. Undefined while some instance has not.
 */
export function freshEverywhereMs(change: Pick<Change, "freshAtMs">, fromMs: number): number | undefined {
  if (change.freshAtMs.some((t) => t < 0)) return undefined;
  return Math.max(0, ...change.freshAtMs.map((t) => t - fromMs));
}

export interface Verdict {
  wrong: number;
  violations: number;
  details: string[];
  /** Changes whose old state this answer showed. */
  staleFor: Set<number>;
  /** A basic-plan credit figure that is allowed but not the latest: the figure from before a report answered less than the bound earlier. */
  lagged: boolean;
}

/** One usage report (a `reportId`), however many times it is delivered. */
export interface UsageReport {
  uid: string;
  reportId: string;
  seconds: number;
  /** The instance its first delivery went to. */
  instance: number;
  /** Simulated ms at which its first delivery was answered (or failed); undefined while in flight. */
  answeredAtMs?: number;
  /** Its first delivery failed: whether it was applied is unknown (both are allowed from then on). */
  unknown: boolean;
}

/** What recordTranscriptionUsage answered. */
export interface UsageAnswer {
  remainingSeconds: number | null;
  hasCredits?: boolean;
  freemiumThresholdReached?: boolean;
  action?: string;
  duplicate?: boolean;
}

export interface Checker {
  state: ModelState;
  changes: Change[];
  boundMs: number;
  /**
   * Basic-plan credit figures checked to the second, how many of them were a report's own
   * answer, and how many were allowed only by the 2 s lag (the figure from before a report).
   */
  figuresChecked: { total: number; ownReport: number; lagged: number };
  /** Records an answer; returns what was wrong with it. */
  checkApps(uid: string, instance: number, atMs: number, appIds: readonly string[]): Verdict;
  checkMentor(uid: string, instance: number, atMs: number, frequency: number): Verdict;
  /**
   * A credits answer (getCredits, or a recordTranscriptionUsage's `remainingSeconds`). `own`: the
   * report this answer is the first delivery of, which the answer must include.
   */
  checkCredits(uid: string, instance: number, atMs: number, remaining: number | null, limitSeconds: number, own?: UsageReport): Verdict;
  /** A report's first delivery is about to be sent (so answers from then on may include it). */
  startReport(uid: string, reportId: string, seconds: number, instance: number): UsageReport;
  /** The first delivery's answer: counted, not a duplicate, and a credits answer that includes it. */
  checkReport(report: UsageReport, instance: number, atMs: number, answer: UsageAnswer, limitSeconds: number): Verdict;
  /** A repeated delivery's answer: a duplicate that counted nothing, and a credits answer. */
  checkRetry(report: UsageReport, instance: number, atMs: number, answer: UsageAnswer, limitSeconds: number): Verdict;
  /** The first delivery failed (an error): applied or not, the model cannot tell. */
  reportFailed(report: UsageReport, atMs: number): void;
}

export function createChecker(state: ModelState, boundMs: number): Checker {
  const changes: Change[] = [];
  /** Per user, every report of the run, in the order they were sent (one at a time per user). */
  const reports = new Map<string, UsageReport[]>();
  const reportsOf = (uid: string) => {
    let list = reports.get(uid);
    if (!list) reports.set(uid, (list = []));
    return list;
  };
  const figuresChecked = { total: 0, ownReport: 0, lagged: 0 };
  const newVerdict = (): Verdict => ({ wrong: 0, violations: 0, details: [], staleFor: new Set<number>(), lagged: false });
  const wrong = (verdict: Verdict, detail: string) => {
    verdict.wrong++;
    if (verdict.details.length < 3) verdict.details.push(detail);
  };

  /**
   * The usage figures (seconds used this month) a credits answer at `atMs` may show, and every
   * figure the run went through (for the detail of a wrong answer).
   * The figure after the first k reports of the user (seeded usage plus their seconds) is allowed
   * when it is the latest one (every report sent so far), or when report k+1 was answered less
   * than `boundMs` before (the fleet may answer the figure from before a report for up to 2 s of
   * the instance clock), or is still in flight (it may not have committed yet). A report whose
   * delivery failed may have applied or not: both sums go on. An answer to report `own` itself
   * must include it: only figures after it.
   */
  const usageFigures = (uid: string, atMs: number, own?: UsageReport) => {
    const list = reportsOf(uid);
    const ownIndex = own ? list.indexOf(own) : -1;
    const allowed = new Set<number>();
    /** history[k]: the figures after the first k reports. */
    const history: Set<number>[] = [];
    let used = new Set([state.seededUsage.get(uid) ?? 0]);
    for (let k = 0; k <= list.length; k++) {
      const next = list[k];
      history.push(used);
      const recent = next === undefined || next.answeredAtMs === undefined || atMs - next.answeredAtMs < boundMs;
      if (recent && k > ownIndex) for (const u of used) allowed.add(u);
      if (next) {
        const added = new Set([...used].map((u) => u + next.seconds));
        used = next.unknown ? new Set([...used, ...added]) : added;
      }
    }
    return { allowed, now: used, history };
  };

  /** A basic-plan figure answered at `atMs`; adds to `verdict` when it is not one the model allows. */
  const checkFigure = (verdict: Verdict, uid: string, instance: number, atMs: number, remaining: number, limitSeconds: number, own?: UsageReport) => {
    const remainingOf = (used: number) => Math.max(0, limitSeconds - used);
    figuresChecked.total++;
    if (own) figuresChecked.ownReport++;
    const { allowed, now, history } = usageFigures(uid, atMs, own);
    if ([...allowed].some((used) => remainingOf(used) === remaining)) {
      if (![...now].some((used) => remainingOf(used) === remaining)) {
        verdict.lagged = true;
        figuresChecked.lagged++;
      }
      return;
    }
    const expected = [...new Set([...now].map(remainingOf))].join(" or ");
    const alsoAllowed = [...new Set([...allowed].map(remainingOf))].filter((r) => ![...now].map(remainingOf).includes(r));
    // Which figure of the run it was, if any: how many of the reports it counts (reports of
    // equal seconds give equal figures: which ones, the answer cannot say).
    const list = reportsOf(uid);
    const k = [...history.keys()].reverse().find((i) => [...history[i]!].some((used) => remainingOf(used) === remaining));
    const before = k === undefined ? undefined : list[k];
    const what =
      k === undefined
        ? "no figure of the run"
        : `the figure of the seeded ${state.seededUsage.get(uid) ?? 0} s and ${k} of the ${list.length} reports` +
          (before === undefined || before === own
            ? ""
            : ` (as before ${before.reportId}, answered ${before.answeredAtMs === undefined ? "(in flight)" : `${atMs - before.answeredAtMs} ms`} earlier)`);
    const reportsSent = list
      .slice(-5)
      .map(
        (r) =>
          `${r.reportId} on instance ${r.instance} ${r === own ? "(this one)" : r.answeredAtMs === undefined ? "(in flight)" : `at ${r.answeredAtMs} ms`}${r.unknown ? " (failed)" : ""}`,
      )
      .join(", ");
    wrong(
      verdict,
      `${uid} on instance ${instance} at ${atMs} ms: remainingSeconds ${remaining}, expected ${expected}` +
        (alsoAllowed.length > 0 ? ` (or ${alsoAllowed.join(", ")}, within ${boundMs} ms of a report)` : "") +
        `${own ? ` in the answer to ${own.reportId}` : ""}: it is ${what}; reports: ${reportsSent || "none"}`,
    );
  };
  const stale = (change: Change, instance: number, atMs: number, verdict: Verdict, what: string) => {
    change.lastOldMs[instance] = Math.max(change.lastOldMs[instance] ?? -1, atMs);
    verdict.staleFor.add(change.id);
    // The bound counts from the marker write: the commit for a callable-driven change, the
    // trigger's delivery for one made elsewhere.
    if (atMs - change.markerAtMs > boundMs) {
      change.violations++;
      verdict.violations++;
      if (verdict.details.length < 3) {
        verdict.details.push(
          `${what}: old state ${atMs - change.markerAtMs} ms after the marker write of change #${change.id} (${change.kind}, ${change.path}; committed ${atMs - change.atMs} ms earlier)`,
        );
      }
    }
  };
  const latest = (match: (c: Change) => boolean) => {
    for (let i = changes.length - 1; i >= 0; i--) if (match(changes[i]!)) return changes[i];
    return undefined;
  };

  /** A credits answer: `null` for a paid plan (or stale after an upgrade), else an exact figure (`checkFigure`). */
  const checkCredits: Checker["checkCredits"] = (uid, instance, atMs, remaining, limitSeconds, own) => {
    const verdict = newVerdict();
    const unlimited = state.plan.get(uid) !== "basic";
    const servedUnlimited = remaining === null;
    if (!servedUnlimited && (typeof remaining !== "number" || !Number.isInteger(remaining) || remaining < 0 || remaining > limitSeconds)) {
      wrong(verdict, `${uid}: remainingSeconds ${String(remaining)} out of range`);
      return verdict;
    }
    // A number is a basic-plan figure, the current plan's or (stale, after an upgrade) the old one's: it must be right.
    if (servedUnlimited === unlimited) {
      if (!servedUnlimited) checkFigure(verdict, uid, instance, atMs, remaining, limitSeconds, own);
      return verdict;
    }
    const change = latest((c) => c.kind === "stripeUpgrade" && c.uid === uid);
    if (change && (change.before.plan !== "basic") === servedUnlimited) {
      stale(change, instance, atMs, verdict, `${uid}/credits`);
      if (!servedUnlimited) checkFigure(verdict, uid, instance, atMs, remaining, limitSeconds, own);
    } else {
      wrong(verdict, `${uid}: remainingSeconds ${String(remaining)} for plan ${state.plan.get(uid)}`);
    }
    return verdict;
  };

  return {
    state,
    changes,
    boundMs,
    figuresChecked,
    checkApps(uid, instance, atMs, appIds) {
      const verdict = newVerdict();
      const answered = new Set(appIds);
      if (answered.size !== appIds.length) {
        verdict.wrong++;
        verdict.details.push(`${uid}: duplicate app ids`);
      }
      const universe = new Set([...answered, ...expectedApps(state, uid)]);
      for (const appId of universe) {
        const served = answered.has(appId);
        if (served === visible(state, uid, appId)) continue;
        const change = latest(
          (c) =>
            (c.appId === appId && (c.kind === "approveApp" || c.kind === "makePrivate")) ||
            (c.uid === uid && (c.kind === "addTester" || c.kind === "removeTester")),
        );
        const before =
          change === undefined
            ? undefined
            : change.kind === "approveApp" || change.kind === "makePrivate"
              ? visible(state, uid, appId, { app: change.before.app })
              : visible(state, uid, appId, { testerApps: change.before.testerApps ?? null });
        if (change && before === served) {
          stale(change, instance, atMs, verdict, `${uid}/${appId}`);
        } else {
          verdict.wrong++;
          if (verdict.details.length < 3) verdict.details.push(`${uid}: app ${appId} ${served ? "served but not visible" : "visible but missing"}`);
        }
      }
      return verdict;
    },
    checkMentor(uid, instance, atMs, frequency) {
      const verdict = newVerdict();
      if (frequency === state.mentor.get(uid)) return verdict;
      const change = latest((c) => c.kind === "setMentor" && c.uid === uid);
      if (change && change.before.mentor === frequency) stale(change, instance, atMs, verdict, `${uid}/mentor`);
      else {
        verdict.wrong++;
        verdict.details.push(`${uid}: mentor frequency ${frequency}, expected ${state.mentor.get(uid)}`);
      }
      return verdict;
    },
    checkCredits,
    startReport(uid, reportId, seconds, instance) {
      const report: UsageReport = { uid, reportId, seconds, instance, unknown: false };
      reportsOf(uid).push(report);
      return report;
    },
    checkReport(report, instance, atMs, answer, limitSeconds) {
      report.answeredAtMs = atMs;
      const verdict = checkCredits(report.uid, instance, atMs, answer.remainingSeconds, limitSeconds, report);
      if (answer.duplicate === true) wrong(verdict, `${report.uid}: the first delivery of ${report.reportId} answered duplicate: true on instance ${instance}`);
      return verdict;
    },
    checkRetry(report, instance, atMs, answer, limitSeconds) {
      const verdict = checkCredits(report.uid, instance, atMs, answer.remainingSeconds, limitSeconds);
      // After a failed first delivery either answer is right: this delivery may be the one that applies.
      if (report.unknown) return verdict;
      const { duplicate, freemiumThresholdReached, action } = answer;
      if (duplicate !== true || freemiumThresholdReached !== false || action !== "none") {
        wrong(
          verdict,
          `${report.uid}: the repeated delivery of ${report.reportId} on instance ${instance} answered ` +
            `duplicate: ${String(duplicate)}, freemiumThresholdReached: ${String(freemiumThresholdReached)}, action: ${String(action)} (expected true, false, "none")`,
        );
      }
      return verdict;
    },
    reportFailed(report, atMs) {
      report.answeredAtMs = atMs;
      report.unknown = true;
    },
  };
}
