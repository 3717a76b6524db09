/**
 * An admin Firestore client on a Firestore of the spec's own (not the global stack's).
 * FIRESTORE_EMULATOR_HOST (the global stack's) wins over `settings.host`, and the client
 * reads it once, when constructed.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type * as AdminApp from "../../functions/node_modules/firebase-admin/lib/app/index";
import type * as AdminFirestore from "../../functions/node_modules/firebase-admin/lib/firestore/index";

// The functions' own copies of firebase-admin (the root has none).
const functionsRequire = createRequire(path.join(__dirname, "../../functions/src/index.ts"));

export function firestoreOn(host: string, project: string, appName: string): { app: AdminApp.App; db: AdminFirestore.Firestore } {
  const { initializeApp } = functionsRequire("firebase-admin/app") as typeof AdminApp;
  const { getFirestore } = functionsRequire("firebase-admin/firestore") as typeof AdminFirestore;
  const app = initializeApp({ projectId: project }, appName);
  const saved = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = host;
  try {
    return { app, db: getFirestore(app) };
  } finally {
    if (saved === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = saved;
  }
}
