/**
 * The offline Firestore: the gRPC API of `@firestore-emulator/server`, in-process, on
 * loopback. Used when the official (Java) Firestore emulator is not installed, because
 * firebase-tools cannot download it without the internet. Its known gaps are listed in
 * /work/shared/LOCAL-STACK-FACTS.md; it has no Firestore triggers of its own (see
 * trigger-bridge.ts) and no REST API (so no `DELETE .../documents`: use `clear()`).
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { FirestoreServer, FirestoreState } from "@firestore-emulator/server";
import type * as Grpc from "@grpc/grpc-js";
import { closeFallbackGaps } from "./firestore-fallback-fixes";

// The package's own copy of grpc-js (a transitive dependency): credentials must come from it.
const grpc = createRequire(require.resolve("@firestore-emulator/server"))("@grpc/grpc-js") as typeof Grpc;

export type FallbackState = FirestoreState;
export type FallbackEmitter = FirestoreState["emitter"];

export interface FirestoreFallback {
  /** `127.0.0.1:<port>`, the value for FIRESTORE_EMULATOR_HOST. */
  host: string;
  port: number;
  /** Emits `create-document` / `update-document` / `delete-document` (after-state only). */
  emitter: FallbackEmitter;
  state: FallbackState;
  /** The package's gRPC server (for the read counter, which wraps its handlers). */
  grpcServer: unknown;
  /** Drops every document of every project (no trigger fires, as on the official emulator). */
  clear(): void;
  close(): Promise<void>;
}

/**
 * Starts the fallback on `options.port` (0 or absent: the OS picks a free port, no race).
 * Binds 127.0.0.1 only: the package itself would bind 0.0.0.0, which exposes dev data.
 */
export async function startFirestoreFallback(options: { port?: number } = {}): Promise<FirestoreFallback> {
  const firestore = new FirestoreServer();
  // The package's own start() binds every interface; its gRPC server is a private field.
  const grpcServer = (firestore as unknown as { server: Grpc.Server }).server;
  const port = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
      if (err) reject(new Error(`Firestore fallback could not bind 127.0.0.1:${options.port ?? 0}: ${err.message}`));
      else resolve(boundPort);
    });
  });
  closeFallbackGaps(grpcServer, firestore.state);
  let closed = false;
  return {
    host: `127.0.0.1:${port}`,
    port,
    emitter: firestore.state.emitter,
    state: firestore.state,
    grpcServer,
    clear: () => firestore.state.clear(),
    close: async () => {
      if (closed) return;
      closed = true;
      // forceShutdown: clients keep listen streams open, so a graceful shutdown can hang.
      grpcServer.forceShutdown();
    },
  };
}

/** The cache directory firebase-tools downloads emulator jars to (same rule as firebase-tools). */
function emulatorCacheDir(): string {
  return process.env.FIREBASE_EMULATORS_PATH || join(homedir(), ".cache", "firebase", "emulators");
}

/** The jar file name the installed firebase-tools expects, e.g. `cloud-firestore-emulator-v1.22.0.jar`. */
export function officialFirestoreJarName(): string | undefined {
  try {
    const infoPath = require.resolve("firebase-tools/lib/emulator/downloadableEmulatorInfo.json");
    const info = JSON.parse(readFileSync(infoPath, "utf8")) as {
      firestore?: { downloadPathRelativeToCacheDir?: string };
    };
    return info.firestore?.downloadPathRelativeToCacheDir;
  } catch {
    return undefined;
  }
}

/**
 * True when `firebase emulators:start --only firestore` would start without downloading:
 * java on PATH and the exact jar version this firebase-tools pins (another version in the
 * cache would make it try to download, which fails offline), or an explicit binary override.
 */
export function officialFirestoreEmulatorInstalled(): boolean {
  if (spawnSync("java", ["-version"], { stdio: "ignore" }).status !== 0) return false;
  const override = process.env.FIRESTORE_EMULATOR_BINARY_PATH;
  if (override) return existsSync(override);
  const jar = officialFirestoreJarName();
  return jar !== undefined && existsSync(join(emulatorCacheDir(), jar));
}
