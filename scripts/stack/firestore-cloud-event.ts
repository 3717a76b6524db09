/**
 * The CloudEvent a Firestore trigger receives for one change of one document: its event types
 * (`google.cloud.firestore.document.v1.<kind>`, optionally `.withAuthContext`) and the
 * structured event (JSON mode, as the official emulator can send it).
 */
import { randomUUID } from "node:crypto";
import type { RestDocument } from "./firestore-rest-json";

export const firestoreEventTypePrefix = "google.cloud.firestore.document.v1.";
const authContextSuffix = ".withAuthContext";

export type ChangeKind = "created" | "updated" | "deleted";

export interface FirestoreCloudEvent {
  specversion: "1.0";
  id: string;
  type: string;
  source: string;
  subject: string;
  time: string;
  datacontenttype: "application/json";
  data: { value?: RestDocument; oldValue?: RestDocument };
  project: string;
  database: string;
  namespace: string;
  /** The document path relative to the database root, e.g. `testers/abc`. */
  document: string;
  authtype?: string;
  authid?: string;
}

/** Whether a trigger of `eventType` fires for a change of `kind` (written fires for all). */
export function eventTypeMatches(eventType: string, kind: ChangeKind): boolean {
  const base = eventType.endsWith(authContextSuffix) ? eventType.slice(0, -authContextSuffix.length) : eventType;
  return base === `${firestoreEventTypePrefix}written` || base === `${firestoreEventTypePrefix}${kind}`;
}

export interface FirestoreChange {
  projectId: string;
  database: string;
  /** Relative to the database root, e.g. `testers/abc`. */
  documentPath: string;
  before?: RestDocument;
  after?: RestDocument;
  /** RFC 3339: when the change happened. */
  time: string;
}

/** The event of `change` for a trigger of `eventType`, with a fresh id. */
export function firestoreCloudEvent(eventType: string, change: FirestoreChange): FirestoreCloudEvent {
  const { projectId, database, documentPath, before, after } = change;
  return {
    specversion: "1.0",
    id: randomUUID(),
    type: eventType,
    source: `//firestore.googleapis.com/projects/${projectId}/databases/${database}`,
    subject: `documents/${documentPath}`,
    time: change.time,
    datacontenttype: "application/json",
    data: { ...(after ? { value: after } : {}), ...(before ? { oldValue: before } : {}) },
    project: projectId,
    database,
    namespace: "(default)",
    document: documentPath,
    ...(eventType.endsWith(authContextSuffix) ? { authtype: "unknown" } : {}),
  };
}
