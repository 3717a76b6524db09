/**
 * Firestore triggers for the offline Firestore (`@firestore-emulator/server`), which has none.
 *
 * The package emits the document AFTER each mutation only, and one write can emit several
 * events (the write, then one per transform). The bridge therefore keeps a shadow copy of
 * every document's last delivered state (for the BEFORE side) and folds all events of one
 * commit on one document into one change, as production does. Each change becomes a
 * structured CloudEvent (firestore-cloud-event.ts) and is handed to a caller-supplied
 * `deliver` for every matching trigger (firestore-triggers.ts): in-process handlers in tests,
 * the Functions emulator's background-trigger route in the launcher (trigger-delivery.ts).
 *
 * Like production: a no-op write (same fields) fires nothing; documents of other projects
 * or databases fire nothing; a failed delivery is logged and not retried (the Functions
 * emulator does not retry either, even with `retry: true`). Unlike production: deliveries
 * to one document are strictly in commit order (production gives no order guarantee).
 */
import type { FirestoreState, FirestoreStateDocument } from "@firestore-emulator/server";
import { errorMessage } from "../../functions/src/error-message";
import { ChangeKind, eventTypeMatches, firestoreCloudEvent } from "../stack/firestore-cloud-event";
import { dateToRfc3339, RestDocument } from "../stack/firestore-rest-json";
import { sameFields, toRestDocument } from "./rest-json";
import { documentMatches, FirestoreTrigger } from "../stack/firestore-triggers";
import { Deliver, SerialQueues } from "../stack/trigger-delivery";

type TriggerSource = readonly FirestoreTrigger[] | (() => readonly FirestoreTrigger[] | Promise<readonly FirestoreTrigger[]>);

export interface TriggerBridgeOptions {
  state: FirestoreState;
  /** Only documents of this project fire triggers (the emulator suite's project). */
  projectId: string;
  triggers: TriggerSource;
  deliver: Deliver;
  /** Where delivery failures go; defaults to console.error. */
  log?: (message: string) => void;
}

export interface TriggerBridge {
  /** Resolves once no change is waiting to be folded and no delivery is in flight. */
  waitForIdle(): Promise<void>;
  /** Stops listening; deliveries already started are awaited. */
  close(): Promise<void>;
}

interface OpenChange {
  /** The commit the events belong to (the Date object the package passes to every write of a commit). */
  commit: unknown;
  after: RestDocument | undefined;
}

type WriteV1Document = FirestoreState["writeV1Document"];

