/**
 * `npm run bench`: the read-cost and freshness benchmark. One command, offline.
 *
 * For each cache policy (none, reference, ours; see functions/src/cache/policy.ts) on the
 * same seeded data and the same deterministic workload:
 * - the stack `npm test` runs on (scripts/lib/suite-stack.ts): the official Cloud Firestore
 *   emulator delivering document changes to the deployed Firestore triggers in the Functions
 *   emulator (functions/lib), a real redis-server behind the Upstash gateway, and billable
 *   reads counted by the gRPC proxy every client reaches Firestore through;
 * - several function instances, each its own process serving functions/src/index.ts through
 *   the real onCall / onRequest wrappers (scripts/lib/instance.ts), on manual clocks that the
 *   harness advances together (compressed time: a simulated second takes as long as its calls
 *   take, the same code runs);
 * - live sessions calling getAvailableApps and getMentorNotificationFrequency once a
 *   simulated second and recordTranscriptionUsage once a simulated minute, on random
 *   instances; changes during the run (testers, app approval/privacy, mentor settings,
 *   Stripe upgrades as signed webhooks), each probed on every instance until every instance
 *   serves the new state. Every answer is checked against the model of the data;
 * - the same starting point for every policy: Firestore cleared and seeded, Redis flushed and
 *   seeded, with the Functions emulator's background triggers paused (its hub's
 *   disable/enableBackgroundTriggers), so the seed fires no trigger.
 *
 * Writes bench/results/latest.{md,json} and bench/results/reads-per-minute.svg. Exits 1 when
 * `ours` served any answer staler than the contract allows, or any wrong answer.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Firestore } from "firebase-admin/firestore";
import Redis from "ioredis";
import type { AvailableApp } from "../functions/src/apps/model";
import { CallableError, Instance, startInstance } from "../scripts/lib/instance";
import { localStripePriceId } from "../scripts/lib/local-stripe";
import { requireProductionNode } from "../scripts/lib/project-node";
import { startSuiteStack, SuiteStack } from "../scripts/lib/suite-stack";
import { sendEvent, subscriptionEvent } from "../scripts/lib/stripe-events";
import { Change, ChangeKind, Checker, createChecker, ModelState, rng, seed, SeedConfig, uidOf, Verdict } from "./model";
import { PolicyResult, renderSvg, renderTable } from "./report";

type Policy = "none" | "reference" | "ours";

const envInt = (name: string, fallback: number) => {
  const raw = process.env[name];
  return raw ? Number.parseInt(raw, 10) : fallback;
};

export const benchConfig = {
  instances: envInt("BENCH_INSTANCES", 3),
  simulatedMinutes: envInt("BENCH_MINUTES", 4),
  liveSessions: envInt("BENCH_SESSIONS", 24),
  /** Sessions that end (and are replaced by other users' new sessions) every simulated minute. */
  sessionTurnoverPerMinute: 6,
  tickMs: 250,
  /** Off the 30 s TTL grid, so changes land at every phase of the reference's TTL. */
  changeEveryMs: 19_000,
  firstChangeAtMs: 7_000,
  /** The contract's bound after a change (instance-clock time since the trigger's marker write). */
  freshnessBoundMs: 2_000,
  /** Probing a change stops after this long even if an instance still serves the old state. */
  probeTimeoutMs: 45_000,
  bucketMs: 30_000,
  seed: {
    users: envInt("BENCH_USERS", 200),
    heavyUsers: 20,
    publicApps: 200,
    privateApps: 30,
    unapprovedApps: 30,
    disabledApps: 5,
    testers: 12,
    basicLimitSeconds: 1800,
  } satisfies SeedConfig,
};

const policies: Policy[] = ((process.env.BENCH_POLICIES ?? "none,reference,ours").split(",") as Policy[]).filter(Boolean);
const changeCycle: ChangeKind[] = ["addTester", "approveApp", "setMentor", "stripeUpgrade", "makePrivate", "removeTester"];
/** The Firestore trigger each change's write fires (functions/src/index.ts), which bumps its markers. */
const triggerOf: Record<ChangeKind, string> = {
  addTester: "onTesterWritten",
  removeTester: "onTesterWritten",
  approveApp: "onAppWritten",
  makePrivate: "onAppWritten",
  setMentor: "onUserWritten",
  stripeUpgrade: "onUserWritten",
};
const triggerRunTimeoutMs = 30_000;
const adminAs = { uid: "bench-admin", claims: { admin: true } };

