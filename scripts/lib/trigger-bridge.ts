/**
 * Firestore triggers for the offline Firestore (`@firestore-emulator/server`), which has none.
 *
 * The package emits the document AFTER each mutation only, and one write can emit several
 * events (the write, then one per transform). The bridge therefore keeps a shadow copy of
 * every document's last delivered state (for the BEFORE side) and folds all events of one
 * commit on one document into one change, as production does. Each change becomes a
 * structured CloudEvent (JSON mode, as the official emulator can send) and is handed to a
 * caller-supplied `deliver` for every matching trigger: in-process handlers in tests, the
 * Functions emulator's background-trigger route in the launcher.
 *
 * Like production: a no-op write (same fields) fires nothing; documents of other projects
 * or databases fire nothing; a failed delivery is logged and not retried (the Functions
 * emulator does not retry either, even with `retry: true`). Unlike production: deliveries
 * to one document are strictly in commit order (production gives no order guarantee).
 */
import { randomUUID } from "node:crypto";
import type { FirestoreState, FirestoreStateDocument } from "@firestore-emulator/server";

// ---------------------------------------------------------------------------------------
// Firestore REST JSON (the encoding of `data.value` / `data.oldValue`)

export type RestValue =
  | { nullValue: null }
  | { booleanValue: boolean }
  | { integerValue: string }
  | { doubleValue: number | string }
  | { timestampValue: string }
  | { stringValue: string }
  | { bytesValue: string }
  | { referenceValue: string }
  | { geoPointValue: { latitude: number; longitude: number } }
  | { arrayValue: { values?: RestValue[] } }
  | { mapValue: { fields?: Record<string, RestValue> } };

export interface RestDocument {
  /** `projects/<p>/databases/<db>/documents/<path>` */
  name: string;
  fields: Record<string, RestValue>;
  createTime: string;
  updateTime: string;
}

/** The snake_case value objects the package produces (`toV1ValueObject()`). */
interface ProtoValueObject {
  null_value?: unknown;
  boolean_value?: boolean;
  integer_value?: number;
  double_value?: number;
  timestamp_value?: { seconds?: number; nanos?: number };
  string_value?: string;
  bytes_value?: Uint8Array;
  reference_value?: string;
  geo_point_value?: { latitude?: number; longitude?: number };
  array_value?: { values?: ProtoValueObject[] };
  map_value?: { fields?: Record<string, ProtoValueObject> };
}

