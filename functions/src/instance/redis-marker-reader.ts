/**
 * The marker reader of a deployed instance: every tracked marker's version and write time in
 * one MGET per poll (redis/markers.ts reads and decodes them), and at most once a minute this
 * instance's stats snapshot published in the same round trip (one XADD in the pipeline).
 */
import { MarkerReader } from "../cache/marker-watcher";
import * as logs from "../logs";
import { redis } from "../redis/client";
import { decodeMarkerReadings, markerReadKeys } from "../redis/markers";
import type { CacheTelemetry } from "../telemetry/cache-telemetry";
import { queuePublish } from "../telemetry/fleet-stats";

/** Redis answered the poll's pipeline but refused its MGET. */
class MarkerReadError extends Error {
  override name = "MarkerReadError";
}

/** `telemetry`: the instance's telemetry of the moment (a reset replaces it). */
export function redisMarkerReader(telemetry: () => CacheTelemetry): MarkerReader {
  return async (scopes) => {
    if (scopes.length === 0) return [];
    const keys = markerReadKeys(scopes);
    const current = telemetry();
    // Not before the instance has looked anything up (its first request polls before it does):
    // a snapshot without figures would only say so for a minute.
    const snapshot = current.hasLookedUp() && current.publisher.takeTurn() ? current.snapshot() : undefined;
    current.maybeLogFigures(snapshot);
    if (snapshot === undefined) return decodeMarkerReadings(scopes, await redis().mget<unknown[]>(...keys));
    const pipeline = redis().pipeline();
    pipeline.mget(...keys);
    const sentAtMs = Date.now();
    snapshot.publishedAtMs = sentAtMs;
    queuePublish(pipeline, snapshot, sentAtMs);
    const [markers, published] = await pipeline.exec<[unknown, unknown]>({ keepErrors: true });
    if (published.error === undefined) current.publisher.noteReply(String(published.result), sentAtMs, Date.now());
    else if (markers.error === undefined) logs.cacheStatsPublishFailed(published.error);
    if (markers.error !== undefined) throw new MarkerReadError(markers.error);
    return decodeMarkerReadings(scopes, markers.result);
  };
}
