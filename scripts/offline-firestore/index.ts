/**
 * The offline stand-in Firestore behind the launcher's `LocalFirestore` interface: the gRPC
 * server of `@firestore-emulator/server` in this process (server.ts), with our trigger bridge
 * delivering its writes to the Functions emulator (trigger-bridge.ts). Used only where neither
 * official emulator can run (../stack/firestore-emulator.ts decides). No security rules, no
 * REST API: documents are cleared and read on its in-memory state.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../../functions/src/error-message";
import { FirestoreTrigger, triggersFromFunctionsEmulator } from "../stack/firestore-triggers";
import type { LocalFirestore } from "../stack/local-firestore";
import { deliverToFunctionsEmulator } from "../stack/trigger-delivery";
import { toRestDocument } from "./rest-json";
import { startFirestoreFallback } from "./server";
import { startTriggerBridge, TriggerBridge } from "./trigger-bridge";

export async function startOfflineFirestore(options: { port: number; projectId: string; description: string }): Promise<LocalFirestore> {
  const server = await startFirestoreFallback({ port: options.port }).catch((err: unknown) => {
    throw new Error(`${errorMessage(err)} (is another local stack running? stop it, or free port ${options.port})`);
  });
  let bridge: TriggerBridge | undefined;
  return {
    host: server.host,
    description: options.description,
    rulesEvaluated: false,
    bannerNote: "triggers delivered by the bridge; clear data by restarting",
    firebaseToolsEmulators: [],
    // Not started by firebase-tools: its function workers must be told where it is.
    firebaseToolsEnv: { FIRESTORE_EMULATOR_HOST: server.host },
    connectTriggers: (functionsEmulatorUrl, log) => {
      bridge = startTriggerBridge({
        state: server.state,
        projectId: options.projectId,
        triggers: cachedEmulatorTriggers(functionsEmulatorUrl),
        deliver: deliverToFunctionsEmulator(functionsEmulatorUrl, options.projectId),
        log,
      });
    },
    handedOff: async () => bridge?.waitForIdle(),
    clear: async () => server.clear(),
    readDocument: async (documentPath) =>
      toRestDocument(server.state.getDocument(`projects/${options.projectId}/databases/(default)/documents/${documentPath}`)),
    close: async () => {
      // Deliveries still running when we stop are the emulator's to finish or drop.
      if (bridge) await Promise.race([bridge.close(), sleep(5_000)]);
      await server.close();
    },
  };
}

/** The emulator's Firestore triggers, re-read at most every 2 s (they change on reload). */
function cachedEmulatorTriggers(functionsEmulatorUrl: string): () => Promise<FirestoreTrigger[]> {
  let cached: { at: number; triggers: Promise<FirestoreTrigger[]> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > 2_000) {
      const triggers = triggersFromFunctionsEmulator(functionsEmulatorUrl);
      cached = { at: Date.now(), triggers };
      triggers.catch(() => (cached = undefined));
    }
    return cached.triggers;
  };
}
