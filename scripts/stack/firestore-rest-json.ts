/**
 * Firestore documents in the REST API's JSON: what the emulator's REST API returns and the
 * encoding of a Firestore CloudEvent's `data.value` / `data.oldValue`.
 */
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

/** RFC 3339 with nanoseconds, as the Firestore REST API writes timestamps. */
export function timestampToRfc3339(seconds: number, nanos: number): string {
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${whole}.${String(nanos).padStart(9, "0")}Z`;
}

export function dateToRfc3339(date: Date): string {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return timestampToRfc3339(seconds, (ms - seconds * 1000) * 1_000_000);
}