/** RFC 3339 with nanoseconds, as the Firestore REST API writes timestamps. */
export function timestampToRfc3339(seconds: number, nanos: number): string {
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${whole}.${String(nanos).padStart(9, "0")}Z`;
}

function dateToRfc3339(date: Date): string {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return timestampToRfc3339(seconds, (ms - seconds * 1000) * 1_000_000);
}

export function toRestValue(value: ProtoValueObject): RestValue {
  // Key presence, not truthiness: 0, false and "" are values.
  if ("null_value" in value) return { nullValue: null };
  if ("boolean_value" in value) return { booleanValue: Boolean(value.boolean_value) };
  if ("integer_value" in value) return { integerValue: String(value.integer_value ?? 0) };
  if ("double_value" in value) {
    const n = value.double_value ?? 0;
    // proto3 JSON writes the non-finite doubles as strings.
    return { doubleValue: Number.isFinite(n) ? n : String(n) };
  }
  if ("timestamp_value" in value) {
    const ts = value.timestamp_value;
    return { timestampValue: timestampToRfc3339(ts?.seconds ?? 0, ts?.nanos ?? 0) };
  }
  if ("string_value" in value) return { stringValue: value.string_value ?? "" };
  if ("bytes_value" in value) return { bytesValue: Buffer.from(value.bytes_value ?? new Uint8Array()).toString("base64") };
  if ("reference_value" in value) return { referenceValue: value.reference_value ?? "" };
  if ("geo_point_value" in value) {
    const point = value.geo_point_value;
    return { geoPointValue: { latitude: point?.latitude ?? 0, longitude: point?.longitude ?? 0 } };
  }
  if ("array_value" in value) return { arrayValue: { values: (value.array_value?.values ?? []).map(toRestValue) } };
  if ("map_value" in value) return { mapValue: { fields: toRestFields(value.map_value?.fields ?? {}) } };
  throw new Error(`unknown Firestore value with keys ${JSON.stringify(Object.keys(value))}`);
}

function toRestFields(fields: Record<string, ProtoValueObject>): Record<string, RestValue> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, toRestValue(value)]));
}

/** A snapshot of the document as it is now, or undefined when it does not exist. */
export function toRestDocument(document: FirestoreStateDocument): RestDocument | undefined {
  const metadata = document.metadata;
  if (!metadata.hasExist) return undefined;
  const object = document.toV1DocumentObject() as { fields?: Record<string, ProtoValueObject> };
  return {
    name: document.getPath(),
    fields: toRestFields(object.fields ?? {}),
    createTime: dateToRfc3339(metadata.createdAt),
    updateTime: dateToRfc3339(metadata.updatedAt),
  };
}

function sameFields(a: Record<string, RestValue>, b: Record<string, RestValue>): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with object keys sorted: map field order carries no meaning in Firestore. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------
// Triggers and CloudEvents

const eventTypePrefix = "google.cloud.firestore.document.v1.";
const authContextSuffix = ".withAuthContext";

export interface FirestoreTrigger {
  /** What `deliver` receives: the export name in-process, `<region>-<name>` for the emulator. */
  id: string;
  /** e.g. `google.cloud.firestore.document.v1.written` (optionally `.withAuthContext`). */
  eventType: string;
  /** e.g. `testers/{uid}`; `{x}` matches one segment, `{x=**}` any number of segments. */
  documentPattern: string;
  /** Defaults to `(default)`. */
  database?: string;
}

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

export type Deliver = (triggerId: string, event: FirestoreCloudEvent) => Promise<void>;
type TriggerSource = readonly FirestoreTrigger[] | (() => readonly FirestoreTrigger[] | Promise<readonly FirestoreTrigger[]>);

type ChangeKind = "created" | "updated" | "deleted";

/** Whether a trigger of `eventType` fires for a change of `kind` (written fires for all). */
function eventTypeMatches(eventType: string, kind: ChangeKind): boolean {
  const base = eventType.endsWith(authContextSuffix) ? eventType.slice(0, -authContextSuffix.length) : eventType;
  return base === `${eventTypePrefix}written` || base === `${eventTypePrefix}${kind}`;
}

/** Segment-wise match of a document path against a pattern like `users/{uid}/hourly_usage/{id}`. */
export function documentMatches(pattern: string, documentPath: string): boolean {
  const patternSegments = pattern.split("/").filter(Boolean);
  const pathSegments = documentPath.split("/").filter(Boolean);
  const matchFrom = (p: number, s: number): boolean => {
    if (p === patternSegments.length) return s === pathSegments.length;
    const segment = patternSegments[p] ?? "";
    if (/^\{[^}=]+=\*\*\}$/.test(segment)) {
      for (let end = s; end <= pathSegments.length; end++) if (matchFrom(p + 1, end)) return true;
      return false;
    }
    if (s === pathSegments.length) return false;
    const isWildcard = /^\{[^}]+\}$/.test(segment);
    return (isWildcard || segment === pathSegments[s]) && matchFrom(p + 1, s + 1);
  };
  return matchFrom(0, 0);
}

interface Endpointish {
  region?: unknown;
  eventTrigger?: {
    eventType?: unknown;
    eventFilters?: Record<string, unknown>;
    eventFilterPathPatterns?: Record<string, unknown>;
  };
}

/** Reads a trigger off a v2 function's manifest entry (`__endpoint` in-process, `/backends` in the emulator). */
function triggerFromEndpoint(id: string, endpoint: Endpointish): FirestoreTrigger | undefined {
  const trigger = endpoint.eventTrigger;
  const eventType = trigger?.eventType;
  if (typeof eventType !== "string" || !eventType.startsWith(eventTypePrefix)) return undefined;
  const pattern = trigger?.eventFilterPathPatterns?.document ?? trigger?.eventFilters?.document;
  if (typeof pattern !== "string") return undefined;
  const database = trigger?.eventFilters?.database;
  return { id, eventType, documentPattern: pattern, database: typeof database === "string" ? database : "(default)" };
}

/**
 * The Firestore triggers exported by a loaded functions module. Each v2 trigger export
 * carries `__endpoint.eventTrigger` ({ eventType, eventFilters: { database, namespace },
 * eventFilterPathPatterns: { document } }). `id` defaults to the export name.
 */
export function triggersFromModule(
  functionsModule: Record<string, unknown>,
  idFor: (exportName: string, region: string | undefined) => string = (name) => name,
): FirestoreTrigger[] {
  const triggers: FirestoreTrigger[] = [];
  for (const [name, value] of Object.entries(functionsModule)) {
    const endpoint = (value as { __endpoint?: Endpointish } | undefined)?.__endpoint;
    if (!endpoint) continue;
    const regions = Array.isArray(endpoint.region) ? endpoint.region : [];
    const region = typeof regions[0] === "string" ? regions[0] : undefined;
    const trigger = triggerFromEndpoint(idFor(name, region), endpoint);
    if (trigger) triggers.push(trigger);
  }
  return triggers;
}

/** The Firestore triggers the Functions emulator has loaded (`GET /backends`), ids `<region>-<name>`. */
export async function triggersFromFunctionsEmulator(baseUrl: string): Promise<FirestoreTrigger[]> {
  const response = await fetch(`${baseUrl}/backends`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${baseUrl}/backends answered ${response.status}`);
  const body = (await response.json()) as { backends?: { functionTriggers?: (Endpointish & { id?: unknown })[] }[] };
  const triggers: FirestoreTrigger[] = [];
  for (const backend of body.backends ?? []) {
    for (const definition of backend.functionTriggers ?? []) {
      if (typeof definition.id !== "string") continue;
      const trigger = triggerFromEndpoint(definition.id, definition);
      if (trigger) triggers.push(trigger);
    }
  }
  return triggers;
}