interface Session {
  uid: string;
  sessionId: string;
  /** Tick within each simulated second at which this session calls. */
  phase: number;
  /** Tick within each simulated minute at which it reports usage. */
  minuteTick: number;
}

interface Call {
  name: string;
  uid: string;
  instance: number;
  data: unknown;
  probeOf?: Change;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function parseCommandStats(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const line of info.split("\n")) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) calls[match[1]!] = Number(match[2]);
  }
  return calls;
}

/** Commands the harness itself sends to redis-server (not through the gateway). */
const harnessCommands = new Set(["info", "config", "flushall", "sadd", "mset", "ping", "select", "client", "hello"]);

/** Pauses or resumes the Functions emulator's background (Firestore) triggers through its hub. */
async function setBackgroundTriggers(stack: SuiteStack, enabled: boolean): Promise<void> {
  const route = enabled ? "enableBackgroundTriggers" : "disableBackgroundTriggers";
  const response = await fetch(`${stack.local.hubUrl}/functions/${route}`, { method: "PUT" });
  if (!response.ok) throw new Error(`emulator hub ${route}: ${response.status} ${await response.text()}`);
}

/** Deletes every document of the stack's project, on the emulator itself (not through the read counter). */
async function clearFirestore(stack: SuiteStack): Promise<void> {
  if (stack.local.fallback) {
    stack.local.fallback.clear(); // the offline stand-in has no REST API
    return;
  }
  const url = `http://${stack.firestore.emulatorHost}/emulator/v1/projects/${stack.local.projectId}/databases/(default)/documents`;
  const response = await fetch(url, { method: "DELETE" });
  if (!response.ok) throw new Error(`clearing the Firestore emulator: ${response.status} ${await response.text()}`);
}

function firebaseToolsVersion(): string {
  return (JSON.parse(readFileSync(require.resolve("firebase-tools/package.json"), "utf8")) as { version: string }).version;
}

