/**
 * `npm run bench`: the read-cost and freshness benchmark. One command, offline.
 *
 * For each cache policy (none, reference, ours; see bench/policies.ts) on the same seeded data
 * and the same deterministic workload:
 * - the stack `npm test` runs on (scripts/lib/suite-stack.ts): the official Cloud Firestore
 *   emulator delivering document changes to the deployed Firestore triggers in the Functions
 *   emulator (functions/lib), a real redis-server behind the Upstash gateway, and billable
 *   reads counted by the gRPC proxy every client reaches Firestore through;
 * - several function instances, each its own process serving functions/src/index.ts through
 *   the real onCall / onRequest wrappers (scripts/lib/instance.ts), on manual clocks that the
 *   harness advances together (compressed time: a simulated second takes as long as its calls
 *   take, the same code runs). The `ours` instances run the deployed code as it is (no preload,
 *   no policy variable); the `none` and `reference` instances preload bench/policy-preload.ts
 *   with `BENCH_POLICY=<policy>`, which builds their caches from bench/policies.ts;
 * - live sessions calling getAvailableApps and getMentorNotificationFrequency once a
 *   simulated second and recordTranscriptionUsage once a simulated minute (each report with its
 *   own reportId; a seeded share delivered a second time shortly after, on a random instance,
 *   as a client retry would), on random instances; changes during the run (testers, app approval/privacy, mentor settings,
 *   Stripe upgrades as signed webhooks), each probed on every instance until every instance
 *   serves the new state. Every answer is checked against the model of the data;
 * - then a low-load phase on the same warm instances: each gets exactly one request per
 *   simulated second from the same mix, no changes, counted on its own;
 * - the same starting point for every policy: Firestore cleared and seeded, Redis flushed and
 *   seeded, with the Functions emulator's background triggers paused (its hub's
 *   disable/enableBackgroundTriggers), so the seed fires no trigger.
 *
 * Billable Firestore reads and writes are counted by the proxy; Redis commands at the Upstash gateway,
 * as Upstash bills them, by purpose (bench/redis-commands.ts); the floor, the fewest reads
 * the calls made could cost, from the calls and the model (bench/floor.ts).
 *
 * Writes bench/results/latest.{md,json} and bench/results/reads-per-minute.svg. Exits 1 when
 * `ours` misses a goal (bench/report.ts `goals`, `goalFailures`): its cost per 1M requests (reads,
 * writes and Redis commands), its cut against the reference's cost, any answer staler than the
 * contract allows, any wrong answer (a credit figure off by a second included) or error, a
 * change never fresh on every instance.
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
import { FloorCounter } from "./floor";
import { Change, ChangeKind, Checker, createChecker, ModelState, rng, seed, SeedConfig, uidOf, UsageAnswer, UsageReport, Verdict } from "./model";
import { BenchPolicy, benchPolicies, benchPolicyEnv, parsePolicy } from "./policies";
import { RedisCommandCounts, RedisCommandTally, redisPurposes } from "./redis-commands";
import { costPerMillion, goalFailures, goals, listPrices, LowLoadResult, PolicyResult, RedisFigures, renderSvg, renderTable } from "./report";

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
  /** The low-load phase after the main run: this long, one request per simulated second per instance. */
  lowLoadSimulatedSeconds: envInt("BENCH_LOW_LOAD_SECONDS", 120),
  /** In the low-load phase, every this many seconds an instance's request is a recordTranscriptionUsage. */
  lowLoadUsageEverySeconds: 60,
  /** Seconds in each usage report. */
  reportSeconds: 60,
  /**
   * The share of the main run's usage reports delivered twice: the same data and reportId again,
   * on a random instance, 1 to `reportRetryMaxTicks` ticks after the first delivery was answered
   * (a client retrying a call whose answer it lost). Drawn from their own seeded stream, so the
   * rest of the workload is the same calls as without them.
   */
  reportRetryShare: 0.05,
  reportRetryMaxTicks: 8,
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

const policies: BenchPolicy[] = (process.env.BENCH_POLICIES ?? benchPolicies.join(","))
  .split(",")
  .map((name) => name.trim())
  .filter(Boolean)
  .map(parsePolicy);
