/**
 * Demo data for the local stack: Auth-emulator users and their Firestore documents.
 *
 * `seed()` runs `seedSteps` in order. To add demo data, append a step: a named async
 * function of the context (the Auth emulator, an admin Firestore client on the emulator,
 * and the users created so far). Steps should be idempotent, so seeding twice is harmless.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Redis } from "@upstash/redis";
import type { Firestore } from "firebase-admin/firestore";
import { basicMonthlySeconds } from "../../functions/src/credits/plans";
import { applyParamDefaults } from "./param-defaults";
import { freemiumThresholdSeconds } from "../../functions/src/credits/threshold";
import { hourlyUsageDocId } from "../../functions/src/credits/time";
import { signInWithPassword } from "./emulator-client";
import { firestoreOn } from "./firestore-on";
import { firebaseAdminApp } from "./functions-deps";
import { localStripePriceId } from "./local-stripe";

export interface SeedUser {
  uid: string;
  email: string;
  password: string;
  claims: Record<string, unknown>;
}

export interface SeedContext {
  projectId: string;
  /** e.g. `http://127.0.0.1:9099` */
  authUrl: string;
  firestore: Firestore;
  /** Users created by the steps so far, by short name (`alice`, `bob`). */
  users: Record<string, SeedUser>;
  /** The local Upstash gateway (enabled apps, install counters), when given. */
  redis?: Redis;
  log(message: string): void;
}

export interface SeedStep {
  name: string;
  run(context: SeedContext): Promise<void>;
}

export const demoPassword = "password";

const demoUsers: { key: string; email: string; claims: Record<string, unknown> }[] = [
  { key: "alice", email: "alice@example.com", claims: {} },
  { key: "bob", email: "bob@example.com", claims: { admin: true } },
  { key: "carol", email: "carol@example.com", claims: {} },
];

/** The marketplace demo (its promised getAvailableApps answers are checked by test/apps/seed-data.spec.ts). */
interface AppsSeed {
  apps: ({ id: string; owner: string; case?: string } & Record<string, unknown>)[];
  testers: { user: string; apps: string[] }[];
  redis: { sets: Record<string, string[]>; counters: Record<string, number> };
}
const appsSeedFile = path.join(__dirname, "../../docs/apps-seed.json");

/** Carol is a basic user this many seconds above the freemium threshold (180 s) this month. */
const carolSecondsAboveThreshold = 60;

function userKeyToUid(context: SeedContext, key: string): string {
  const user = context.users[key];
  if (!user) throw new Error(`seed data names user "${key}", who was not created`);
  return user.uid;
}

export const seedSteps: SeedStep[] = [
  {
    name: "Auth users (alice, bob with admin: true)",
    async run(context) {
      for (const user of demoUsers) {
        const uid = await ensureAuthUser(context, user.email, demoPassword);
        if (Object.keys(user.claims).length > 0) await setCustomClaims(context, uid, user.claims);
        context.users[user.key] = { uid, email: user.email, password: demoPassword, claims: user.claims };
      }
    },
  },
  {
    name: "users/{uid} documents",
    async run(context) {
      for (const user of Object.values(context.users)) {
        // No subscription map: a user without one is on the basic plan.
        await context.firestore.doc(`users/${user.uid}`).set({ mentor_notification_frequency: 0 }, { merge: true });
      }
    },
  },
  {
    name: "mentor notification frequency (alice: 2)",
    async run(context) {
      await context.firestore.doc(`users/${userKeyToUid(context, "alice")}`).set({ mentor_notification_frequency: 2 }, { merge: true });
    },
  },
  {
    name: "subscriptions (bob: pro, active for 30 days; alice and carol: basic)",
    async run(context) {
      const periodEndS = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
      await context.firestore.doc(`users/${userKeyToUid(context, "bob")}`).set(
        {
          subscription: {
            plan: "pro",
            status: "active",
            current_period_end: periodEndS,
            stripe_subscription_id: "sub_demo_bob",
            current_price_id: localStripePriceId("pro"),
            cancel_at_period_end: false,
          },
        },
        { merge: true },
      );
    },
  },
  {
    name: `transcription usage (carol: ${carolSecondsAboveThreshold} s above the freemium threshold)`,
    async run(context) {
      const uid = userKeyToUid(context, "carol");
      const usedSeconds = basicMonthlySeconds() - freemiumThresholdSeconds - carolSecondsAboveThreshold;
      // A few hours of this month's sessions (never reaching into last month).
      const now = new Date();
      const hoursThisMonthSoFar = (now.getUTCDate() - 1) * 24 + now.getUTCHours() + 1;
      const hours = Math.min(3, hoursThisMonthSoFar);
      const perHourSeconds = Math.floor(usedSeconds / hours);
      const batch = context.firestore.batch();
      for (let h = 0; h < hours; h++) {
        const at = new Date(now.getTime() - h * 3600_000);
        const id = hourlyUsageDocId(at);
        // The current hour takes the remainder, so the month sums to usedSeconds exactly.
        const seconds = h === 0 ? usedSeconds - perHourSeconds * (hours - 1) : perHourSeconds;
        batch.set(context.firestore.doc(`users/${uid}/hourly_usage/${id}`), {
          id,
          year: at.getUTCFullYear(),
          month: at.getUTCMonth() + 1,
          day: at.getUTCDate(),
          hour: at.getUTCHours(),
          transcription_seconds: seconds,
          words_transcribed: seconds * 2,
          last_updated: now,
        });
      }
      await batch.commit();
    },
  },
  {
    name: "marketplace apps and testers (docs/apps-seed.json)",
    async run(context) {
      const data = JSON.parse(readFileSync(appsSeedFile, "utf8")) as AppsSeed;
      const batch = context.firestore.batch();
      for (const { id, owner, case: _case, ...fields } of data.apps) {
        batch.set(context.firestore.doc(`apps/${id}`), { ...fields, id, uid: userKeyToUid(context, owner), created_at: new Date() });
      }
      for (const tester of data.testers) {
        const uid = userKeyToUid(context, tester.user);
        batch.set(context.firestore.doc(`testers/${uid}`), { uid, apps: tester.apps, added_at: new Date() });
      }
      await batch.commit();
      if (!context.redis) return;
      const pipeline = context.redis.pipeline();
      for (const [pattern, members] of Object.entries(data.redis.sets)) {
        const key = pattern.replace(/\{(\w+)\}/g, (_m, user: string) => userKeyToUid(context, user));
        if (members.length > 0) pipeline.sadd(key, members[0]!, ...members.slice(1));
      }
      for (const [key, value] of Object.entries(data.redis.counters)) pipeline.set(key, value);
      await pipeline.exec();
    },
  },
];

