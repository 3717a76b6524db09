/**
 * The benchmark's data and its ground truth: a deterministic seed (same data for every
 * policy) and the model of what each user must be served. The checker (bench/checker.ts) holds
 * every answer against it.
 */
import type { Firestore } from "firebase-admin/firestore";
import { enabledAppsKey, installsKey } from "../functions/src/apps/enrichment";
import type { Plan } from "../functions/src/credits/plans";
import { hourlyUsageDocId } from "../functions/src/credits/time";
import { firebaseAdminFirestore } from "../scripts/stack/functions-deps";
import { localStripePriceId } from "../scripts/stack/local-stripe";

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
  /** Transcription seconds of this UTC month in the seeded usage documents, per user (0 when none). */
  seededUsage: Map<string, number>;
}

export const uidOf = (i: number) => `user-${String(i).padStart(3, "0")}`;

export function visible(
  state: Pick<ModelState, "apps" | "testers">,
  uid: string,
  appId: string,
  override?: { app?: AppState; testerApps?: Set<string> | null },
): boolean {
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
export async function seed(
  db: Firestore,
  config: SeedConfig,
  wallNow: Date,
): Promise<{ state: ModelState; redisSeed: { sets: Record<string, string[]>; counters: Record<string, number> } }> {
  const { Timestamp } = firebaseAdminFirestore();
  const random = rng(20261125);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const users = Array.from({ length: config.users }, (_, i) => uidOf(i));
  const state: ModelState = { apps: new Map(), testers: new Map(), mentor: new Map(), plan: new Map(), seededUsage: new Map() };
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
    const ids = new Set<string>();
    for (const [day, hour] of hours) {
      const id = hourlyUsageDocId(new Date(Date.UTC(year, month - 1, day, hour)));
      ids.add(id);
      write(`users/${uid}/hourly_usage/${id}`, { transcription_seconds: perHour, words_transcribed: perHour * 2, year, month, day, hour, id });
    }
    // An hour drawn twice is the same document, written twice with the same data: counted once.
    state.seededUsage.set(uid, perHour * ids.size);
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
  for (let i = 0; i < config.privateApps; i++)
    addApp(`priv-${i}`, { owner: pick(users), private: true, approved: random() < 0.5, disabled: false }, "approved");
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
