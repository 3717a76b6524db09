/**
 * The servers every spec talks to, started once per `npm test` run (mocha global fixtures):
 * the emulator suite as `npm start` runs it, with the official Firestore emulator delivering
 * the triggers, Redis behind the Upstash gateway, and a read-counting proxy in front of
 * Firestore (scripts/harness/suite-stack.ts). Their addresses reach the code under test, and the
 * instance processes the specs fork, through the same environment variables production reads.
 */
import { requireProductionNode } from "../../scripts/stack/project-node";
import { startSuiteStack, SuiteStack } from "../../scripts/harness/suite-stack";
import type { RunningRedis } from "../../scripts/stack/redis-server";

export const projectId = "demo-voice-cache";

export interface TestStack extends SuiteStack {
  redis: RunningRedis;
}

let running: TestStack | undefined;

export function stack(): TestStack {
  if (!running) throw new Error("the test stack is not running (mocha global setup did not run)");
  return running;
}

export async function mochaGlobalSetup(): Promise<void> {
  requireProductionNode();
  const startedAt = Date.now();
  const suite = await startSuiteStack({ log: (line) => console.log(`  [stack] ${line}`) });
  const redis = suite.local.redis;
  if (!redis) throw new Error("the test stack must start its own redis-server (unset REDIS_URL)");
  running = { ...suite, redis };
  console.log(`  [stack] Node ${process.versions.node}; Firestore: ${suite.firestore.description}`);
  console.log(`  [stack] ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}

/** Resolves once every trigger for the writes made so far has run. */
export function triggersSettled(): Promise<void> {
  return stack().triggersSettled();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await running?.stop();
  running = undefined;
}
