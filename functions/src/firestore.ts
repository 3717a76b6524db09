import { getApps, initializeApp } from "firebase-admin/app";
import { Firestore, getFirestore } from "firebase-admin/firestore";
import { z } from "zod";

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
