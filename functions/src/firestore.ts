import { getApps, initializeApp } from "firebase-admin/app";
import { Firestore, getFirestore } from "firebase-admin/firestore";

let db: Firestore | undefined;

/** The Firestore client, created on first use so that importing a module costs nothing. */
export function firestore(): Firestore {
  if (!db) {
    const app = getApps()[0] ?? initializeApp();
    db = getFirestore(app);
  }
  return db;
}
