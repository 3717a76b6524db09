/**
 * The servers every spec talks to, started once per `npm test` run (mocha global fixtures):
 * a real redis-server, the Upstash REST gateway in front of it, and the offline Firestore
 * gRPC server. Their addresses reach the code under test, and the instance processes the
 * specs fork, through the same environment variables production reads.
 */
import { randomBytes } from "node:crypto";
import { startFirestoreFallback, FirestoreFallback } from "../../scripts/lib/firestore-fallback";
import { countReads, ReadCounter } from "../../scripts/lib/firestore-read-counter";
import { startRedisServer, RunningRedis } from "../../scripts/lib/redis-server";
import { startTriggerBridge, triggersFromModule, TriggerBridge } from "../../scripts/lib/trigger-bridge";
import { startUpstashGateway, UpstashGateway } from "../../scripts/upstash-gateway";

export const projectId = "demo-voice-cache";

export interface TestStack {
  redis: RunningRedis;
  gateway: UpstashGateway;
  gatewayToken: string;
  firestore: FirestoreFallback;
  /** Delivers every document change to this process's deployed triggers, as production does. */
  bridge: TriggerBridge;
  /** Billable document reads, counted at the Firestore server. */
  reads: ReadCounter;
}

let running: TestStack | undefined;

export function stack(): TestStack {
  if (!running) throw new Error("the test stack is not running (mocha global setup did not run)");
  return running;
}

export async function mochaGlobalSetup(): Promise<void> {
  const redis = await startRedisServer();
  const gatewayToken = randomBytes(16).toString("hex");
  const gateway = await startUpstashGateway({ redisUrl: redis.url, token: gatewayToken });
  const firestore = await startFirestoreFallback();
  Object.assign(process.env, {
    // No metadata server on loopback: don't let the admin SDK probe for one.
    METADATA_SERVER_DETECTION: "none",
    GCLOUD_PROJECT: projectId,
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: firestore.host,
    UPSTASH_REDIS_REST_URL: gateway.url,
    UPSTASH_REDIS_REST_TOKEN: gatewayToken,
    STRIPE_WEBHOOK_SECRET: "whsec_test_secret",
    STRIPE_PRICE_PLANS: JSON.stringify({ price_pro_monthly: "pro", price_unlimited_monthly: "unlimited" }),
    BASIC_PLAN_TRANSCRIPTION_SECONDS: "1800",
  });
  // Loaded only now: the environment above is what its lazily created clients read.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const deployed = require("../../functions/src/index") as Record<string, unknown>;
  const bridge = startTriggerBridge({
    state: firestore.state,
    projectId,
    triggers: triggersFromModule(deployed),
    deliver: async (triggerId, event) => {
      await (deployed[triggerId] as (event: unknown) => Promise<unknown>)(event);
    },
  });
  running = { redis, gateway, gatewayToken, firestore, bridge, reads: countReads(firestore.grpcServer, firestore.state) };
}

/** Resolves once every trigger for the writes made so far has run. */
export function triggersSettled(): Promise<void> {
  return stack().bridge.waitForIdle();
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (!running) return;
  await running.bridge.close();
  await running.firestore.close();
  await running.gateway.close();
  await running.redis.stop();
  running = undefined;
}
