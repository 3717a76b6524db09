/**
 * The benchmark's data and its ground truth: a deterministic seed (same data for every
 * policy), the model of what each user must be served, and the checker every answer goes
 * through (workload calls and freshness probes alike).
 */
import type { Firestore } from "firebase-admin/firestore";
import { enabledAppsKey, installsKey } from "../functions/src/apps/enrichment";
import type { Plan } from "../functions/src/credits/plans";
import { hourlyUsageDocId } from "../functions/src/credits/time";
import { firebaseAdminFirestore } from "../scripts/lib/functions-deps";
import { localStripePriceId } from "../scripts/lib/local-stripe";

/** Deterministic PRNG (mulberry32): every policy sees the same data and the same workload. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SeedConfig {
  users: number;
  heavyUsers: number;
  publicApps: number;
  privateApps: number;
  unapprovedApps: number;
  disabledApps: number;
  testers: number;
  basicLimitSeconds: number;
}

export interface AppState {
  owner: string;
  private: boolean;
  approved: boolean;
  disabled: boolean;
}

export interface ModelState {
  apps: Map<string, AppState>;
  testers: Map<string, Set<string>>;
  mentor: Map<string, number>;
  plan: Map<string, Plan>;
}

export const uidOf = (i: number) => `user-${String(i).padStart(3, "0")}`;

export function visible(state: Pick<ModelState, "apps" | "testers">, uid: string, appId: string, override?: { app?: AppState; testerApps?: Set<string> | null }): boolean {
  const app = override?.app ?? state.apps.get(appId);
  if (!app || app.disabled) return false;
  if (!app.private && app.approved) return true;
  if (app.owner === uid) return true;
  const list = override && "testerApps" in override ? override.testerApps : state.testers.get(uid);
  return !app.approved && (list?.has(appId) ?? false);
}

export function expectedApps(state: ModelState, uid: string): Set<string> {
  const ids = new Set<string>();
  for (const id of state.apps.keys()) if (visible(state, uid, id)) ids.add(id);
  return ids;
}

/** Writes the seed data; returns the model of it. */
export async function seed(db: Firestore, config: SeedConfig, wallNow: Date): Promise<{ state: ModelState; redisSeed: { sets: Record<string, string[]>; counters: Record<string, number> } }> {
  const { Timestamp } = firebaseAdminFirestore();
  const random = rng(20261125);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const users = Array.from({ length: config.users }, (_, i) => uidOf(i));
  const state: ModelState = { apps: new Map(), testers: new Map(), mentor: new Map(), plan: new Map() };
  let batch = db.batch();
  let pending = 0;
  const commits: Promise<unknown>[] = [];
  const write = (path: string, data: Record<string, unknown>) => {
    batch.set(db.doc(path), data);
    if (++pending >= 450) {
      commits.push(batch.commit());
      batch = db.batch();
      pending = 0;
    }
  };

  const year = wallNow.getUTCFullYear();
  const month = wallNow.getUTCMonth() + 1;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const periodEndS = Math.floor(wallNow.getTime() / 1000) + 30 * 86400;

  users.forEach((uid, i) => {
    // Heavy users (the first `heavyUsers`) are basic, with a usage document for every hour of the month.
    const roll = random();
    const plan: Plan = i < config.heavyUsers ? "basic" : roll < 0.2 ? "pro" : roll < 0.25 ? "unlimited" : "basic";
    const frequency = Math.floor(random() * 6);
    state.plan.set(uid, plan);
    state.mentor.set(uid, frequency);
    const doc: Record<string, unknown> = { mentor_notification_frequency: frequency };
    if (plan !== "basic") {
      doc.subscription = {
        plan,
        status: "active",
        current_period_end: periodEndS,
        stripe_subscription_id: `sub_seed_${uid}`,
        current_price_id: localStripePriceId(plan),
        cancel_at_period_end: false,
        stripe_event_id: "evt_seed",
        stripe_event_created: 1,
        stripe_event_rank: 0,
      };
    }
    write(`users/${uid}`, doc);
    const hours: [number, number][] = [];
    if (i < config.heavyUsers) {
      for (let day = 1; day <= daysInMonth; day++) for (let hour = 0; hour < 24; hour++) hours.push([day, hour]);
    } else {
      const n = Math.floor(random() * 8);
      for (let k = 0; k < n; k++) hours.push([1 + Math.floor(random() * Math.min(daysInMonth, 24)), Math.floor(random() * 24)]);
    }
    const perHour = i < config.heavyUsers ? 1 : 5 + Math.floor(random() * 40);
    for (const [day, hour] of hours) {
      const id = hourlyUsageDocId(new Date(Date.UTC(year, month - 1, day, hour)));
      write(`users/${uid}/hourly_usage/${id}`, { transcription_seconds: perHour, words_transcribed: perHour * 2, year, month, day, hour, id });
    }
  });

  const categories = ["productivity", "health", "language", "utilities", "entertainment", "personal"];
  const addApp = (id: string, app: AppState, status: string) => {
    state.apps.set(id, app);
    write(`apps/${id}`, {
      id,
      name: `App ${id}`,
      uid: app.owner,
      private: app.private,
      approved: app.approved,
      status,
      disabled: app.disabled,
      category: pick(categories),
      description: `Benchmark app ${id}: listens to your conversations and helps.`,
      image: `https://example.com/apps/${id}.png`,
      capabilities: ["chat", "memories"].slice(0, 1 + Math.floor(random() * 2)),
      created_at: Timestamp.fromMillis(wallNow.getTime() - Math.floor(random() * 365) * 86400_000),
    });
  };
  for (let i = 0; i < config.publicApps; i++) addApp(`pub-${i}`, { owner: pick(users), private: false, approved: true, disabled: false }, "approved");
  for (let i = 0; i < config.privateApps; i++) addApp(`priv-${i}`, { owner: pick(users), private: true, approved: random() < 0.5, disabled: false }, "approved");
  const unapproved: string[] = [];
  for (let i = 0; i < config.unapprovedApps; i++) {
    const id = `unap-${i}`;
    unapproved.push(id);
    addApp(id, { owner: pick(users), private: false, approved: false, disabled: false }, random() < 0.2 ? "rejected" : "under-review");
  }
  for (let i = 0; i < config.disabledApps; i++) addApp(`dis-${i}`, { owner: pick(users), private: false, approved: true, disabled: true }, "approved");

  // Testers: spread over the user range so some are in live sessions; 2-4 unapproved apps each.
  for (let t = 0; t < config.testers; t++) {
    const uid = uidOf(Math.floor((t * config.users) / config.testers) + 3);
    const apps = new Set<string>();
    const n = 2 + Math.floor(random() * 3);
    while (apps.size < n) apps.add(pick(unapproved));
    state.testers.set(uid, apps);
    write(`testers/${uid}`, { uid, apps: [...apps].sort(), added_at: Timestamp.fromMillis(wallNow.getTime() - 86400_000) });
  }
  commits.push(batch.commit());
  await Promise.all(commits);

  const sets: Record<string, string[]> = {};
  const counters: Record<string, number> = {};
  const publicIds = [...state.apps.keys()].filter((id) => id.startsWith("pub-"));
  for (const uid of users) {
    const n = Math.floor(random() * 4);
    if (n > 0) sets[enabledAppsKey(uid)] = Array.from({ length: n }, () => pick(publicIds));
  }
  for (const id of publicIds) counters[installsKey(id)] = Math.floor(random() * 500);
  return { state, redisSeed: { sets, counters } };
}

