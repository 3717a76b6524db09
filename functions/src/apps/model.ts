/**
 * The app record as this suite serves it, and the visibility rules of the marketplace.
 * Only the contract's fields are kept: a cached app is small, and a field added to the
 * document for internal use never reaches clients by accident.
 */
import { DocumentSnapshot, Timestamp } from "firebase-admin/firestore";
import { z } from "zod";
import { documentIdSchema } from "../firestore";

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

/** A document id a client may send (and a uid): a safe document id of at most 128 chars. */
export const idSchema = documentIdSchema.max(maxIdLength);

/** Bounds one tester document (and one batched get of their apps) to a sane size. */
export const maxTesterApps = 500;

/**
 * `testers/{uid}.apps`: the ids of the unapproved apps a tester may see, as the admin
 * callables write it (and as `addTester` accepts it).
 */
export const testerAppsSchema = z.array(idSchema).max(maxTesterApps);

/**
 * A stored `apps` field, read: its ids that `testerAppsSchema` accepts, each once, in stored
 * order. Anything else (a missing field included) reads as no apps: a malformed entry grants
 * nothing and is dropped by the next write.
 */
export function storedTesterApps(stored: unknown): string[] {
  const ids = Array.isArray(stored) ? stored.filter((id): id is string => idSchema.safeParse(id).success) : [];
  return [...new Set(ids)];
}

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
