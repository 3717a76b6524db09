/**
 * The app record as this suite serves it, and the visibility rules of the marketplace.
 * Only the contract's fields are kept: a cached app is small, and a field added to the
 * document for internal use never reaches clients by accident.
 */
import { DocumentSnapshot, Timestamp } from "firebase-admin/firestore";
import { z } from "zod";

export const appsCollection = "apps";
export const testersCollection = "testers";

/** An app document, normalized (what the caches hold, deep-frozen). */
export interface App {
  id: string;
  name: string;
  uid: string;
  private: boolean;
  approved: boolean;
  status: string;
  disabled: boolean;
  category: string;
  description: string;
  image: string;
  capabilities: string[];
  /** ISO 8601, or null when the document has none. */
  created_at: string | null;
}

/** What `getAvailableApps` returns per app: the app plus this caller's view of it. */
export interface AvailableApp extends Omit<App, "disabled"> {
  enabled: boolean;
  installs: number;
  rejected: boolean;
}

/** The longest id we accept from a client; Firestore allows 1,500 bytes, nothing real needs that. */
export const maxIdLength = 128;

/**
 * A document id a client may send: 1..128 chars, no `/` (it would address another path),
 * and none of Firestore's reserved ids (`.`, `..`, `__x__`).
 */
export const idSchema = z
  .string()
  .min(1)
  .max(maxIdLength)
  .refine((id) => !id.includes("/"), "must not contain '/'")
  .refine((id) => id !== "." && id !== ".." && !/^__.*__$/.test(id), "is a reserved id");

function asString(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function asIsoTime(value: unknown): string | null {
  if (value instanceof Timestamp) return value.toDate().toISOString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return new Date(value * 1000).toISOString();
  return null;
}

/** Normalizes a stored app. A missing or malformed flag reads as the restrictive value. */
export function appFromSnapshot(snapshot: DocumentSnapshot): App {
  const data = snapshot.data() ?? {};
  const capabilities: unknown = data.capabilities;
  return {
    id: snapshot.id,
    name: asString(data.name),
    uid: asString(data.uid),
    // Only an explicit `false` makes an app public, and only an explicit `true` approves it.
    private: data.private !== false,
    approved: data.approved === true,
    status: asString(data.status),
    disabled: data.disabled === true,
    category: asString(data.category),
    description: asString(data.description),
    image: asString(data.image),
    capabilities: Array.isArray(capabilities) ? capabilities.filter((c): c is string => typeof c === "string") : [],
    created_at: asIsoTime(data.created_at),
  };
}

export function isPublicApproved(app: Pick<App, "private" | "approved">): boolean {
  return !app.private && app.approved;
}

/**
 * The raw-document form of the same predicates, for triggers (before/after may be partial).
 * Mirrors `appFromSnapshot`: public means `private === false`, approved means `approved === true`.
 */
export function storedAppFlags(data: Record<string, unknown> | undefined): { publicApproved: boolean; unapproved: boolean; owner: string } | undefined {
  if (data === undefined) return undefined;
  const approved = data.approved === true;
  return { publicApproved: data.private === false && approved, unapproved: !approved, owner: asString(data.uid) };
}
