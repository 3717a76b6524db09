/**
 * The workload: who calls what, on which instance, and which changes are made. The live
 * sessions (each calls getAvailableApps and getMentorNotificationFrequency once a simulated
 * second and reports usage once a simulated minute; some end every minute and other users start
 * theirs), the calls of one step of each phase drawn from them (a tick of the main run, a second
 * of the low-load phase, a tick of a load-curve point), and the changes in turn: what each
 * writes, through which path, and what it changes in the model. Every choice comes from a seeded
 * stream, so every policy gets the same calls.
 */
import type { Firestore } from "firebase-admin/firestore";
import { scopes } from "../functions/src/redis/markers";
import type { Instance } from "../scripts/harness/instance";
import { sendEvent, subscriptionEvent } from "../scripts/harness/stripe-events";
import { localStripePriceId } from "../scripts/stack/local-stripe";
import type { Change, ChangeKind, ChangePath, UsageReport } from "./checker";
import { benchConfig } from "./config";
import { ModelState, rng, uidOf } from "./model";

export const ticksPerSecond = 1000 / benchConfig.tickMs;
export const ticksPerMinute = ticksPerSecond * 60;

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

export const changeCycle: ChangeKind[] = ["addTester", "approveApp", "setMentor", "stripeUpgrade", "makePrivate", "removeTester"];
/** Changes made through the suite (admin callables, the settings callable, the Stripe webhook); the others are direct writes. */
export const pathOf: Record<ChangeKind, ChangePath> = {
  addTester: "callable",
  removeTester: "callable",
  setMentor: "callable",
  stripeUpgrade: "callable",
  approveApp: "elsewhere",
  makePrivate: "elsewhere",
};
const adminAs = { uid: "bench-admin", claims: { admin: true } };

/** A change's probe on `instance`: the change's probe call, answered there. */
export function probeCall(change: Change, instance: number): Call {
  return { name: change.probe.name, uid: change.probe.uid, instance, data: {}, probeOf: change };
}

/** The markers a change moves (its callable's bump or its trigger's). */
export function markerScopesOf(change: Change): string[] {
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
}

/** A Poisson draw of mean `mean` (Knuth's method; the means here are at most a few tens). */
function poisson(random: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let product = random();
  while (product > limit) {
    k++;
    product *= random();
  }
  return k;
}

/** The load curve's own streams: arrivals, the request mix, session turnover. */
export interface RateStreams {
  arrivals: () => number;
  mix: () => number;
  turnover: () => number;
}

/** What a change writes, how it commits, and the change in the model (applied once the commit is done). */
export interface ChangePlan {
  document: string;
  commit: () => Promise<void>;
  change: Change;
  apply: () => void;
}

/** What a change is planned with: the model, the instance that handles it, and its fields so far. */
export interface ChangeContext {
  state: ModelState;
  db: Firestore;
  /** The instance a callable-driven change is made on. */
  on: Instance;
  /** Everything of the change but what it is about. */
  base: Omit<Change, "uid" | "appId" | "before" | "probe">;
  /** The changes' own stream (what changes), apart from the workload's calls. */
  random: () => number;
}

/** One run's live sessions and the calls drawn from them. */
export class Workload {
  /** The workload's choices: the same calls whatever the changes do. */
  readonly random = rng(7);
  /** The main run's repeated report deliveries, from a stream of their own: the other calls are the same without them. */
  readonly retryRandom = rng(13);
  /** The main run's getCredits after reports, from a stream of their own too. */
  readonly creditProbeRandom = rng(19);
  readonly allUsers = Array.from({ length: benchConfig.seed.users }, (_, i) => uidOf(i));
  readonly sessions: Session[] = [];
  readonly live = new Set<string>();
  private sessionCounter = 0;
  /** Testers the changes added, so that a removal takes one of them back. */
  private readonly addedTesters: string[] = [];

  constructor() {
    while (this.sessions.length < Math.min(benchConfig.liveSessions, this.allUsers.length)) {
      const uid = this.allUsers[Math.floor(this.random() * this.allUsers.length)]!;
      if (this.live.has(uid)) continue;
      this.live.add(uid);
      this.sessions.push(this.newSession(uid));
    }
  }

  private newSession(uid: string): Session {
    return {
      uid,
      sessionId: `s${++this.sessionCounter}-${uid}`,
      phase: Math.floor(this.random() * ticksPerSecond),
      minuteTick: Math.floor(this.random() * ticksPerMinute),
      reports: 0,
    };
  }

  /** The session's next usage report (its id: the session's id and the report's sequence in it). */
  reportCall(session: Session, instance: number, retry?: { tick: number; instance: number }, creditProbe?: { delayTicks: number; instance: number }): Call {
    const seconds = benchConfig.reportSeconds;
    const reportId = `${session.sessionId}-${++session.reports}`;
    const data = { sessionId: session.sessionId, reportId, transcriptionSeconds: seconds, wordsTranscribed: 150 };
    return { name: "recordTranscriptionUsage", uid: session.uid, instance, data, usage: { reportId, seconds, retry, creditProbe } };
  }

