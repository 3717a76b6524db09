/**
 * The marker reader of a deployed instance: every tracked marker's version and write time in
 * one MGET per poll (redis/markers.ts reads and decodes them), and at most once a minute this
 * instance's stats snapshot published in the same round trip (one XADD in the pipeline).
 */
import * as logs from "../logs";
import { redis } from "../redis/client";
import { decodeMarkerReadings, markerReadKeys } from "../redis/markers";
import { queuePublish } from "../telemetry/fleet-stats";
import { MarkerReader } from "./marker-watcher";
import type { CacheRuntime } from "./runtime";

/** Redis answered the poll's pipeline but refused its MGET. */
class MarkerReadError extends Error {
  override name = "MarkerReadError";
}

export function redisMarkerReader(runtime: CacheRuntime): MarkerReader {
  return async (scopes) => {
    if (scopes.length === 0) return [];
    const keys = markerReadKeys(scopes);
    const { telemetry } = runtime;
    // Not before the instance has looked anything up (its first request polls before it does):
    // a snapshot without figures would only say so for a minute.
    const snapshot = telemetry.hasLookedUp() && telemetry.publisher.takeTurn() ? telemetry.snapshot() : undefined;
    telemetry.maybeLogFigures(snapshot);
    if (snapshot === undefined) return decodeMarkerReadings(scopes, await redis().mget<unknown[]>(...keys));
    const pipeline = redis().pipeline();
    pipeline.mget(...keys);
    const sentAtMs = Date.now();
    snapshot.publishedAtMs = sentAtMs;
    queuePublish(pipeline, snapshot, sentAtMs);
    const [markers, published] = await pipeline.exec<[unknown, unknown]>({ keepErrors: true });
    if (published.error === undefined) telemetry.publisher.noteReply(String(published.result), sentAtMs, Date.now());
    else if (markers.error === undefined) logs.cacheStatsPublishFailed(published.error);
    if (markers.error !== undefined) throw new MarkerReadError(markers.error);
    return decodeMarkerReadings(scopes, markers.result);
  };
}
