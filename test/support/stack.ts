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

let running: (TestStack & { stop(): Promise<void> }) | undefined;

export function stack(): TestStack {
  if (!running) throw new Error("the test stack is not running (mocha global setup did not run)");
  return running;
}

/** The servers without a bridge, for a caller that manages its own (the benchmark). */
export interface LocalServers {
  redis: RunningRedis;
  gateway: UpstashGateway;
  gatewayToken: string;
  firestore: FirestoreFallback;
  reads: ReadCounter;
  stop(): Promise<void>;
}

/**
 * Starts redis-server, the gateway and the offline Firestore on free ports, and points this
 * process's environment (and so every instance it forks) at them. `env` overrides params.
 */
export async function startLocalServers(env: Record<string, string> = {}): Promise<LocalServers> {
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
    ...env,
  });
  return {
    redis,
    gateway,
    gatewayToken,
    firestore,
    reads: countReads(firestore.grpcServer, firestore.state),
    stop: async () => {
      await firestore.close();
      await gateway.close();
      await redis.stop();
    },
  };
}

/** The functions module as deployed, loaded after the environment points at the servers. */
export function deployedFunctions(): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("../../functions/src/index") as Record<string, unknown>;
}

/** Delivers every document change on `firestore` to the deployed triggers of this process. */
export function bridgeToTriggers(firestore: FirestoreFallback, deployed: Record<string, unknown>): TriggerBridge {
  return startTriggerBridge({
    state: firestore.state,
    projectId,
    triggers: triggersFromModule(deployed),
    deliver: async (triggerId, event) => {
      await (deployed[triggerId] as (event: unknown) => Promise<unknown>)(event);
    },
  });
}

export async function mochaGlobalSetup(): Promise<void> {
  const servers = await startLocalServers();
  const bridge = bridgeToTriggers(servers.firestore, deployedFunctions());
  running = {
    ...servers,
    bridge,
    stop: async () => {
      await bridge.close();
      await servers.stop();
    },
  };
}

/** Resolves once every trigger for the writes made so far has run. */
export function triggersSettled(): Promise<void> {
  return stack().bridge.waitForIdle();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await running?.stop();
  running = undefined;
}
