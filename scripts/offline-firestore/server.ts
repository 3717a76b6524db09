/**
 * The offline stand-in Firestore: the gRPC API of `@firestore-emulator/server`, in-process,
 * on loopback. Used only where neither official emulator can run (firestore-emulator.ts
 * decides). Its known gaps are in docs/local-stack.md; it has no Firestore triggers of its own (see
 * trigger-bridge.ts), no security rules and no REST API (so no `DELETE .../documents`:
 * use `clear()`).
 */
import { createRequire } from "node:module";
import { FirestoreServer, FirestoreState } from "@firestore-emulator/server";
import type * as Grpc from "@grpc/grpc-js";
import { closeFallbackGaps } from "./server-fixes";

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
    clear: () => firestore.state.clear(),
    close: async () => {
      if (closed) return;
      closed = true;
      // forceShutdown: clients keep listen streams open, so a graceful shutdown can hang.
      grpcServer.forceShutdown();
    },
  };
}