/** Loaded into the `none` and `reference` instance processes (never into `ours`). */
const policyPreload = path.join(__dirname, "policy-preload.ts");

/** The environment and preload an instance process of `policy` starts with: nothing for ours. */
function instanceSetup(policy: BenchPolicy): [Record<string, string>, { preload?: string[] }] {
  if (policy === "ours") return [{}, {}];
  return [{ [benchPolicyEnv]: policy }, { preload: [policyPreload] }];
}
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
  /** Usage reports sent so far: the sequence in each report's id. */
  reports: number;
}

interface Call {
  name: string;
  uid: string;
  instance: number;
  data: unknown;
  probeOf?: Change;
  /** A usage report's first delivery: its id and seconds, and (maybe) when and where it is delivered again. */
  usage?: { reportId: string; seconds: number; retry?: { tick: number; instance: number } };
  /** A repeated delivery of this report (same data, same reportId). */
  retryOf?: UsageReport;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

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

  // The Functions emulator and the `ours` instances inherit this process's environment: they
  // run the code as it ships, so no policy variable may leak into it. The bench flushes Redis,
  // so it always starts its own redis-server, never the shell's REDIS_URL.
  delete process.env[benchPolicyEnv];
  delete process.env.REDIS_URL;
  // Every Redis command the instances and the triggers send, as Upstash bills them.
  const redisTally = new RedisCommandTally();
  // --- the stack npm test uses (scripts/lib/suite-stack.ts), started once for all the policies
  const stack = await startSuiteStack({
    env: { BASIC_PLAN_TRANSCRIPTION_SECONDS: String(cfg.seed.basicLimitSeconds) },
    log: (line) => console.log(`  [stack] ${line}`),
    gateway: { onCommand: redisTally.onCommand },
  });
  const environment = {
    firestore: stack.firestore.description,
    functions: `Functions emulator (firebase-tools ${firebaseToolsVersion()}) running functions/lib`,
    node: process.version,
  };
  console.log(`  Firestore: ${environment.firestore}; triggers: ${environment.functions}`);
  const { reads, writes } = stack;
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
      const instances = await Promise.all(Array.from({ length: cfg.instances }, () => startInstance(...instanceSetup(policy))));
      try {
        await Promise.all(instances.map((instance) => instance.useManualClock()));
        reads.reset();
        writes.reset();
        redisTally.reset();
        const result = await runPolicy(policy, instances, seeded.state, db, stack, redisTally);
        results.push(result);
        const low = result.lowLoad;
        console.log(
          `  ${policy}: ${result.requests.total} requests, ${result.reads.total} reads (floor ${result.floor.reads}), ${result.writes.total} writes, ` +
            `${result.redis.perRequest.toFixed(3)} Redis cmd/request (coherence ${result.redis.perRequestByPurpose.coherence.toFixed(4)}, credits ${result.redis.perRequestByPurpose.credits.toFixed(4)}), ` +
            `$${result.costPerMillionUsd.total.toFixed(3)} per 1M (reads $${result.costPerMillionUsd.reads.toFixed(3)} + writes $${result.costPerMillionUsd.writes.toFixed(3)} + Redis $${result.costPerMillionUsd.redis.toFixed(3)}), ` +
            `${result.freshness.violations} freshness violations, ${result.wrongAnswers} wrong answers (${JSON.stringify(result.wrongAnswersByKind)}) (${(result.wallMs / 1000).toFixed(0)} s)` +
            (low ? `; low load: ${low.requests} requests, $${low.costPerMillionUsd.total.toFixed(3)} per 1M, ${low.wrongAnswers} wrong answers (${(low.wallMs / 1000).toFixed(0)} s)` : ""),
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
  const verdict = goalFailures(results);
  writeFileSync(
    path.join(outDir, "latest.json"),
    JSON.stringify(
      { generatedAt: new Date().toISOString(), node: process.version, environment, config: cfg, listPrices, goals, goalFailures: verdict, wallMs: Date.now() - startedAt, results },
      null,
      2,
    ) + "\n",
  );
  writeFileSync(path.join(outDir, "reads-per-minute.svg"), renderSvg(results, cfg));
  console.log(`\nwritten: bench/results/latest.md, latest.json, reads-per-minute.svg (${((Date.now() - startedAt) / 1000).toFixed(0)} s in all)`);

  const { failures, notes } = verdict;
  for (const note of notes) console.log(`note: ${note}`);
  if (failures.length > 0) {
    console.error("\nFAIL: ours misses its goals (bench/report.ts `goals`):");
    for (const failure of failures) console.error(`  - ${failure}`);
    const ours = results.find((r) => r.policy === "ours");
    for (const detail of ours?.examples ?? []) console.error(`  ${detail}`);
    process.exitCode = 1;
  } else if (results.some((r) => r.policy === "ours")) {
    console.log("\nours meets its goals.");
  }
}

/** The gateway's counts for a phase, with per-request figures. */
function redisFigures(counts: RedisCommandCounts, requests: number): RedisFigures {
  const perRequestByPurpose = Object.fromEntries(redisPurposes.map((purpose) => [purpose, counts.byPurpose[purpose] / requests])) as RedisFigures["perRequestByPurpose"];
  return { ...counts, perRequest: counts.total / requests, perRequestByPurpose };
}

/** What one phase's answers came to (the main run's, then the low-load phase's). */
interface PhaseCounts {
  wrongAnswers: number;
  /** By what was asked (`kindOf`). */
  wrongByKind: Record<string, number>;
  violations: number;
  errors: number;
  /** Record latencies (the main run only). */
  latency: boolean;
  label: string;
}

/** What a call asked about, for the wrong answers' breakdown. */
function kindOf(name: string): string {
  return name === "getAvailableApps" ? "apps" : name === "getMentorNotificationFrequency" ? "mentor" : "credits";
}

async function runPolicy(policy: BenchPolicy, instances: Instance[], state: ModelState, db: Firestore, stack: SuiteStack, redisTally: RedisCommandTally): Promise<PolicyResult> {
  const cfg = benchConfig;
  const { reads, writes } = stack;
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
  const reportCounts = { sent: 0, retries: 0, duplicateAnswers: 0 };
  /** Repeated report deliveries, by the tick they are sent at. */
  const retriesAt = new Map<number, Call[]>();
  const retryRandom = rng(13);
  const mainPhase: PhaseCounts = { wrongAnswers: 0, wrongByKind: {}, violations: 0, errors: 0, latency: true, label: policy };
  const floor = new FloorCounter(state, instances.length);
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
    reports: 0,
  });
  /** The session's next usage report (its id: the session's id and the report's sequence in it). */
  const reportCall = (session: Session, instance: number, retry?: { tick: number; instance: number }): Call => {
    const reportId = `${session.sessionId}-${++session.reports}`;
    const data = { sessionId: session.sessionId, reportId, transcriptionSeconds: cfg.reportSeconds, wordsTranscribed: 150 };
    return { name: "recordTranscriptionUsage", uid: session.uid, instance, data, usage: { reportId, seconds: cfg.reportSeconds, retry } };
  };
  const allUsers = Array.from({ length: cfg.seed.users }, (_, i) => uidOf(i));
  const sessions: Session[] = [];
  const live = new Set<string>();
  while (sessions.length < Math.min(cfg.liveSessions, allUsers.length)) {
    const uid = pick(allUsers);
    if (live.has(uid)) continue;
    live.add(uid);
    sessions.push(newSession(uid));
  }

