/**
 * The offline Firestore's documents (`@firestore-emulator/server`) in the Firestore REST API's
 * JSON, for the trigger bridge's CloudEvents.
 */
import { isDeepStrictEqual } from "node:util";
import type { FirestoreStateDocument } from "@firestore-emulator/server";
import { dateToRfc3339, RestDocument, RestValue, timestampToRfc3339 } from "../stack/firestore-rest-json";

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

/**
 * Whether two documents hold the same fields (a write that changes none fires no trigger).
 * Map field order carries no meaning in Firestore, nor here; array order does. Numbers
 * compare with Object.is: a double turning from 0 to -0 counts as a change (one extra
 * delivery at worst); NaN and the infinities are strings in this encoding.
 */
export function sameFields(a: Record<string, RestValue>, b: Record<string, RestValue>): boolean {
  return isDeepStrictEqual(a, b);
}