  /** Session turnover, once a simulated minute: some sessions end, other users start theirs (cold entries), drawn from `random`. */
  turnOver(random: () => number): void {
    for (let k = 0; k < benchConfig.sessionTurnoverPerMinute; k++) {
      const index = Math.floor(random() * this.sessions.length);
      const idle = this.allUsers.filter((uid) => !this.live.has(uid));
      if (idle.length === 0) break;
      const uid = idle[Math.floor(random() * idle.length)]!;
      this.live.delete(this.sessions[index]!.uid);
      this.live.add(uid);
      this.sessions[index] = this.newSession(uid);
    }
  }

  /**
   * The main run's calls at `tick`, each on a random instance: every session's two reads at its
   * phase of the second, its usage report at its tick of the minute, a seeded share of reports
   * to be delivered again (`retry`) and followed by getCredits on another instance (`creditProbe`).
   */
  mainTickCalls(tick: number, instances: number, totalTicks: number): Call[] {
    const cfg = benchConfig;
    const calls: Call[] = [];
    const pickInstance = () => Math.floor(this.random() * instances);
    for (const session of this.sessions) {
      if (tick % ticksPerSecond === session.phase) {
        calls.push({ name: "getAvailableApps", uid: session.uid, instance: pickInstance(), data: {} });
        calls.push({ name: "getMentorNotificationFrequency", uid: session.uid, instance: pickInstance(), data: {} });
      }
      if (tick % ticksPerMinute === session.minuteTick) {
        const instance = pickInstance();
        let retry: { tick: number; instance: number } | undefined;
        if (this.retryRandom() < cfg.reportRetryShare) {
          retry = { tick: tick + 1 + Math.floor(this.retryRandom() * cfg.reportRetryMaxTicks), instance: Math.floor(this.retryRandom() * instances) };
          if (retry.tick > totalTicks) retry = undefined; // the run ends first
        }
        let creditProbe: { delayTicks: number; instance: number } | undefined;
        if (instances > 1 && this.creditProbeRandom() < cfg.creditProbeShare) {
          const delayTicks = Math.floor(this.creditProbeRandom() * (cfg.creditProbeMaxDelayMs / cfg.tickMs + 1));
          const other = (instance + 1 + Math.floor(this.creditProbeRandom() * (instances - 1))) % instances;
          if (tick + delayTicks <= totalTicks) creditProbe = { delayTicks, instance: other };
        }
        calls.push(this.reportCall(session, instance, retry, creditProbe));
      }
    }
    return calls;
  }

  /**
   * The low-load phase's calls in its `second`: exactly one per instance, a random live user's
   * getAvailableApps and getMentorNotificationFrequency in turn, a recordTranscriptionUsage every
   * `lowLoadUsageEverySeconds` (staggered over the instances), or the probe of a change not yet
   * fresh there.
   */
  lowLoadCalls(second: number, instances: number, probed: readonly Change[], random: () => number): Call[] {
    const every = benchConfig.lowLoadUsageEverySeconds;
    return Array.from({ length: instances }, (_, instance): Call => {
      const session = this.sessions[Math.floor(random() * this.sessions.length)]!;
      const probeOf = probed.find((change) => !change.freshSeen[instance]);
      if (probeOf) return probeCall(probeOf, instance);
      // Usage reports staggered over the instances, so they do not all land in one second.
      const slot = second + Math.floor((instance * every) / instances);
      if (slot % every === 0) return this.reportCall(session, instance);
      return { name: slot % 2 === 0 ? "getAvailableApps" : "getMentorNotificationFrequency", uid: session.uid, instance, data: {} };
    });
  }

  /**
   * A load-curve tick's calls: on each instance a Poisson number of requests (mean
   * `meanPerTick`), each from a random live session and the session's mix (a usage report with
   * probability `usageShare`, at most one per user in a tick, else either read); an instance's
   * first request is the probe of a change not yet fresh there.
   */
  rateTickCalls(instances: number, meanPerTick: number, usageShare: number, probed: readonly Change[], streams: RateStreams): Call[] {
    const calls: Call[] = [];
    /** At most one usage report per user in a tick (a user's reports go one at a time, as in the main run). */
    const reported = new Set<string>();
    for (let instance = 0; instance < instances; instance++) {
      const arrivals = poisson(streams.arrivals, meanPerTick);
      for (let k = 0; k < arrivals; k++) {
        const session = this.sessions[Math.floor(streams.mix() * this.sessions.length)]!;
        const draw = streams.mix();
        const probeOf = k === 0 ? probed.find((change) => !change.freshSeen[instance]) : undefined;
        if (probeOf) {
          calls.push(probeCall(probeOf, instance));
        } else if (draw < usageShare && !reported.has(session.uid)) {
          reported.add(session.uid);
          calls.push(this.reportCall(session, instance));
        } else {
          const name = draw < usageShare + (1 - usageShare) / 2 ? "getAvailableApps" : "getMentorNotificationFrequency";
          calls.push({ name, uid: session.uid, instance, data: {} });
        }
      }
    }
    return calls;
  }