  const note = (verdict: Verdict, phase: PhaseCounts, name: string) => {
    phase.wrongAnswers += verdict.wrong;
    if (verdict.wrong > 0) phase.wrongByKind[kindOf(name)] = (phase.wrongByKind[kindOf(name)] ?? 0) + verdict.wrong;
    phase.violations += verdict.violations;
    for (const detail of verdict.details) {
      // Keep a few of each kind: stale answers are expected from the reference, wrong ones never.
      const stale = detail.includes("old state");
      if (stale ? staleExamples < 3 : examples.length - staleExamples < 10) {
        if (stale) staleExamples++;
        examples.push(`${phase.label}: ${detail}`);
      }
    }
  };

  const invoke = async (call: Call, atMs: number, phase: PhaseCounts = mainPhase): Promise<void> => {
    const instance = instances[call.instance]!;
    floor.noteCall(call.name, call.uid, call.instance);
    // A first delivery is in the model from the moment it is sent: a concurrent answer may include it.
    const report = call.usage ? checker.startReport(call.uid, call.usage.reportId, call.usage.seconds, call.instance) : undefined;
    const retry = call.usage?.retry;
    if (report && retry) {
      const list = retriesAt.get(retry.tick) ?? [];
      list.push({ name: call.name, uid: call.uid, instance: retry.instance, data: call.data, retryOf: report });
      retriesAt.set(retry.tick, list);
    }
    const startedAt = performance.now();
    let result: unknown;
    try {
      result = await instance.call(call.name, call.data, { uid: call.uid });
    } catch (error) {
      if (report) checker.reportFailed(report, atMs);
      phase.errors++;
      if (examples.length < 10) examples.push(`${phase.label}: ${call.name} as ${call.uid}: ${error instanceof CallableError ? error.message : String(error)}`);
      return;
    }
    if (phase.latency) (latencies[call.name] ??= []).push(performance.now() - startedAt);
    let verdict: Verdict;
    if (call.name === "getAvailableApps") {
      verdict = checker.checkApps(call.uid, call.instance, atMs, (result as { apps: AvailableApp[] }).apps.map((app) => app.id));
    } else if (call.name === "getMentorNotificationFrequency") {
      verdict = checker.checkMentor(call.uid, call.instance, atMs, (result as { frequency: number }).frequency);
    } else if (call.retryOf) {
      const answer = result as UsageAnswer;
      if (answer.duplicate === true) reportCounts.duplicateAnswers++;
      verdict = checker.checkRetry(call.retryOf, call.instance, atMs, answer, cfg.seed.basicLimitSeconds);
    } else if (report) {
      verdict = checker.checkReport(report, call.instance, atMs, result as UsageAnswer, cfg.seed.basicLimitSeconds);
    } else {
      verdict = checker.checkCredits(call.uid, call.instance, atMs, (result as { remainingSeconds: number | null }).remainingSeconds, cfg.seed.basicLimitSeconds);
    }
    note(verdict, phase, call.name);
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
    floor.noteChange();
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
        const instance = pickInstance();
        let retry: { tick: number; instance: number } | undefined;
        if (retryRandom() < cfg.reportRetryShare) {
          retry = { tick: tick + 1 + Math.floor(retryRandom() * cfg.reportRetryMaxTicks), instance: Math.floor(retryRandom() * instances.length) };
          if (retry.tick > totalTicks) retry = undefined; // the run ends first
        }
        calls.push(reportCall(session, instance, retry));
        reportCounts.sent++;
      }
    }
    // Repeated deliveries of reports answered in earlier ticks. Calls of one tick run concurrently
    // (ticks one after the other), and a user has at most one first delivery in a tick.
    const retries = retriesAt.get(tick) ?? [];
    retriesAt.delete(tick);
    calls.push(...retries);
    reportCounts.retries += retries.length;
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

  // --- the main run's figures, taken before the low-load phase moves the counters (and before
  // its answers can add to a change's stale answers)
  const wallMs = Date.now() - wallStart;
  const mainReads = { total: reads.total(), byMethod: reads.byMethod(), perRequest: reads.total() / requests.total };
  const mainWrites = { total: writes.total(), byMethod: writes.byMethod(), perRequest: writes.total() / requests.total };
  const mainFigures = { ...checker.figuresChecked };
  const mainRedis = redisFigures(redisTally.take(), requests.total);
  const mainFloor = floor.figures();
  const freshnessMs = checker.changes.map((c) => Math.max(0, ...c.lastOldMs.map((t) => (t < 0 ? 0 : t - c.atMs))));
  const sortedFreshness = [...freshnessMs].sort((a, b) => a - b);
  const freshness: PolicyResult["freshness"] = {
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
  };
  const latency: Record<string, { count: number; p50: number; p99: number }> = {};
  for (const [name, values] of Object.entries(latencies)) {
    const sorted = values.sort((a, b) => a - b);
    latency[name] = { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  }

  /**
   * The low-load phase: the same warm instances, clocks moving on from the main run, each
   * instance given exactly one request per simulated second from the same mix (live users'
   * getAvailableApps and getMentorNotificationFrequency in turn, a recordTranscriptionUsage
   * every `lowLoadUsageEverySeconds`), no changes, no probes. Every answer goes through the
   * checker. Reads, Redis commands and the floor are counted for this phase alone.
   */
  const runLowLoad = async (fromMs: number): Promise<LowLoadResult> => {
    const phaseStart = Date.now();
    reads.reset();
    writes.reset();
    redisTally.reset();
    const floorBefore = floor.figures().reads;
    const phase: PhaseCounts = { wrongAnswers: 0, wrongByKind: {}, violations: 0, errors: 0, latency: false, label: `${policy} (low load)` };
    const lowRandom = rng(11);
    const every = cfg.lowLoadUsageEverySeconds;
    const requestsByName: Record<string, number> = {};
    let served = 0;
    for (let second = 1; second <= cfg.lowLoadSimulatedSeconds; second++) {
      const atMs = fromMs + second * 1000;
      await Promise.all(instances.map((instance) => instance.advanceClock(1000)));
      const calls = instances.map((_, instance): Call => {
        const session = sessions[Math.floor(lowRandom() * sessions.length)]!;
        // Usage reports staggered over the instances, so they do not all land in one second.
        const slot = second + Math.floor((instance * every) / instances.length);
        if (slot % every === 0) return reportCall(session, instance);
        return { name: slot % 2 === 0 ? "getAvailableApps" : "getMentorNotificationFrequency", uid: session.uid, instance, data: {} };
      });
      for (const call of calls) requestsByName[call.name] = (requestsByName[call.name] ?? 0) + 1;
      served += calls.length;
      await Promise.all(calls.map((call) => invoke(call, atMs, phase)));
    }
    const perRequest = reads.total() / served;
    const writesPerRequest = writes.total() / served;
    const redisLow = redisFigures(redisTally.take(), served);
    return {
      simulatedSeconds: cfg.lowLoadSimulatedSeconds,
      requestsPerSecondPerInstance: 1,
      requests: served,
      requestsByName,
      reads: { total: reads.total(), byMethod: reads.byMethod(), perRequest },
      writes: { total: writes.total(), byMethod: writes.byMethod(), perRequest: writesPerRequest },
      redis: redisLow,
      costPerMillionUsd: costPerMillion(perRequest, writesPerRequest, redisLow.perRequest),
      floorReads: floor.figures().reads - floorBefore,
      violations: phase.violations,
      wrongAnswers: phase.wrongAnswers,
      wrongAnswersByKind: phase.wrongByKind,
      errors: phase.errors,
      wallMs: Date.now() - phaseStart,
    };
  };
  const lowLoad = cfg.lowLoadSimulatedSeconds > 0 ? await runLowLoad(totalTicks * cfg.tickMs) : undefined;

  return {
    policy,
    wallMs,
    requests,
    reports: { ...reportCounts, figuresChecked: mainFigures.total, ownReportFigures: mainFigures.ownReport },
    reads: mainReads,
    writes: mainWrites,
    readsPerBucket: buckets,
    latency,
    freshness,
    changesByKind,
    wrongAnswers: mainPhase.wrongAnswers,
    wrongAnswersByKind: mainPhase.wrongByKind,
    errors: mainPhase.errors,
    examples,
    redis: mainRedis,
    costPerMillionUsd: costPerMillion(mainReads.perRequest, mainWrites.perRequest, mainRedis.perRequest),
    floor: { ...mainFloor, perRequest: mainFloor.reads / requests.total, readsOverFloor: mainReads.total / mainFloor.reads },
    lowLoad,
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
