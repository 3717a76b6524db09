/**
 * The servers `npm test` and `npm run bench` run against: the emulator suite as `npm start`
 * runs it (firebase-tools with the official Firestore emulator, which delivers the Firestore
 * triggers to the Functions emulator itself; Auth; Redis behind the Upstash gateway), isolated
 * on random ports, unseeded, plus a proxy in front of Firestore that counts billed reads and
 * writes. This process's environment (and so every instance process it forks) points at the
 * proxy and the gateway through the same variables production reads.
 */
import type { LocalFirestore } from "../stack/local-firestore";
import { LocalStack, LocalStackOptions, startLocalStack } from "../stack/start";
import { localStripePricePlans, localStripeWebhookSecret } from "../stack/local-stripe";
import { ReadCounter, startReadCountingProxy, WriteCounter } from "./firestore-read-proxy";

export interface SuiteStack {
  local: LocalStack;
  /** The emulator itself (`host`: REST and gRPC), bypassing the read counter. */
  firestore: LocalFirestore;
  /** Billable document reads of every client that goes through FIRESTORE_EMULATOR_HOST. */
  reads: ReadCounter;
  /** Billed document writes (deletes included) of those same clients: what their commits applied. */
  writes: WriteCounter;
  /** Resolves once the triggers of every write made so far have run. */
  triggersSettled(): Promise<void>;
  stop(): Promise<void>;
}

/** Time for the Firestore emulator to begin delivering a committed write's trigger. */
const triggerDeliveryQuietMs = 400;
const triggerSettleTimeoutMs = 30_000;

export async function startSuiteStack(
  options: {
    env?: Record<string, string>;
    log?: (line: string) => void;
    firestore?: LocalStackOptions["firestore"];
    /** Options for the stack's Upstash gateway, which every instance and the triggers reach Redis through (e.g. `onCommand`). */
    gateway?: LocalStackOptions["gateway"];
    /** Hears the full document names each successful Commit through the proxy wrote (the benchmark's check on triggered writes). */
    onCommitted?: (documents: readonly string[]) => void;
  } = {},
): Promise<SuiteStack> {
  const local = await startLocalStack({
    isolated: true,
    seed: false,
    auth: false,
    log: options.log,
    firestore: options.firestore,
    env: options.env,
    gateway: options.gateway,
  });
  try {
    const proxy = await startReadCountingProxy({ targetHost: local.firestoreHost, onCommitted: options.onCommitted });
    Object.assign(process.env, {
      // No metadata server on loopback: don't let the admin SDK probe for one.
      METADATA_SERVER_DETECTION: "none",
      GCLOUD_PROJECT: local.projectId,
      GOOGLE_CLOUD_PROJECT: local.projectId,
      FIRESTORE_EMULATOR_HOST: proxy.host,
      FIREBASE_AUTH_EMULATOR_HOST: local.authEmulatorHost,
      UPSTASH_REDIS_REST_URL: local.gatewayUrl,
      UPSTASH_REDIS_REST_TOKEN: local.gatewayToken,
      STRIPE_WEBHOOK_SECRET: localStripeWebhookSecret,
      STRIPE_PRICE_PLANS: JSON.stringify(localStripePricePlans),
      ...options.env,
    });
    return {
      local,
      firestore: local.firestore,
      reads: proxy.reads,
      writes: proxy.writes,
      triggersSettled: async () => {
        await local.firestore.handedOff();
        await local.functionRuns.settled({ quietMs: triggerDeliveryQuietMs, timeoutMs: triggerSettleTimeoutMs });
      },
      stop: async () => {
        await proxy.close();
        await local.stop();
      },
    };
  } catch (err) {
    await local.stop();
    throw err;
  }
}
