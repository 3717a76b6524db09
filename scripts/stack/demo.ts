/**
 * `npm run demo`: a one-minute tour of the running local stack (`npm start` first). Signs in
 * the demo users, calls every callable, flips a tester, upgrades a user through a signed
 * Stripe webhook, and prints what each call returned and the live cache figures.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { AvailableApp } from "../../functions/src/apps/model";
import { errorMessage } from "../../functions/src/error-message";
import { fleetText } from "../../functions/src/telemetry/fleet-text";
import { markerPollIntervalMsParam } from "../../functions/src/config";
import type { FleetView } from "../../functions/src/telemetry/fleet-view";
import { callCallable, signInWithPassword } from "./emulator-client";
import { localStripePriceId } from "./local-stripe";
import { localSuiteSecret, nowS, signatureHeader, subscriptionEvent } from "../harness/stripe-events";
import { demoPassword } from "./seed";
import { readStackInfo, StackInfo } from "./stack-info";

// The stack's instances poll at the param's default (the stack sets no other).
const markerPollMs = Number(markerPollIntervalMsParam.options.default);

function stackInfo(): Pick<StackInfo, "functionsBaseUrl" | "authEmulatorHost" | "dashboardUrl"> {
  return readStackInfo() ?? { functionsBaseUrl: "http://127.0.0.1:5001/demo-voice-cache/us-central1", authEmulatorHost: "127.0.0.1:9099" };
}

const info = stackInfo();

async function signIn(email: string): Promise<{ uid: string; idToken: string }> {
  try {
    return await signInWithPassword(info.authEmulatorHost, email, demoPassword);
  } catch (error) {
    throw new Error(`sign-in of ${email} failed (is \`npm start\` running?): ${errorMessage(error)}`);
  }
}

const call = <T = unknown>(name: string, data: unknown, as: { idToken: string }): Promise<T> => callCallable<T>(info.functionsBaseUrl, name, data, as.idToken);

function show(label: string, value: unknown): void {
  console.log(`  ${label.padEnd(58)} ${typeof value === "string" ? value : JSON.stringify(value)}`);
}

type Apps = { apps: AvailableApp[] };
const appList = (result: Apps) => result.apps.map((a) => `${a.id}${a.enabled ? "(enabled)" : ""}${a.rejected ? "(rejected)" : ""}`).join(", ");

async function sendSubscription(uid: string, status: string, created: number): Promise<number> {
  const event = subscriptionEvent({
    customer: `cus_demo_${uid.slice(0, 12)}`,
    uid,
    status,
    priceId: localStripePriceId("pro"),
    subscriptionId: `sub_demo_${uid.slice(0, 12)}`,
    created,
  });
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
  const startedAtMs = Date.now();

  console.log("Marketplace (alice: developer and tester; carol: plain user)");
  show("alice getAvailableApps", appList(await call<Apps>("getAvailableApps", {}, alice)));
  show("alice getAvailableApps again (served from the cache)", appList(await call<Apps>("getAvailableApps", {}, alice)));
  show("carol getAvailableApps", appList(await call<Apps>("getAvailableApps", {}, carol)));
  show("alice enableApp focus-coach", await call("enableApp", { appId: "focus-coach" }, alice));
  show("alice enableApp bob-admin-tools (bob's private app)", await call("enableApp", { appId: "bob-admin-tools" }, alice).catch((e: Error) => e.message));

  console.log("\nTester flip (bob is an admin; the testers/{uid} trigger bumps alice's marker)");
  show("bob removeTester alice", await call("removeTester", { uid: alice.uid }, bob));
  await sleep(markerPollMs + 500);
  show("alice getAvailableApps (no tester apps)", appList(await call<Apps>("getAvailableApps", {}, alice)));
  show("bob addTester alice", await call("addTester", { uid: alice.uid, apps: ["bob-beta-voice", "alice-journal"] }, bob));
  await sleep(markerPollMs + 500);
  show("alice getAvailableApps (tester apps back)", appList(await call<Apps>("getAvailableApps", {}, alice)));
  const flipSeenAtMs = Date.now();

  console.log("\nMentor notification frequency");
  show("alice getMentorNotificationFrequency", await call("getMentorNotificationFrequency", {}, alice));
  show("alice setMentorNotificationFrequency 4", await call("setMentorNotificationFrequency", { frequency: 4 }, alice));
  show("alice getMentorNotificationFrequency (read-your-writes)", await call("getMentorNotificationFrequency", {}, alice));
  show("alice setMentorNotificationFrequency 9", await call("setMentorNotificationFrequency", { frequency: 9 }, alice).catch((e: Error) => e.message));
  await call("setMentorNotificationFrequency", { frequency: 2 }, alice);

  console.log("\nCredits (carol: basic plan, near the freemium threshold)");
  show("Stripe: carol's subscription canceled (reset for this demo)", `HTTP ${await sendSubscription(carol.uid, "canceled", nowS() - 1)}`);
  await sleep(markerPollMs + 500);
  const sessionId = `demo-${Date.now()}`;
  show("carol getCredits", await call("getCredits", {}, carol));
  // One reportId per report, resent on every retry of it: a retry is then never counted twice.
  const report = (sequence: number) => ({ sessionId, reportId: `${sessionId}-${sequence}`, transcriptionSeconds: 60 });
  show("carol recordTranscriptionUsage 60 s", await call("recordTranscriptionUsage", report(1), carol));
  show("carol recordTranscriptionUsage 60 s", await call("recordTranscriptionUsage", report(2), carol));
  show("carol retries that report (same reportId)", await call("recordTranscriptionUsage", report(2), carol));
  show("Stripe: carol upgrades to pro (signed customer.subscription.updated)", `HTTP ${await sendSubscription(carol.uid, "active", nowS())}`);
  await sleep(markerPollMs + 500);
  show("carol recordTranscriptionUsage 60 s (same session)", await call("recordTranscriptionUsage", report(3), carol));
  show("carol getCredits", await call("getCredits", {}, carol));

  console.log("\nThe fleet's cache figures (cacheStats, as bob)");
  // Each function's instances publish their figures at most once an interval (riding on a
  // marker poll; once a minute in production, every few seconds on `npm start`), so the
  // snapshots carrying this demo's calls arrive within one: keep a little traffic going until they do.
  process.stdout.write("  waiting for the snapshots carrying this demo's calls ");
  const deadline = Date.now() + 90_000;
  let stats = await fleet(bob);
  while (!demoFiguresIn(stats, startedAtMs, flipSeenAtMs) && Date.now() < deadline) {
    await sleep(1_000);
    process.stdout.write(".");
    await call<Apps>("getAvailableApps", {}, alice);
    await call("getMentorNotificationFrequency", {}, alice);
    await call("getCredits", {}, carol);
    stats = await fleet(bob);
  }
  console.log(demoFiguresIn(stats, startedAtMs, flipSeenAtMs) ? " here" : " (not all yet: showing what has been published)");
  process.stdout.write(fleetText(stats));
  if (info.dashboardUrl) console.log(`\nThe same figures drawn: ${info.dashboardUrl} (sign in as bob@example.com, password "${demoPassword}")`);
}

async function fleet(as: { idToken: string }): Promise<FleetView> {
  const response = await fetch(`${info.functionsBaseUrl}/cacheStats`, { headers: { authorization: `Bearer ${as.idToken}` } });
  if (!response.ok) throw new Error(`cacheStats answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as FleetView;
}

/**
 * Published by now: getAvailableApps's measurement of the tester flip (a snapshot taken after
 * it), and figures of at least two functions (snapshots taken since the demo started).
 */
function demoFiguresIn(stats: FleetView, startedAtMs: number, flipSeenAtMs: number): boolean {
  const ageBelow = (sinceMs: number) => stats.instances.filter((i) => i.snapshotAgeMs < Date.now() - sinceMs);
  const functions = new Set(
    ageBelow(startedAtMs)
      .filter((i) => i.lookups > 0)
      .map((i) => i.function),
  );
  return ageBelow(flipSeenAtMs).some((i) => i.function === "getAvailableApps" && i.changesMeasured > 0) && functions.size >= 2;
}

main().catch((error: unknown) => {
  console.error(errorMessage(error));
  process.exitCode = 1;
});