async function main(): Promise<void> {
  requireProductionNode();
  const startedAt = Date.now();
  const cfg = benchConfig;
  console.log(
    `bench: ${policies.join(", ")} | ${cfg.instances} instances, ${cfg.seed.users} users, ${cfg.liveSessions} live sessions, ` +
      `${cfg.simulatedMinutes} simulated minutes, tick ${cfg.tickMs} ms (node ${process.version})`,
  );

  // The Functions emulator inherits this process's environment: it runs the triggers as they
  // ship (no policy); each instance process gets its policy. The bench flushes Redis, so it
  // always starts its own redis-server, never the shell's REDIS_URL.
  delete process.env.CACHE_POLICY;
  delete process.env.REDIS_URL;
  // --- the stack npm test uses (scripts/lib/suite-stack.ts), started once for all the policies
  const stack = await startSuiteStack({
    env: { BASIC_PLAN_TRANSCRIPTION_SECONDS: String(cfg.seed.basicLimitSeconds) },
    log: (line) => console.log(`  [stack] ${line}`),
  });
  const environment = {
    firestore: stack.firestore.description,
    functions: `Functions emulator (firebase-tools ${firebaseToolsVersion()}) running functions/lib`,
    node: process.version,
  };
  console.log(`  Firestore: ${environment.firestore}; triggers: ${environment.functions}`);
  const { reads } = stack;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { firestore } = require("../functions/src/firestore") as typeof import("../functions/src/firestore");
  const redisAdmin = new Redis(stack.local.redisUrl, { lazyConnect: false });
  const db = firestore();

  const results: PolicyResult[] = [];
  try {
    for (const policy of policies) {
      // --- identical starting point for every policy, written with the triggers paused
      await stack.triggersSettled();
      await setBackgroundTriggers(stack, false);
      await clearFirestore(stack);
      await redisAdmin.flushall();
      const seeded = await seed(db, cfg.seed, new Date());
      for (const [key, members] of Object.entries(seeded.redisSeed.sets)) await redisAdmin.sadd(key, ...members);
      await redisAdmin.mset(Object.entries(seeded.redisSeed.counters).flatMap(([k, v]) => [k, String(v)]));
      // Registers the triggers with the Firestore emulator afresh: deliveries of the seed's
      // writes still in flight reach the paused registration and run nothing.
      await setBackgroundTriggers(stack, true);
      await stack.triggersSettled();
      const instances = await Promise.all(Array.from({ length: cfg.instances }, () => startInstance({ CACHE_POLICY: policy })));
      try {
        await Promise.all(instances.map((instance) => instance.useManualClock()));
        reads.reset();
        await redisAdmin.config("RESETSTAT");
        const result = await runPolicy(policy, instances, seeded.state, db, stack);
        const stats = parseCommandStats(await redisAdmin.info("commandstats"));
        result.redis = redisFigures(stats, result, policy);
        results.push(result);
        console.log(
          `  ${policy}: ${result.requests.total} requests, ${result.reads.total} reads, ` +
            `${result.redis.perRequest.toFixed(3)} Redis cmd/request, ${result.freshness.violations} freshness violations, ` +
            `${result.wrongAnswers} wrong answers (${(result.wallMs / 1000).toFixed(0)} s)`,
        );
      } finally {
        await Promise.all(instances.map((instance) => instance.stop()));
      }
    }
  } finally {
    redisAdmin.disconnect();
    await stack.stop();
  }

  const outDir = path.join(__dirname, "results");
  mkdirSync(outDir, { recursive: true });
  const table = renderTable(results, cfg, environment);
  console.log("");
  console.log(table);
  writeFileSync(path.join(outDir, "latest.md"), table + "\n");
  writeFileSync(
    path.join(outDir, "latest.json"),
    JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, environment, config: cfg, wallMs: Date.now() - startedAt, results }, null, 2) + "\n",
  );
  writeFileSync(path.join(outDir, "reads-per-minute.svg"), renderSvg(results, cfg));
  console.log(`\nwritten: bench/results/latest.md, latest.json, reads-per-minute.svg (${((Date.now() - startedAt) / 1000).toFixed(0)} s in all)`);

  const ours = results.find((r) => r.policy === "ours");
  if (ours && (ours.freshness.violations > 0 || ours.wrongAnswers > 0 || ours.errors > 0 || ours.freshness.timedOut > 0)) {
    console.error(`\nFAIL: ours had ${ours.freshness.violations} freshness violations, ${ours.wrongAnswers} wrong answers, ${ours.errors} errors, ${ours.freshness.timedOut} changes never fresh`);
    for (const detail of ours.examples) console.error(`  ${detail}`);
    process.exitCode = 1;
  }
}

function redisFigures(stats: Record<string, number>, result: PolicyResult, policy: Policy): PolicyResult["redis"] {
  const byCommand = Object.fromEntries(Object.entries(stats).filter(([name]) => !harnessCommands.has(name.split("|")[0]!)));
  const total = Object.values(byCommand).reduce((sum, n) => sum + n, 0);
  const smembers = byCommand.smembers ?? 0;
  // getAvailableApps' enrichment: one SMEMBERS + one MGET per call, read fresh by contract.
  const enrichment = 2 * smembers;
  // The freemium threshold (SET NX / DEL per session), minus the reference's flag SETs.
  const flagSets = policy === "reference" ? result.changesByKind.stripeUpgrade ?? 0 : 0;
  const threshold = Math.max(0, (byCommand.set ?? 0) - flagSets) + (byCommand.del ?? 0);
  // Everything else keeps caches coherent: marker MGETs and bumps, the reference's flag GET/SET.
  const coherence = Math.max(0, total - enrichment - threshold);
  const requests = result.requests.total;
  return {
    total,
    byCommand,
    enrichment,
    threshold,
    coherence,
    perRequest: total / requests,
    coherencePerRequest: coherence / requests,
  };
}

