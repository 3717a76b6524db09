/**
 * Marker readings for fake marker sources, written the short way: `"7"`, `"7:1767225600000"`,
 * `"7:1767225600000|6=pub-3,7=pub-9"` (version, then the time key's value), or null.
 */
import { MarkerReader } from "../../functions/src/cache/marker-watcher";
import { decodeMarkerReading, MarkerReading } from "../../functions/src/redis/markers";

export function readingFrom(raw: string | null): MarkerReading {
  if (raw === null) return decodeMarkerReading(null, null);
  const colon = raw.indexOf(":");
  return colon === -1 ? decodeMarkerReading(raw, null) : decodeMarkerReading(raw.slice(0, colon), raw.slice(colon + 1));
}

/** A MarkerReader over a fake that answers in the short form. */
export function shortFormMarkers(read: (scopes: readonly string[]) => Promise<(string | null)[]>): MarkerReader {
  return async (scopes) => (await read(scopes)).map(readingFrom);
}
