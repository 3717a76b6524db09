/**
 * The marker reader of a deployed instance: every tracked marker's version and write time,
 * the payloads of new or changed scopes and the riders, in one command per poll (the poll
 * script, redis/poll.ts), and at most once a minute this instance's stats snapshot published
 * in the same round trip (one XADD in the pipeline).
 */
import { MarkerReader } from "../cache/marker-watcher";
import * as logs from "../logs";
import { luaScript, redis } from "../redis/client";
import { decodePoll, pollCommand, pollScriptSha, pollScriptSource } from "../redis/poll";
import type { CacheTelemetry } from "../telemetry/cache-telemetry";
import { queuePublish } from "../telemetry/fleet-stats";

/** Redis answered the poll's pipeline but refused its script. */
class MarkerReadError extends Error {
  override name = "MarkerReadError";
}

const pollScript = luaScript(pollScriptSource, { readonly: true });

/** `telemetry`: the instance's telemetry of the moment (a reset replaces it). */
export function redisMarkerReader(telemetry: () => CacheTelemetry): MarkerReader {
  return async (scopes, extras) => {
    const request = { scopes, heldVersions: extras.heldVersions, riderKeys: extras.riderKeys };
    if (scopes.length === 0 && extras.riderKeys.length === 0) return { readings: [], riderValues: [] };
    const { keys, args } = pollCommand(request);
    const current = telemetry();
    // Not before the instance has looked anything up (its first request polls before it does):
    // a snapshot without figures would only say so for a minute.
    const snapshot = current.hasLookedUp() && current.publisher.takeTurn() ? current.snapshot() : undefined;
    current.maybeLogFigures(snapshot);
    if (snapshot === undefined) return decodePoll(request, await pollScript(keys, args));
    const pipeline = redis().pipeline();
    pipeline.evalshaRo(pollScriptSha, keys, args);
    const sentAtMs = Date.now();
    snapshot.publishedAtMs = sentAtMs;
    queuePublish(pipeline, snapshot, sentAtMs);
    const [markers, published] = await pipeline.exec<[unknown, unknown]>({ keepErrors: true });
    if (published.error === undefined) current.publisher.noteReply(String(published.result), sentAtMs, Date.now());
    else if (markers.error === undefined) logs.cacheStatsPublishFailed(published.error);
    // A Redis that has not seen the script yet (NOSCRIPT): the script helper loads it.
    if (markers.error !== undefined && /NOSCRIPT/i.test(String(markers.error))) return decodePoll(request, await pollScript(keys, args));
    if (markers.error !== undefined) throw new MarkerReadError(markers.error);
    return decodePoll(request, markers.result);
  };
}
