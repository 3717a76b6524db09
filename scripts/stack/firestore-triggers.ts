/**
 * Which Firestore triggers exist, read off a loaded functions module or the Functions
 * emulator, and which documents each one matches.
 */
import { firestoreEventTypePrefix } from "./firestore-cloud-event";

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
  if (typeof eventType !== "string" || !eventType.startsWith(firestoreEventTypePrefix)) return undefined;
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
