/**
 * `npm run demo`: a one-minute tour of the running local stack (`npm start` first). Signs in
 * the demo users, calls every callable, flips a tester, upgrades a user through a signed
 * Stripe webhook, and prints what each call returned and the live cache figures.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { localSuiteSecret, nowS, signatureHeader, subscriptionEvent } from "./lib/stripe-events";

interface StackInfo {
  functionsBaseUrl: string;
  authEmulatorHost: string;
}

const stackFile = path.join(__dirname, "../.local/stack.json");
const markerPollMs = 1_000;

function stackInfo(): StackInfo {
  if (existsSync(stackFile)) return JSON.parse(readFileSync(stackFile, "utf8")) as StackInfo;
  return { functionsBaseUrl: "http://127.0.0.1:5001/demo-voice-cache/us-central1", authEmulatorHost: "127.0.0.1:9099" };
}

const info = stackInfo();
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function signIn(email: string): Promise<{ uid: string; idToken: string }> {
  const response = await fetch(`http://${info.authEmulatorHost}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=any`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "password", returnSecureToken: true }),
  });
  if (!response.ok) throw new Error(`sign-in of ${email} failed (is \`npm start\` running?): ${await response.text()}`);
  const body = (await response.json()) as { localId: string; idToken: string };
  return { uid: body.localId, idToken: body.idToken };
}

async function call<T = unknown>(name: string, data: unknown, as: { idToken: string }): Promise<T> {
  const response = await fetch(`${info.functionsBaseUrl}/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${as.idToken}` },
    body: JSON.stringify({ data }),
  });
  const body = (await response.json()) as { result?: T; error?: { status: string; message: string } };
  if (body.error) throw new Error(`${name}: ${body.error.status} ${body.error.message}`);
  return body.result as T;
}

function show(label: string, value: unknown): void {
  console.log(`  ${label.padEnd(58)} ${typeof value === "string" ? value : JSON.stringify(value)}`);
}

type Apps = { apps: { id: string; enabled: boolean; installs: number; rejected: boolean }[] };
const appList = (result: Apps) => result.apps.map((a) => `${a.id}${a.enabled ? "(enabled)" : ""}${a.rejected ? "(rejected)" : ""}`).join(", ");

async function sendSubscription(uid: string, status: string, created: number): Promise<number> {
  const event = subscriptionEvent({ customer: `cus_demo_${uid.slice(0, 12)}`, uid, status, priceId: "price_pro_monthly", subscriptionId: `sub_demo_${uid.slice(0, 12)}`, created });
  const payload = JSON.stringify(event);
  const secret = localSuiteSecret();
  const response = await fetch(`${info.functionsBaseUrl}/stripeWebhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": signatureHeader(payload, { secret }) },
    body: payload,
  });
  return response.status;
}

async function main() {
  console.log(`Demo against ${info.functionsBaseUrl}\n`);
  const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((name) => signIn(`${name}@example.com`)));
  if (!alice || !bob || !carol) throw new Error("demo users missing: restart `npm start` to seed them");

  console.log("Marketplace (alice: developer and tester; carol: plain user)");
  show("alice getAvailableApps", appList(await call<Apps>("getAvailableApps", {}, alice)));
  show("alice getAvailableApps again (served from the cache)", appList(await call<Apps>("getAvailableApps", {}, alice)));
  show("carol getAvailableApps", appList(await call<Apps>("getAvailableApps", {}, carol)));
  show("alice enableApp focus-coach", await call("enableApp", { appId: "focus-coach" }, alice));
  show("alice enableApp bob-admin-tools (bob's private app)", await call("enableApp", { appId: "bob-admin-tools" }, alice).catch((e: Error) => e.message));

  console.log("\nTester flip (bob is an admin; the testers/{uid} trigger bumps alice's marker)");
  show("bob removeTester alice", await call("removeTester", { uid: alice.uid }, bob));
  await pause(markerPollMs + 500);
  show("alice getAvailableApps (no tester apps)", appList(await call<Apps>("getAvailableApps", {}, alice)));
  show("bob addTester alice", await call("addTester", { uid: alice.uid, apps: ["bob-beta-voice", "alice-journal"] }, bob));
  await pause(markerPollMs + 500);
  show("alice getAvailableApps (tester apps back)", appList(await call<Apps>("getAvailableApps", {}, alice)));

  console.log("\nMentor notification frequency");
  show("alice getMentorNotificationFrequency", await call("getMentorNotificationFrequency", {}, alice));
  show("alice setMentorNotificationFrequency 4", await call("setMentorNotificationFrequency", { frequency: 4 }, alice));
  show("alice getMentorNotificationFrequency (read-your-writes)", await call("getMentorNotificationFrequency", {}, alice));
  show("alice setMentorNotificationFrequency 9", await call("setMentorNotificationFrequency", { frequency: 9 }, alice).catch((e: Error) => e.message));
  await call("setMentorNotificationFrequency", { frequency: 2 }, alice);

  console.log("\nCredits (carol: basic plan, near the freemium threshold)");
  show("Stripe: carol's subscription canceled (reset for this demo)", `HTTP ${await sendSubscription(carol.uid, "canceled", nowS() - 1)}`);
  await pause(markerPollMs + 500);
  const sessionId = `demo-${Date.now()}`;
  show("carol getCredits", await call("getCredits", {}, carol));
  show("carol recordTranscriptionUsage 60 s", await call("recordTranscriptionUsage", { sessionId, transcriptionSeconds: 60 }, carol));
  show("carol recordTranscriptionUsage 60 s", await call("recordTranscriptionUsage", { sessionId, transcriptionSeconds: 60 }, carol));
  show("Stripe: carol upgrades to pro (signed customer.subscription.updated)", `HTTP ${await sendSubscription(carol.uid, "active", nowS())}`);
  await pause(markerPollMs + 500);
  show("carol recordTranscriptionUsage 60 s (same session)", await call("recordTranscriptionUsage", { sessionId, transcriptionSeconds: 60 }, carol));
  show("carol getCredits", await call("getCredits", {}, carol));

  console.log("\nLive cache figures of the instance (cacheStats, as bob)");
  const response = await fetch(`${info.functionsBaseUrl}/cacheStats`, { headers: { authorization: `Bearer ${bob.idToken}` } });
  const stats = (await response.json()) as {
    caches: { name: string; entries: number; bytes: number; hits: number; misses: number; hitRate: number; fetches: number; collapsedFetches: number }[];
    markers: { markerChecks: number; markerChangesSeen: number; trackedScopes: number; markersHealthy: boolean };
  };
  console.log("  cache              entries    bytes   hits  misses  hit rate  fetches");
  for (const c of stats.caches) {
    console.log(`  ${c.name.padEnd(16)} ${String(c.entries).padStart(8)} ${String(c.bytes).padStart(8)} ${String(c.hits).padStart(6)} ${String(c.misses).padStart(7)} ${(c.hitRate * 100).toFixed(0).padStart(8)}% ${String(c.fetches).padStart(8)}`);
  }
  const m = stats.markers;
  console.log(`  markers: ${m.markerChecks} checks, ${m.markerChangesSeen} changes seen, ${m.trackedScopes} scopes tracked, healthy: ${m.markersHealthy}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