export interface SeedOptions {
  projectId: string;
  /** `127.0.0.1:9099` */
  authEmulatorHost: string;
  /** `127.0.0.1:8080` */
  firestoreHost: string;
  /** The Upstash gateway, for the Redis side of the demo (enabled apps, install counts). */
  upstash?: { url: string; token: string };
  log?: (message: string) => void;
}

/** Runs every seed step against the emulators; returns the users it made. */
export async function seed(options: SeedOptions): Promise<Record<string, SeedUser>> {
  const log = options.log ?? ((message: string) => console.log(message));
  // The seed computes carol's usage from the basic plan's allowance, a param read in-process.
  applyParamDefaults();
  // A named app of its own, so the caller's default app (if any) is left untouched; the
  // caller's FIRESTORE_EMULATOR_HOST may name another emulator (a test stack's).
  const { app, db: firestore } = firestoreOn(options.firestoreHost, options.projectId, `seed-${process.pid}-${Date.now()}`);
  try {
    const context: SeedContext = {
      projectId: options.projectId,
      authUrl: `http://${options.authEmulatorHost}`,
      firestore,
      users: {},
      redis: options.upstash ? new Redis({ url: options.upstash.url, token: options.upstash.token }) : undefined,
      log,
    };
    for (const step of seedSteps) {
      await step.run(context);
      log(`seeded: ${step.name}`);
    }
    return context.users;
  } finally {
    await firebaseAdminApp().deleteApp(app);
  }
}

/** Creates the user (email/password) in the Auth emulator, or finds it; returns its uid. */
async function ensureAuthUser(context: SeedContext, email: string, password: string): Promise<string> {
  const signUp = await authPost(context, "accounts:signUp?key=any", { email, password, returnSecureToken: true });
  if (signUp.ok) return ((await signUp.json()) as { localId: string }).localId;
  const error = await signUp.text();
  if (!error.includes("EMAIL_EXISTS")) throw new Error(`Auth emulator signUp for ${email} failed: ${error}`);
  return (await signInWithPassword(new URL(context.authUrl).host, email, password)).uid;
}

/** Custom claims through the Auth emulator's admin API (`Bearer owner` is its admin credential). */
async function setCustomClaims(context: SeedContext, uid: string, claims: Record<string, unknown>): Promise<void> {
  const response = await authPost(
    context,
    `projects/${context.projectId}/accounts:update`,
    { localId: uid, customAttributes: JSON.stringify(claims) },
    { authorization: "Bearer owner" },
  );
  if (!response.ok) throw new Error(`Auth emulator accounts:update for ${uid} failed: ${await response.text()}`);
}

function authPost(context: SeedContext, route: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${context.authUrl}/identitytoolkit.googleapis.com/v1/${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}
