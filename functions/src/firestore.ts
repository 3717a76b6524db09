import { getApps, initializeApp } from "firebase-admin/app";
import { DocumentReference, DocumentSnapshot, Firestore, getFirestore, Query, QuerySnapshot, ReadOptions } from "firebase-admin/firestore";
import { z } from "zod";
import { usageMeter } from "./instance/runtime";

/** The longest document id we accept: Stripe documents its ids as at most 255 characters. */
export const maxDocumentIdLength = 255;

/**
 * A string safe to use as one Firestore document id: 1..255 chars, no `/` (it would address
 * another path), and none of Firestore's reserved ids (`.`, `..`, `__x__`). The one definition
 * for every id we turn into a document path: Stripe ids here, client ids (`idSchema`, which
 * narrows the length) in apps/model.ts.
 */
export const documentIdSchema = z
  .string()
  .min(1)
  .max(maxDocumentIdLength)
  .refine((id) => !id.includes("/"), "must not contain '/'")
  .refine((id) => id !== "." && id !== ".." && !/^__.*__$/.test(id), "is a reserved id");

let db: Firestore | undefined;

/** The Firestore client, created on first use so that importing a module costs nothing. */
export function firestore(): Firestore {
  if (!db) {
    const app = getApps()[0] ?? initializeApp();
    db = getFirestore(app);
  }
  return db;
}

/**
 * `getAll`, metered (telemetry/meter.ts): every document is a billed read, a missing one counted
 * as not found too, to the collection it is in.
 */
export async function getDocuments(refs: DocumentReference[], options?: ReadOptions): Promise<DocumentSnapshot[]> {
  const snapshots = options === undefined ? await firestore().getAll(...refs) : await firestore().getAll(...refs, options);
  meterSnapshots(snapshots);
  return snapshots;
}

/** Meters document reads made some other way (a transaction's get, a reference's get). */
export function meterSnapshots(snapshots: readonly DocumentSnapshot[]): void {
  for (const snapshot of snapshots) usageMeter().reads(snapshot.ref.parent.id, 1, snapshot.exists ? 0 : 1);
}

/** A query of `collection` (or collection group), metered: one read per document returned, and one for a query that returns none. */
export async function runQuery(collection: string, query: Query): Promise<QuerySnapshot> {
  const snapshot = await query.get();
  usageMeter().reads(collection, Math.max(1, snapshot.size));
  return snapshot;
}

/** `documents` writes a commit applied to `collection`, metered. */
export function meterWrites(collection: string, documents = 1): void {
  usageMeter().writes(collection, documents);
}