/**
 * Delivery to the Functions emulator's background-trigger route
 * `POST <baseUrl>/functions/projects/<project>/triggers/<key>`. The emulator's key is
 * `<region>-<name>-<generation>` where the generation grows each time it reloads the
 * functions (e.g. after a rebuild of functions/lib), so the key is learnt from the 404's
 * "valid functions are: ..." list and re-learnt when it goes stale; while a reload has the
 * trigger missing, delivery retries for up to `reloadWaitMs`. The emulator answers
 * once the function has finished: 200 on success, 500 when it threw.
 */
export function deliverToFunctionsEmulator(baseUrl: string, projectId: string, reloadWaitMs = 10_000): Deliver {
  const keys = new Map<string, string>();
  const post = (key: string, body: string) =>
    fetch(`${baseUrl}/functions/projects/${encodeURIComponent(projectId)}/triggers/${encodeURIComponent(key)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(120_000),
    });
  return async (triggerId, event) => {
    const body = JSON.stringify(event);
    let response = await post(keys.get(triggerId) ?? `${triggerId}-0`, body);
    // While the emulator reloads the functions, their triggers are briefly missing.
    const deadline = Date.now() + reloadWaitMs;
    while (response.status === 404) {
      const text = await response.text();
      const key = latestTriggerKey(text, triggerId);
      if (key) {
        keys.set(triggerId, key);
        response = await post(key, body);
        if (response.status !== 404) break;
      } else if (Date.now() > deadline) {
        throw new Error(`the Functions emulator has no trigger ${triggerId}: ${text.slice(0, 300)}`);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 250));
        response = await post(keys.get(triggerId) ?? `${triggerId}-0`, body);
      }
    }
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      throw new Error(`the Functions emulator answered ${response.status}: ${text.slice(0, 300)}`);
    }
    await response.arrayBuffer();
  };
}

/** Picks `<triggerId>-<n>` with the highest n out of the emulator's 404 text. */
function latestTriggerKey(notFoundText: string, triggerId: string): string | undefined {
  const list = notFoundText.split("valid functions are:")[1] ?? "";
  let best: { key: string; generation: number } | undefined;
  for (const key of list.split(",").map((k) => k.trim())) {
    if (!key.startsWith(`${triggerId}-`)) continue;
    const generation = Number(key.slice(triggerId.length + 1));
    if (Number.isInteger(generation) && (!best || generation > best.generation)) best = { key, generation };
  }
  return best?.key;
}

// ---------------------------------------------------------------------------------------
// The bridge

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
  /** The tail of each document's delivery chain: keeps one document's deliveries in order. */
  const chains = new Map<string, Promise<void>>();
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
    enqueue(name, () => dispatch(name, kind, before, after));
  }

  function enqueue(name: string, task: () => Promise<void>) {
    const tail = (chains.get(name) ?? Promise.resolve()).then(task);
    chains.set(name, tail);
    void tail.finally(() => {
      if (chains.get(name) === tail) chains.delete(name);
    });
  }

  async function dispatch(name: string, kind: ChangeKind, before?: RestDocument, after?: RestDocument) {
    const [database = "(default)", documentPath = ""] = splitName(name.slice(databasePrefix.length));
    let triggers: readonly FirestoreTrigger[];
    try {
      triggers = typeof options.triggers === "function" ? await options.triggers() : options.triggers;
    } catch (err) {
      log(`[trigger-bridge] could not list triggers for ${documentPath}: ${errorText(err)}`);
      return;
    }
    const time = after?.updateTime ?? dateToRfc3339(new Date());
    const matching = triggers.filter(
      (t) =>
        (t.database ?? "(default)") === database &&
        eventTypeMatches(t.eventType, kind) &&
        documentMatches(t.documentPattern, documentPath),
    );
    await Promise.all(
      matching.map(async (trigger) => {
        const event: FirestoreCloudEvent = {
          specversion: "1.0",
          id: randomUUID(),
          type: trigger.eventType,
          source: `//firestore.googleapis.com/projects/${projectId}/databases/${database}`,
          subject: `documents/${documentPath}`,
          time,
          datacontenttype: "application/json",
          data: { ...(after ? { value: after } : {}), ...(before ? { oldValue: before } : {}) },
          project: projectId,
          database,
          namespace: "(default)",
          document: documentPath,
          ...(trigger.eventType.endsWith(authContextSuffix) ? { authtype: "unknown" } : {}),
        };
        try {
          await deliver(trigger.id, event);
        } catch (err) {
          log(`[trigger-bridge] ${trigger.id} failed for ${kind} of ${documentPath}: ${errorText(err)}`);
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
      if (chains.size === 0) return;
      await Promise.allSettled([...chains.values()]);
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

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