// ---------------------------------------------------------------------------------------
// Changes and the answer checker

export type ChangeKind = "addTester" | "approveApp" | "setMentor" | "stripeUpgrade" | "makePrivate" | "removeTester";

export interface Change {
  id: number;
  kind: ChangeKind;
  /** Simulated (instance-clock) ms since the run started when the change committed and its trigger wrote the marker. */
  atMs: number;
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
  /** Answers with the old state later than the contract's bound. */
  violations: number;
  /** Probing gave up before every instance was fresh. */
  timedOut: boolean;
  done: boolean;
}

export interface Verdict {
  wrong: number;
  violations: number;
  details: string[];
  /** Changes whose old state this answer showed. */
  staleFor: Set<number>;
}

export interface Checker {
  state: ModelState;
  changes: Change[];
  boundMs: number;
  /** Records an answer; returns what was wrong with it. */
  checkApps(uid: string, instance: number, atMs: number, appIds: readonly string[]): Verdict;
  checkMentor(uid: string, instance: number, atMs: number, frequency: number): Verdict;
  checkCredits(uid: string, instance: number, atMs: number, remaining: number | null, limitSeconds: number): Verdict;
}

export function createChecker(state: ModelState, boundMs: number): Checker {
  const changes: Change[] = [];
  const stale = (change: Change, instance: number, atMs: number, verdict: Verdict, what: string) => {
    change.lastOldMs[instance] = Math.max(change.lastOldMs[instance] ?? -1, atMs);
    verdict.staleFor.add(change.id);
    if (atMs - change.atMs > boundMs) {
      change.violations++;
      verdict.violations++;
      if (verdict.details.length < 3) verdict.details.push(`${what}: old state ${atMs - change.atMs} ms after change #${change.id} (${change.kind})`);
    }
  };
  const latest = (match: (c: Change) => boolean) => {
    for (let i = changes.length - 1; i >= 0; i--) if (match(changes[i]!)) return changes[i];
    return undefined;
  };

  return {
    state,
    changes,
    boundMs,
    checkApps(uid, instance, atMs, appIds) {
      const verdict: Verdict = { wrong: 0, violations: 0, details: [], staleFor: new Set<number>() };
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
          (c) => (c.appId === appId && (c.kind === "approveApp" || c.kind === "makePrivate")) || (c.uid === uid && (c.kind === "addTester" || c.kind === "removeTester")),
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
      const verdict: Verdict = { wrong: 0, violations: 0, details: [], staleFor: new Set<number>() };
      if (frequency === state.mentor.get(uid)) return verdict;
      const change = latest((c) => c.kind === "setMentor" && c.uid === uid);
      if (change && change.before.mentor === frequency) stale(change, instance, atMs, verdict, `${uid}/mentor`);
      else {
        verdict.wrong++;
        verdict.details.push(`${uid}: mentor frequency ${frequency}, expected ${state.mentor.get(uid)}`);
      }
      return verdict;
    },
    checkCredits(uid, instance, atMs, remaining, limitSeconds) {
      const verdict: Verdict = { wrong: 0, violations: 0, details: [], staleFor: new Set<number>() };
      const unlimited = state.plan.get(uid) !== "basic";
      const servedUnlimited = remaining === null;
      if (!servedUnlimited && (typeof remaining !== "number" || remaining < 0 || remaining > limitSeconds)) {
        verdict.wrong++;
        verdict.details.push(`${uid}: remainingSeconds ${String(remaining)} out of range`);
        return verdict;
      }
      if (servedUnlimited === unlimited) return verdict;
      const change = latest((c) => c.kind === "stripeUpgrade" && c.uid === uid);
      if (change && (change.before.plan !== "basic") === servedUnlimited) stale(change, instance, atMs, verdict, `${uid}/credits`);
      else {
        verdict.wrong++;
        verdict.details.push(`${uid}: remainingSeconds ${String(remaining)} for plan ${state.plan.get(uid)}`);
      }
      return verdict;
    },
  };
}
