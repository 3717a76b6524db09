/**
 * An admin Firestore client on a given emulator, in an app of its own, leaving the caller's
 * default app and environment alone. FIRESTORE_EMULATOR_HOST (a test stack's, say) wins over
 * `settings.host`, and the client reads it once, when constructed: it is swapped meanwhile.
 * Emulator mode sends the admin token ("owner"): no security rules apply.
 */
import type { App } from "firebase-admin/app";
import type { Firestore } from "firebase-admin/firestore";
import { firebaseAdminApp, firebaseAdminFirestore } from "./functions-deps";

export function firestoreOn(host: string, project: string, appName: string): { app: App; db: Firestore } {
  const app = firebaseAdminApp().initializeApp({ projectId: project }, appName);
  const saved = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = host;
  try {
    return { app, db: firebaseAdminFirestore().getFirestore(app) };
  } finally {
    if (saved === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = saved;
  }
}
