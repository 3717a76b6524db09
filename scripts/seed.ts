/**
 * Demo data for the local stack: Auth-emulator users and their Firestore documents.
 *
 * `seed()` runs `seedSteps` in order. To add demo data, append a step: a named async
 * function of the context (the Auth emulator, an admin Firestore client on the emulator,
 * and the users created so far). Steps should be idempotent, so seeding twice is harmless.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type * as AdminApp from "../functions/node_modules/firebase-admin/lib/app/index";
import type * as AdminFirestore from "../functions/node_modules/firebase-admin/lib/firestore/index";

// The functions' own firebase-admin: the root package has none, and one copy means one set of types.
const functionsRequire = createRequire(path.join(__dirname, "../functions/src/index.ts"));

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
  firestore: AdminFirestore.Firestore;
  /** Users created by the steps so far, by short name (`alice`, `bob`). */
  users: Record<string, SeedUser>;
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
];

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
];

export interface SeedOptions {
  projectId: string;
  /** `127.0.0.1:9099` */
  authEmulatorHost: string;
  /** `127.0.0.1:8080` */
  firestoreHost: string;
  log?: (message: string) => void;
}

/** Runs every seed step against the emulators; returns the users it made. */
export async function seed(options: SeedOptions): Promise<Record<string, SeedUser>> {
  const log = options.log ?? ((message: string) => console.log(message));
  const { initializeApp, deleteApp } = functionsRequire("firebase-admin/app") as typeof AdminApp;
  const { getFirestore } = functionsRequire("firebase-admin/firestore") as typeof AdminFirestore;
  // A named app of its own, so the caller's default app (if any) is left untouched.
  const app = initializeApp({ projectId: options.projectId }, `seed-${process.pid}-${Date.now()}`);
  try {
    // The SDK reads FIRESTORE_EMULATOR_HOST once, when the client is built, and prefers it to
    // settings.host; the caller's may name another emulator (a test stack's), so it is
    // swapped for this one meanwhile. Emulator mode sends the admin token ("owner"): no rules.
    const saved = process.env.FIRESTORE_EMULATOR_HOST;
    process.env.FIRESTORE_EMULATOR_HOST = options.firestoreHost;
    let firestore: AdminFirestore.Firestore;
    try {
      firestore = getFirestore(app);
    } finally {
      if (saved === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
      else process.env.FIRESTORE_EMULATOR_HOST = saved;
    }
    const context: SeedContext = {
      projectId: options.projectId,
      authUrl: `http://${options.authEmulatorHost}`,
      firestore,
      users: {},
      log,
    };
    for (const step of seedSteps) {
      await step.run(context);
      log(`seeded: ${step.name}`);
    }
    return context.users;
  } finally {
    await deleteApp(app);
  }
}

/** Creates the user (email/password) in the Auth emulator, or finds it; returns its uid. */
async function ensureAuthUser(context: SeedContext, email: string, password: string): Promise<string> {
  const signUp = await authPost(context, "accounts:signUp?key=any", { email, password, returnSecureToken: true });
  if (signUp.ok) return ((await signUp.json()) as { localId: string }).localId;
  const error = await signUp.text();
  if (!error.includes("EMAIL_EXISTS")) throw new Error(`Auth emulator signUp for ${email} failed: ${error}`);
  const signIn = await authPost(context, "accounts:signInWithPassword?key=any", { email, password, returnSecureToken: true });
  if (!signIn.ok) throw new Error(`Auth emulator signIn for ${email} failed: ${await signIn.text()}`);
  return ((await signIn.json()) as { localId: string }).localId;
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