  /**
   * A change of `kind`: the document it writes, its commit (a callable on `context.on`, the
   * Stripe webhook, or a direct write), and the change in the model. Undefined when there is
   * nothing to change (no live user left on the basic plan to upgrade).
   */
  planChange(kind: ChangeKind, context: ChangeContext): ChangePlan | undefined {
    const { state, db, on, base } = context;
    const pick = <T>(list: readonly T[]) => list[Math.floor(context.random() * list.length)]!;
    const liveUsers = this.sessions.map((s) => s.uid);
    const unapprovedIds = [...state.apps].filter(([, a]) => !a.approved && !a.private && !a.disabled).map(([id]) => id);
    switch (kind) {
      case "addTester": {
        const uid = pick(liveUsers.filter((u) => !state.testers.has(u)));
        const apps = new Set([pick(unapprovedIds.filter((id) => state.apps.get(id)!.owner !== uid))]);
        return {
          document: `testers/${uid}`,
          commit: async () => void (await on.call("addTester", { uid, apps: [...apps] }, adminAs)),
          change: { ...base, uid, before: { testerApps: null }, probe: { name: "getAvailableApps", uid } },
          apply: () => {
            state.testers.set(uid, apps);
            this.addedTesters.push(uid);
          },
        };
      }
      case "removeTester": {
        const uid = this.addedTesters.filter((u) => state.testers.has(u)).pop() ?? [...state.testers.keys()][0]!;
        return {
          document: `testers/${uid}`,
          commit: async () => void (await on.call("removeTester", { uid }, adminAs)),
          change: { ...base, uid, before: { testerApps: state.testers.get(uid) ?? null }, probe: { name: "getAvailableApps", uid } },
          apply: () => void state.testers.delete(uid),
        };
      }
      case "approveApp": {
        const appId = pick(unapprovedIds);
        const app = state.apps.get(appId)!;
        const probeUid = pick(liveUsers.filter((u) => u !== app.owner));
        return {
          document: `apps/${appId}`,
          commit: async () => void (await db.doc(`apps/${appId}`).update({ approved: true, status: "approved" })),
          change: { ...base, appId, before: { app: { ...app } }, probe: { name: "getAvailableApps", uid: probeUid } },
          apply: () => void state.apps.set(appId, { ...app, approved: true }),
        };
      }
      case "makePrivate": {
        const publicIds = [...state.apps].filter(([, a]) => a.approved && !a.private && !a.disabled).map(([id]) => id);
        const appId = pick(publicIds);
        const app = state.apps.get(appId)!;
        const probeUid = pick(liveUsers.filter((u) => u !== app.owner));
        return {
          document: `apps/${appId}`,
          commit: async () => void (await db.doc(`apps/${appId}`).update({ private: true })),
          change: { ...base, appId, before: { app: { ...app } }, probe: { name: "getAvailableApps", uid: probeUid } },
          apply: () => void state.apps.set(appId, { ...app, private: true }),
        };
      }
      case "setMentor": {
        const uid = pick(liveUsers);
        const old = state.mentor.get(uid) ?? 0;
        const frequency = (old + 1 + Math.floor(context.random() * 5)) % 6;
        return {
          document: `users/${uid}`,
          commit: async () => void (await on.call("setMentorNotificationFrequency", { frequency }, { uid })),
          change: { ...base, uid, before: { mentor: old }, probe: { name: "getMentorNotificationFrequency", uid } },
          apply: () => void state.mentor.set(uid, frequency),
        };
      }
      case "stripeUpgrade": {
        const candidates = liveUsers.filter((uid) => state.plan.get(uid) === "basic");
        if (candidates.length === 0) return undefined;
        const uid = pick(candidates);
        const event = subscriptionEvent({ customer: `cus_bench_${uid}`, uid, priceId: localStripePriceId("pro"), subscriptionId: `sub_bench_${uid}` });
        return {
          document: `users/${uid}`,
          commit: async () => {
            const response = await sendEvent(on, event);
            if (response.status !== 200) throw new Error(`stripeWebhook answered ${response.status}: ${JSON.stringify(response.body)}`);
          },
          change: { ...base, uid, before: { plan: "basic" }, probe: { name: "getCredits", uid } },
          apply: () => void state.plan.set(uid, "pro"),
        };
      }
    }
  }
}
