/**
 * The launcher end to end: `startLocalStack` (what `npm start` runs) with the real Functions
 * and Auth emulators, isolated (random ports, private env files) so it can run next to a
 * developer's `npm start`. Slow: the emulator alone takes 10-15 s to start on 2 cores.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import Redis from "ioredis";
import { basicPlanTranscriptionSeconds } from "../../functions/src/config";
import { markerKey, scopes } from "../../functions/src/redis/markers";
import { applyParamDefaults } from "../../scripts/stack/param-defaults";
import { CallableError, callCallable, signInWithPassword } from "../../scripts/stack/emulator-client";
import { chooseFirestoreEmulator } from "../../scripts/stack/firestore-emulator";
import { firestoreOn } from "../../scripts/stack/firestore-on";
import { firebaseAdminApp } from "../../scripts/stack/functions-deps";
import { demoPassword } from "../../scripts/stack/seed";
import { LocalStack, startLocalStack } from "../../scripts/stack/start";
import { signUpLocalApp } from "../../scripts/stack/app-client";
import { processesOfRun } from "../../scripts/stack/stack-processes";
import { runUsageBurst, storedTranscriptionSeconds } from "../../scripts/stack/usage-burst";

/** Pids whose parent is this process (e.g. the global test stack's redis-server). */
function childPids(): Set<number> {
  const children = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may contain spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid) children.add(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return children;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function groupAlive(processGroup: number): boolean {
  try {
    process.kill(-processGroup, 0);
    return true;
  } catch {
    return false;
  }
}

const portOf = (urlOrHost: string) => Number(new URL(urlOrHost.includes("://") ? urlOrHost : `http://${urlOrHost}`).port);

/** The basic plan's monthly seconds, as the stack's functions resolve the param (its declared default). */
function basicLimitSecondsOf(): number {
  applyParamDefaults();
  return basicPlanTranscriptionSeconds.value();
}

const signIn = (stack: LocalStack, email: string) => signInWithPassword(stack.authEmulatorHost, email, demoPassword);

/** ping, as listed among the stack's callables. */
function callPing(stack: LocalStack, idToken?: string): Promise<{ uid: string }> {
  assert.ok(stack.callables.ping, "ping is listed among the callables");
  assert.equal(stack.callables.ping, `${stack.functionsBaseUrl}/ping`);
  return callCallable(stack.functionsBaseUrl, "ping", {}, idToken);
}

describe("local stack launcher (startLocalStack, end to end)", function () {
  this.timeout(180_000);
  let stack: LocalStack;
  let childrenBefore: Set<number>;
  const basicLimitSeconds = basicLimitSecondsOf();
  const lines: string[] = [];

  before(async function () {
    childrenBefore = childPids();
    try {
      stack = await startLocalStack({ isolated: true, log: (line) => lines.push(line) });
    } catch (err) {
      console.error(lines.join("\n"));
      throw err;
    }
  });

  after(async function () {
    await stack?.stop();
  });

  it("serves the functions and the Auth emulator with the seeded users, on the Firestore emulator it found", async () => {
    const expected = chooseFirestoreEmulator();
    console.log(`      Firestore: ${stack.firestore.description}`);
    assert.equal(stack.firestore.description, expected.description);
    assert.equal(stack.firestore.rulesEvaluated, expected.kind !== "stand-in");
    assert.ok(
      lines.some((line) => line.includes(`Firestore: ${expected.description}`)),
      "the start log says which Firestore runs",
    );
    assert.ok(stack.users.alice && stack.users.bob);
    assert.ok(stack.callables.ping?.startsWith(`${stack.functionsBaseUrl}/ping`));
    assert.ok(lines.some((line) => line.includes("local stack ready")));
  });

  it("ping with Alice's ID token from the Auth emulator answers her uid", async () => {
    const alice = await signIn(stack, "alice@example.com");
    assert.equal(alice.uid, stack.users.alice?.uid);
    // An HTTP 200 with a `result` (callCallable rejects anything else).
    assert.deepEqual(await callPing(stack, alice.idToken), { uid: alice.uid });
  });

  it("ping without a token answers 401 unauthenticated", async () => {
    await assert.rejects(callPing(stack), (error: unknown) => {
      assert.ok(error instanceof CallableError, String(error));
      assert.equal(error.httpStatus, 401);
      assert.equal(error.status, "UNAUTHENTICATED");
      return true;
    });
  });

  it("the rules deny Alice's client read of testers/<her uid> through the Firestore REST API, and allow her users doc", async function () {
    if (!stack.firestore.rulesEvaluated) {
      console.log(`      [rules] NOT evaluated: ${stack.firestore.description}`);
      this.skip();
    }
    const alice = await signIn(stack, "alice@example.com");
    const documents = `http://${stack.firestoreHost}/v1/projects/${stack.projectId}/databases/(default)/documents`;
    const get = (docPath: string) => fetch(`${documents}/${docPath}`, { headers: { authorization: `Bearer ${alice.idToken}` } });
    const tester = await get(`testers/${alice.uid}`);
    assert.equal(tester.status, 403, await tester.text());
    const own = await get(`users/${alice.uid}`);
    assert.equal(own.status, 200, await own.text());
  });

  it("Bob's ID token carries the admin claim", async () => {
    const bob = await signIn(stack, "bob@example.com");
    const payload = JSON.parse(Buffer.from(bob.idToken.split(".")[1] ?? "", "base64url").toString()) as { admin?: unknown };
    assert.equal(payload.admin, true);
  });

  it("a write to testers/<uid> reaches onTesterWritten in the Functions emulator, which bumps inv:tester:<uid>", async () => {
    const uid = stack.users.alice?.uid ?? "";
    const testerMarker = markerKey(scopes.tester(uid));
    // Not the global test stack's Firestore: this stack's.
    const { app, db } = firestoreOn(stack.firestoreHost, stack.projectId, "start-e2e-spec");
    const redis = new Redis(stack.redisUrl);
    try {
      // The seed made alice a tester already, so the marker starts at that version.
      const seededVersion = Number((await redis.get(testerMarker)) ?? 0);
      const writtenAt = Date.now();
      await db.doc(`testers/${uid}`).set({ uid, apps: ["e2e-app"], added_at: writtenAt });
      let marker = seededVersion;
      while (marker === seededVersion && Date.now() - writtenAt < 10_000) {
        marker = Number((await redis.get(testerMarker)) ?? 0);
        if (marker === seededVersion) await sleep(50);
      }
      assert.equal(marker, seededVersion + 1, "the emulated trigger bumped the marker within 10 s");
      await stack.firestore.handedOff();
      assert.equal(Number(await redis.get(testerMarker)), seededVersion + 1, "delivered once");
    } finally {
      redis.disconnect();
      await firebaseAdminApp().deleteApp(app);
    }
  });

  it("takes a burst: 6 sessions of one user, a report a second each for 12 s through the Firebase JS SDK, all acknowledged, stored and counted once", async () => {
    // First of all on recordTranscriptionUsage: its workers are cold, as in a fresh `npm start`.
    const burst = await runUsageBurst(stack);
    const gate = stack.functionsGate.stats()[`${stack.region}/recordTranscriptionUsage`];
    console.log(
      `      72 reports: ${burst.attempts} attempts, ${burst.duplicates} duplicates, p50 ${burst.latencyMs.p50} ms, p99 ${burst.latencyMs.p99} ms; at most ${gate?.maxQueued} waited at the gate`,
    );
    assert.deepEqual(burst.failures, [], "no report failed");
    assert.equal(burst.acknowledged, 72);
    assert.equal(burst.storedSeconds, 72 * 20, "each report stored once");
    assert.equal(burst.getCreditsRemaining, basicLimitSeconds - 72 * 20, "getCredits: the fleet's figure counts each report once");
    assert.equal(burst.recordUsageRemaining, burst.getCreditsRemaining, "recordTranscriptionUsage answers the same figure");
  });

  it("an app on the Firebase JS SDK: 10 concurrent reports, each timing out on the client first and resent with its reportId, are stored and counted once", async () => {
    const app = await signUpLocalApp(stack, "reports");
    const { app: adminApp, db } = firestoreOn(stack.firestoreHost, stack.projectId, `start-e2e-credits-${app.uid}`);
    const forwardedBefore = stack.functionsGate.stats()[`${stack.region}/recordTranscriptionUsage`]?.forwarded ?? 0;
    try {
      const sessionId = `js-sdk-${app.uid.slice(0, 8)}`;
      // The first attempt's 1 ms timeout fails it on the client every time, while its delivery
      // goes on to the function (the SDK does not cancel it): each report is sent at least twice.
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          app.call<{ remainingSeconds: number; duplicate?: true }>(
            "recordTranscriptionUsage",
            { sessionId, reportId: `${sessionId}-${i}`, transcriptionSeconds: 30 },
            { firstTimeoutMs: 1 },
          ),
        ),
      );
      const attempts = answers.reduce((sum, answer) => sum + answer.attempts, 0);
      const duplicates = answers.filter((answer) => answer.data.duplicate === true).length;
      console.log(`      10 reports: ${attempts} deliveries, ${duplicates} answered duplicate: true`);
      assert.ok(
        answers.every((answer) => answer.attempts >= 2),
        "every report timed out on the client once and was resent",
      );
      const forwarded = (stack.functionsGate.stats()[`${stack.region}/recordTranscriptionUsage`]?.forwarded ?? 0) - forwardedBefore;
      assert.equal(forwarded, attempts, "every delivery, the timed-out ones included, reached the function");
      assert.equal(await storedTranscriptionSeconds(db, app.uid), 300, "10 reports of 30 s, each stored once however often it was sent");
      const credits = await app.call<{ remainingSeconds: number }>("getCredits", {});
      assert.equal(credits.data.remainingSeconds, basicLimitSeconds - 300, "the fleet's figure counts each report once");
    } finally {
      await app.close();
      await firebaseAdminApp().deleteApp(adminApp);
    }
  });

  it("stop() closes every port and leaves no child process", async () => {
    const ports = {
      functions: portOf(stack.functionsEmulatorUrl),
      auth: portOf(stack.authEmulatorHost),
      hub: portOf(stack.hubUrl),
      hosting: portOf(stack.dashboardUrl ?? assert.fail("the stack serves the dashboard")),
      firestore: portOf(stack.firestoreHost),
      gateway: portOf(stack.gatewayUrl),
      redis: portOf(stack.redisUrl),
    };
    for (const [name, port] of Object.entries(ports)) assert.equal(await portOpen(port), true, `${name} is open`);
    assert.ok(childPids().size > childrenBefore.size, "the stack's processes are children of this one");

    await stack.stop();

    for (const [name, port] of Object.entries(ports)) assert.equal(await portOpen(port), false, `${name} port ${port} is closed`);
    for (const group of stack.processGroups) assert.equal(groupAlive(group), false, `process group ${group} is gone`);
    assert.deepEqual(processesOfRun(stack.run.id), [], "no process of the stack's run is left (the Java emulator included)");
    const left = [...childPids()].filter((pid) => !childrenBefore.has(pid));
    assert.deepEqual(left, [], "no child process left");
  });
});
