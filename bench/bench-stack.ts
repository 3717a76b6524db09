/**
 * The stack a bench process runs on, once for all its runs (the one `npm test` uses,
 * scripts/harness/suite-stack.ts, with its counters and the held triggers), and the same start
 * for every policy run on it: seeded data and fresh instance processes on manual clocks.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Firestore } from "firebase-admin/firestore";
import Redis from "ioredis";
import { Instance, startInstance } from "../scripts/harness/instance";
import { startSuiteStack, SuiteStack } from "../scripts/harness/suite-stack";
import { requireProductionNode } from "../scripts/stack/project-node";
import { benchConfig, defaultPollIntervalMs } from "./config";
import { HeldTriggers } from "./held-triggers";
import { ModelState, seed } from "./model";
import { BenchPolicy, benchPolicyEnv } from "./policies";
import { RedisCommandTally } from "./redis-commands";

/** Loaded into the `none` and `reference` instance processes (never into `ours`). */
const policyPreload = path.join(__dirname, "policy-preload.ts");

/** The environment and preload an instance process of `policy` starts with: for ours, the poll interval alone. */
function instanceSetup(policy: BenchPolicy, pollIntervalMs: number): [Record<string, string>, { preload?: string[] }] {
  const interval: Record<string, string> = pollIntervalMs === defaultPollIntervalMs ? {} : { MARKER_POLL_INTERVAL_MS: String(pollIntervalMs) };
  if (policy === "ours") return [interval, {}];
  return [{ ...interval, [benchPolicyEnv]: policy }, { preload: [policyPreload] }];
}

function firebaseToolsVersion(): string {
  return (JSON.parse(readFileSync(require.resolve("firebase-tools/package.json"), "utf8")) as { version: string }).version;
}

/** What one bench process holds for all its runs: the stack, its counters, the held triggers. */
export interface BenchStack {
  stack: SuiteStack;
  redisTally: RedisCommandTally;
  redisAdmin: Redis;
  db: Firestore;
  held: HeldTriggers;
  environment: { firestore: string; functions: string; node: string };
  stop(): Promise<void>;
}

/** Starts the stack npm test uses (scripts/harness/suite-stack.ts), once for every run of the process. */
export async function startBenchStack(): Promise<BenchStack> {
  requireProductionNode();
  const cfg = benchConfig;
  // The Functions emulator and the `ours` instances inherit this process's environment: they
  // run the code as it ships, so no policy variable may leak into it, nor a poll interval (the
  // instances get theirs explicitly). The bench flushes Redis, so it always starts its own
  // redis-server, never the shell's REDIS_URL.
  delete process.env[benchPolicyEnv];
  delete process.env.REDIS_URL;
  delete process.env.MARKER_POLL_INTERVAL_MS;
  // Every Redis command the instances and the triggers send, as Upstash bills them.
  const redisTally = new RedisCommandTally();
  let held: HeldTriggers | undefined;
  const stack = await startSuiteStack({
    env: { BASIC_PLAN_TRANSCRIPTION_SECONDS: String(cfg.seed.basicLimitSeconds) },
    log: (line) => console.log(`  [stack] ${line}`),
    gateway: { onCommand: redisTally.onCommand },
    onCommitted: (documents) => held?.noteCommitted(documents),
  });
  try {
    held = await HeldTriggers.create(stack);
    const environment = {
      firestore: stack.firestore.description,
      functions: `Functions emulator (firebase-tools ${firebaseToolsVersion()}) running functions/lib`,
      node: process.version,
    };
    console.log(`  Firestore: ${environment.firestore}; triggers: ${environment.functions}`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { firestore } = require("../functions/src/firestore") as typeof import("../functions/src/firestore");
    const redisAdmin = new Redis(stack.local.redisUrl, { lazyConnect: false });
    return {
      stack,
      redisTally,
      redisAdmin,
      db: firestore(),
      held,
      environment,
      stop: async () => {
        redisAdmin.disconnect();
        await held?.close();
        await stack.stop();
      },
    };
  } catch (error) {
    await held?.close();
    await stack.stop();
    throw error;
  }
}

/**
 * The same start for every policy (and every curve run): Firestore cleared and seeded, Redis
 * flushed and seeded, written with the triggers paused (and left paused: the run delivers its
 * changes' triggers itself); fresh instance processes of `policy` on manual clocks; the counters
 * reset. Runs `body` on them, then stops them.
 */
export async function withFreshInstances<T>(
  bench: BenchStack,
  policy: BenchPolicy,
  pollIntervalMs: number,
  body: (instances: Instance[], state: ModelState) => Promise<T>,
): Promise<T> {
  const cfg = benchConfig;
  const { stack, redisAdmin, db, held } = bench;
  await held.pause();
  await stack.firestore.clear();
  await redisAdmin.flushall();
  const seeded = await seed(db, cfg.seed, new Date());
  for (const [key, members] of Object.entries(seeded.redisSeed.sets)) await redisAdmin.sadd(key, ...members);
  await redisAdmin.mset(Object.entries(seeded.redisSeed.counters).flatMap(([k, v]) => [k, String(v)]));
  await held.startRun();
  const instances = await Promise.all(Array.from({ length: cfg.instances }, () => startInstance(...instanceSetup(policy, pollIntervalMs))));
  try {
    await Promise.all(instances.map((instance) => instance.useManualClock()));
    stack.reads.reset();
    stack.writes.reset();
    bench.redisTally.reset();
    return await body(instances, seeded.state);
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()));
  }
}
