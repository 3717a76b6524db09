/**
 * The marker reader of a deployed instance: every tracked marker's version and write time, the
 * payloads of new or changed scopes and the riders, in one command per poll (the poll script,
 * redis/poll.ts), read-only; at most once a minute the same command also publishes this
 * instance's stats snapshot.
 */
import { errors as upstashErrors } from "@upstash/redis";
import { MarkerReader } from "../cache/marker-watcher";
import * as logs from "../logs";
import { luaScript } from "../redis/client";
import { decodePoll, pollCommand, PollRequest, pollScriptSource } from "../redis/poll";
import type { CacheTelemetry } from "../telemetry/cache-telemetry";
import { publishEntry } from "../telemetry/fleet-stats";

// One script: read-only (EVALSHA_RO) when it only reads, read-write when it publishes.
const pollScript = luaScript(pollScriptSource, { readonly: true });
const pollAndPublishScript = luaScript(pollScriptSource);

async function poll(request: PollRequest) {
  const { keys, args } = pollCommand(request);
  return decodePoll(request, await (request.publish === undefined ? pollScript : pollAndPublishScript)(keys, args));
}

/** `telemetry`: the instance's telemetry of the moment (a reset replaces it). */
export function redisMarkerReader(telemetry: () => CacheTelemetry): MarkerReader {
  return async (scopes, extras) => {
    const request: PollRequest = { scopes, heldVersions: extras.heldVersions, riderKeys: extras.riderKeys };
    if (scopes.length === 0 && extras.riderKeys.length === 0) return { readings: [], riderValues: [] };
    const current = telemetry();
    // Not before the instance has looked anything up (its first request polls before it does):
    // a snapshot without figures would only say so for a minute.
    const snapshot = current.hasLookedUp() && current.publisher.takeTurn() ? current.snapshot() : undefined;
    current.maybeLogFigures(snapshot);
    if (snapshot === undefined) return poll(request);
    const sentAtMs = Date.now();
    snapshot.publishedAtMs = sentAtMs;
    try {
      const reply = await poll({ ...request, publish: publishEntry(snapshot, sentAtMs) });
      if (reply.publishedId !== undefined) current.publisher.noteReply(reply.publishedId, sentAtMs, Date.now());
      return reply;
    } catch (error) {
      // Redis answered with an error, which may be the publish's (a stream refused): the poll
      // alone, so markers still read. A Redis that does not answer is not asked twice.
      if (!(error instanceof upstashErrors.UpstashError)) throw error;
      logs.cacheStatsPublishFailed(error);
      return poll(request);
    }
  };
}