async function runPolicy(policy: Policy, instances: Instance[], state: ModelState, db: Firestore, stack: SuiteStack): Promise<PolicyResult> {
  const cfg = benchConfig;
  const { reads } = stack;
  const functionRuns = stack.local.functionRuns;
  const wallStart = Date.now();
  const random = rng(7);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const checker: Checker = createChecker(state, cfg.freshnessBoundMs);
  const ticksPerSecond = 1000 / cfg.tickMs;
  const ticksPerMinute = ticksPerSecond * 60;
  const totalTicks = cfg.simulatedMinutes * ticksPerMinute;
  const latencies: Record<string, number[]> = {};
  const requests = { workload: 0, probes: 0, changes: 0, total: 0 };
  let wrongAnswers = 0;
  let errors = 0;
  const examples: string[] = [];
  let staleExamples = 0;
  const buckets: number[] = [];
  let lastBucketReads = 0;
  const changesByKind: Record<string, number> = {};
  const addedTesters: string[] = [];

  let sessionCounter = 0;
  const newSession = (uid: string): Session => ({
    uid,
    sessionId: `s${++sessionCounter}-${uid}`,
    phase: Math.floor(random() * ticksPerSecond),
    minuteTick: Math.floor(random() * ticksPerMinute),
  });
  const allUsers = Array.from({ length: cfg.seed.users }, (_, i) => uidOf(i));
  const sessions: Session[] = [];
  const live = new Set<string>();
  while (sessions.length < Math.min(cfg.liveSessions, allUsers.length)) {
    const uid = pick(allUsers);
    if (live.has(uid)) continue;
    live.add(uid);
    sessions.push(newSession(uid));
  }

  const note = (verdict: Verdict) => {
    wrongAnswers += verdict.wrong;
    for (const detail of verdict.details) {
      // Keep a few of each kind: stale answers are expected from the reference, wrong ones never.
      const stale = detail.includes("old state");
      if (stale ? staleExamples < 3 : examples.length - staleExamples < 10) {
        if (stale) staleExamples++;
        examples.push(`${policy}: ${detail}`);
      }
    }
  };

  const invoke = async (call: Call, atMs: number): Promise<void> => {
    const instance = instances[call.instance]!;
    const startedAt = performance.now();
    let result: unknown;
    try {
      result = await instance.call(call.name, call.data, { uid: call.uid });
    } catch (error) {
      errors++;
      if (examples.length < 10) examples.push(`${policy}: ${call.name} as ${call.uid}: ${error instanceof CallableError ? error.message : String(error)}`);
      return;
    }
    (latencies[call.name] ??= []).push(performance.now() - startedAt);
    let verdict: Verdict;
    if (call.name === "getAvailableApps") {
      verdict = checker.checkApps(call.uid, call.instance, atMs, (result as { apps: AvailableApp[] }).apps.map((app) => app.id));
    } else if (call.name === "getMentorNotificationFrequency") {
      verdict = checker.checkMentor(call.uid, call.instance, atMs, (result as { frequency: number }).frequency);
    } else {
      verdict = checker.checkCredits(call.uid, call.instance, atMs, (result as { remainingSeconds: number | null }).remainingSeconds, cfg.seed.basicLimitSeconds);
    }
    note(verdict);
    if (call.probeOf && !verdict.staleFor.has(call.probeOf.id)) call.probeOf.freshSeen[call.instance] = true;
  };

  /** Applies one change at simulated time `atMs` (all instance clocks stopped) and waits for its trigger. */
  const applyChange = async (kind: ChangeKind, atMs: number): Promise<Change | undefined> => {
    const triggerId = `${stack.local.region}-${triggerOf[kind]}`;
    const triggerRunsBefore = functionRuns.finishedCount(triggerId);
    const handledBy = Math.floor(random() * instances.length);
    const on = instances[handledBy]!;
    const liveUsers = sessions.map((s) => s.uid);
    const unapprovedIds = [...state.apps].filter(([, a]) => !a.approved && !a.private && !a.disabled).map(([id]) => id);
    const base = { atMs, handledBy, lastOldMs: instances.map(() => -1), freshSeen: instances.map(() => false), violations: 0, timedOut: false, done: false };
    let change: Change;
    requests.changes++;
    switch (kind) {
      case "addTester": {
        const candidates = liveUsers.filter((uid) => !state.testers.has(uid));
        const uid = pick(candidates);
        const apps = new Set([pick(unapprovedIds.filter((id) => state.apps.get(id)!.owner !== uid))]);
        await on.call("addTester", { uid, apps: [...apps] }, adminAs);
        change = { id: 0, kind, uid, before: { testerApps: null }, probe: { name: "getAvailableApps", uid }, ...base };
        state.testers.set(uid, apps);
        addedTesters.push(uid);
        break;
      }
      case "removeTester": {
        const uid = addedTesters.filter((u) => state.testers.has(u)).pop() ?? [...state.testers.keys()][0]!;
        await on.call("removeTester", { uid }, adminAs);
        change = { id: 0, kind, uid, before: { testerApps: state.testers.get(uid) ?? null }, probe: { name: "getAvailableApps", uid }, ...base };
        state.testers.delete(uid);
        break;
      }
      case "approveApp": {
        const appId = pick(unapprovedIds);
        const app = state.apps.get(appId)!;
        await db.doc(`apps/${appId}`).update({ approved: true, status: "approved" });
        const probeUid = pick(liveUsers.filter((u) => u !== app.owner));
        change = { id: 0, kind, appId, before: { app: { ...app } }, probe: { name: "getAvailableApps", uid: probeUid }, ...base };
        state.apps.set(appId, { ...app, approved: true });
        break;
      }
      case "makePrivate": {
        const publicIds = [...state.apps].filter(([, a]) => a.approved && !a.private && !a.disabled).map(([id]) => id);
        const appId = pick(publicIds);
        const app = state.apps.get(appId)!;
        await db.doc(`apps/${appId}`).update({ private: true });
        const probeUid = pick(liveUsers.filter((u) => u !== app.owner));
        change = { id: 0, kind, appId, before: { app: { ...app } }, probe: { name: "getAvailableApps", uid: probeUid }, ...base };
        state.apps.set(appId, { ...app, private: true });
        break;
      }
      case "setMentor": {
        const uid = pick(liveUsers);
        const old = state.mentor.get(uid) ?? 0;
        const frequency = (old + 1 + Math.floor(random() * 5)) % 6;
        await on.call("setMentorNotificationFrequency", { frequency }, { uid });
        change = { id: 0, kind, uid, before: { mentor: old }, probe: { name: "getMentorNotificationFrequency", uid }, ...base };
        state.mentor.set(uid, frequency);
        break;
      }
      case "stripeUpgrade": {
        const candidates = liveUsers.filter((uid) => state.plan.get(uid) === "basic");
        if (candidates.length === 0) return undefined;
        const uid = pick(candidates);
        const event = subscriptionEvent({ customer: `cus_bench_${uid}`, uid, priceId: localStripePriceId("pro"), subscriptionId: `sub_bench_${uid}` });
        const response = await sendEvent(on, event);
        if (response.status !== 200) throw new Error(`stripeWebhook answered ${response.status}: ${JSON.stringify(response.body)}`);
        change = { id: 0, kind, uid, before: { plan: "basic" }, probe: { name: "getCredits", uid }, ...base };
        state.plan.set(uid, "pro");
        break;
      }
    }
    // The change's trigger has run (its marker is written) before the clocks move again. The
    // Firestore emulator delivers it to the Functions emulator asynchronously after the commit.
    const waitedFrom = Date.now();
    while (functionRuns.finishedCount(triggerId) <= triggerRunsBefore) {
      if (Date.now() - waitedFrom > triggerRunTimeoutMs) throw new Error(`${kind}: ${triggerId} did not run within ${triggerRunTimeoutMs / 1000} s of its write`);
      await sleep(10);
    }
    await stack.triggersSettled();
    change.id = checker.changes.length + 1;
    checker.changes.push(change);
    changesByKind[kind] = (changesByKind[kind] ?? 0) + 1;
    return change;
  };

  let nextChangeAtMs = cfg.firstChangeAtMs;
  let changeIndex = 0;
  for (let tick = 1; tick <= totalTicks; tick++) {
    const atMs = tick * cfg.tickMs;
    await Promise.all(instances.map((instance) => instance.advanceClock(cfg.tickMs)));

    if (tick % ticksPerMinute === 0) {
      // Session turnover: some sessions end, other users start theirs (cold entries).
      for (let k = 0; k < cfg.sessionTurnoverPerMinute; k++) {
        const index = Math.floor(random() * sessions.length);
        const idle = allUsers.filter((uid) => !live.has(uid));
        if (idle.length === 0) break;
        const uid = pick(idle);
        live.delete(sessions[index]!.uid);
        live.add(uid);
        sessions[index] = newSession(uid);
      }
    }
    if (atMs >= nextChangeAtMs) {
      nextChangeAtMs += cfg.changeEveryMs;
      await applyChange(changeCycle[changeIndex++ % changeCycle.length]!, atMs);
    }

    const calls: Call[] = [];
    const pickInstance = () => Math.floor(random() * instances.length);
    for (const session of sessions) {
      if (tick % ticksPerSecond === session.phase) {
        calls.push({ name: "getAvailableApps", uid: session.uid, instance: pickInstance(), data: {} });
        calls.push({ name: "getMentorNotificationFrequency", uid: session.uid, instance: pickInstance(), data: {} });
      }
      if (tick % ticksPerMinute === session.minuteTick) {
        calls.push({ name: "recordTranscriptionUsage", uid: session.uid, instance: pickInstance(), data: { sessionId: session.sessionId, transcriptionSeconds: 60, wordsTranscribed: 150 } });
      }
    }
    requests.workload += calls.length;
    for (const change of checker.changes) {
      if (change.done) continue;
      if (change.freshSeen.every(Boolean)) {
        change.done = true;
        continue;
      }
      if (atMs - change.atMs > cfg.probeTimeoutMs) {
        change.done = true;
        change.timedOut = true;
        continue;
      }
      change.freshSeen.forEach((fresh, instance) => {
        if (!fresh) {
          calls.push({ name: change.probe.name, uid: change.probe.uid, instance, data: {}, probeOf: change });
          requests.probes++;
        }
      });
    }
    await Promise.all(calls.map((call) => invoke(call, atMs)));

    if (atMs % cfg.bucketMs === 0) {
      const total = reads.total();
      buckets.push(total - lastBucketReads);
      lastBucketReads = total;
    }
    if (tick % ticksPerMinute === 0) process.stdout.write(`    ${policy}: simulated minute ${tick / ticksPerMinute}/${cfg.simulatedMinutes}, ${reads.total()} reads, ${((Date.now() - wallStart) / 1000).toFixed(0)} s\r\n`);
  }
  requests.total = requests.workload + requests.probes + requests.changes;

  const freshnessMs = checker.changes.map((c) => Math.max(0, ...c.lastOldMs.map((t) => (t < 0 ? 0 : t - c.atMs))));
  const sortedFreshness = [...freshnessMs].sort((a, b) => a - b);
  const latency: Record<string, { count: number; p50: number; p99: number }> = {};
  for (const [name, values] of Object.entries(latencies)) {
    const sorted = values.sort((a, b) => a - b);
    latency[name] = { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  }
  return {
    policy,
    wallMs: Date.now() - wallStart,
    requests,
    reads: { total: reads.total(), byMethod: reads.byMethod(), perRequest: reads.total() / requests.total },
    readsPerBucket: buckets,
    latency,
    freshness: {
      maxMs: sortedFreshness.at(-1) ?? 0,
      p99Ms: percentile(sortedFreshness, 99),
      p50Ms: percentile(sortedFreshness, 50),
      violations: checker.changes.reduce((sum, c) => sum + c.violations, 0),
      timedOut: checker.changes.filter((c) => c.timedOut).length,
      changes: checker.changes.map((c, i) => ({
        id: c.id,
        kind: c.kind,
        atMs: c.atMs,
        subject: c.uid ?? c.appId ?? "",
        handledBy: c.handledBy,
        staleForMs: freshnessMs[i]!,
        lastOldMsPerInstance: c.lastOldMs.map((t) => (t < 0 ? null : t - c.atMs)),
        violations: c.violations,
        timedOut: c.timedOut,
      })),
    },
    changesByKind,
    wrongAnswers,
    errors,
    examples,
    redis: { total: 0, byCommand: {}, enrichment: 0, threshold: 0, coherence: 0, perRequest: 0, coherencePerRequest: 0 },
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