export function startTriggerBridge(options: TriggerBridgeOptions): TriggerBridge {
  const { state, projectId, deliver } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const databasePrefix = `projects/${projectId}/databases/`;

  /** Last state delivered (or seen at start) per full document name. */
  const shadow = new Map<string, RestDocument>();
  /** Events seen but not yet folded into a change, per full document name. */
  const open = new Map<string, OpenChange>();
  /** One document's deliveries in commit order, keyed by full document name. */
  const deliveries = new SerialQueues();
  let flushTimer: NodeJS.Immediate | undefined;
  let closed = false;

  for (const document of existingDocuments(state)) {
    const snapshot = toRestDocument(document);
    if (snapshot) shadow.set(snapshot.name, snapshot);
  }

  // Every write of one Commit runs synchronously inside writeV1Document with the commit's
  // Date object; remembering it tells one commit's events from the next commit's, even
  // when both land before the deferred flush.
  let currentCommit: unknown;
  const originalWrite: WriteV1Document = state.writeV1Document;
  const patchedWrite: WriteV1Document = function (this: FirestoreState, date, write) {
    const outer = currentCommit;
    currentCommit = date;
    try {
      return originalWrite.call(this, date, write);
    } finally {
      currentCommit = outer;
    }
  };
  state.writeV1Document = patchedWrite;

  const onDocumentEvent = ({ document }: { document: FirestoreStateDocument }) => {
    if (closed) return;
    const name = document.getPath();
    if (!name.startsWith(databasePrefix)) return;
    const after = toRestDocument(document);
    const pending = open.get(name);
    if (pending && pending.commit === currentCommit && currentCommit !== undefined) {
      pending.after = after;
    } else {
      if (pending) fold(name, pending);
      open.set(name, { commit: currentCommit, after });
    }
    flushTimer ??= setImmediate(flush);
  };

  const onClear = () => {
    // A wipe is not a delete: the official emulator's clear fires no trigger either.
    open.clear();
    shadow.clear();
  };

  function flush() {
    flushTimer = undefined;
    for (const [name, pending] of [...open]) fold(name, pending);
  }

  /** Turns the folded events of one commit on one document into one change, and queues it. */
  function fold(name: string, pending: OpenChange) {
    open.delete(name);
    const before = shadow.get(name);
    const after = pending.after;
    if (after) shadow.set(name, after);
    else shadow.delete(name);
    if (!before && !after) return; // created and deleted within one commit
    if (before && after && sameFields(before.fields, after.fields)) return; // no-op write
    const kind: ChangeKind = !before ? "created" : !after ? "deleted" : "updated";
    deliveries.enqueue(name, () => dispatch(name, kind, before, after));
  }

  async function dispatch(name: string, kind: ChangeKind, before?: RestDocument, after?: RestDocument) {
    const [database = "(default)", documentPath = ""] = splitName(name.slice(databasePrefix.length));
    let triggers: readonly FirestoreTrigger[];
    try {
      triggers = typeof options.triggers === "function" ? await options.triggers() : options.triggers;
    } catch (err) {
      log(`[trigger-bridge] could not list triggers for ${documentPath}: ${errorMessage(err)}`);
      return;
    }
    const change = { projectId, database, documentPath, before, after, time: after?.updateTime ?? dateToRfc3339(new Date()) };
    const matching = triggers.filter(
      (t) => (t.database ?? "(default)") === database && eventTypeMatches(t.eventType, kind) && documentMatches(t.documentPattern, documentPath),
    );
    await Promise.all(
      matching.map(async (trigger) => {
        try {
          await deliver(trigger.id, firestoreCloudEvent(trigger.eventType, change));
        } catch (err) {
          log(`[trigger-bridge] ${trigger.id} failed for ${kind} of ${documentPath}: ${errorMessage(err)}`);
        }
      }),
    );
  }

  state.emitter.on("create-document", onDocumentEvent);
  state.emitter.on("update-document", onDocumentEvent);
  state.emitter.on("delete-document", onDocumentEvent);
  state.emitter.on("clear-all-projects", onClear);

  const waitForIdle = async () => {
    // A delivery can cause writes (a trigger writing Firestore), which open new changes.
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (flushTimer || open.size > 0) continue;
      if (!deliveries.busy) return;
      await deliveries.settled();
    }
  };

  return {
    waitForIdle,
    close: async () => {
      if (closed) return;
      await waitForIdle();
      closed = true;
      state.emitter.off("create-document", onDocumentEvent);
      state.emitter.off("update-document", onDocumentEvent);
      state.emitter.off("delete-document", onDocumentEvent);
      state.emitter.off("clear-all-projects", onClear);
      if (state.writeV1Document === patchedWrite) state.writeV1Document = originalWrite;
    },
  };
}

/** `<database>/documents/<path>` → [database, path]. */
function splitName(rest: string): [string, string] {
  const marker = "/documents/";
  const at = rest.indexOf(marker);
  return at < 0 ? [rest, ""] : [rest.slice(0, at), rest.slice(at + marker.length)];
}

/** Every existing document in the state, found through its JSON dump (the only public walk). */
function existingDocuments(state: FirestoreState): FirestoreStateDocument[] {
  interface CollectionJson {
    documents?: Record<string, { path?: string; collections?: Record<string, CollectionJson> }>;
  }
  const documents: FirestoreStateDocument[] = [];
  const walk = (collection: CollectionJson) => {
    for (const document of Object.values(collection.documents ?? {})) {
      if (typeof document.path === "string") {
        const found = state.getDocument(document.path);
        if (found.metadata.hasExist) documents.push(found);
      }
      for (const child of Object.values(document.collections ?? {})) walk(child);
    }
  };
  const dump = state.toJSON() as {
    projects: Record<string, { databases: Record<string, { collections: Record<string, CollectionJson> }> }>;
  };
  for (const project of Object.values(dump.projects)) {
    for (const database of Object.values(project.databases)) {
      for (const collection of Object.values(database.collections)) walk(collection);
    }
  }
  return documents;
}
