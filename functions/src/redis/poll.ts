/**
 * The marker poll's one command: a read-only script that returns, in one step,
 * - every marker's version and time key (redis/markers.ts decodes them);
 * - the payload set of each scope that has one (`markerPayloadKey`: a user's enabled apps),
 *   only when its version is not the one the instance holds: a new scope or a change;
 * - the rider keys (plain values the instance refreshes on its own schedule: install counts);
 * - once a minute, the instance's stats snapshot added to the stats stream.
 * Upstash bills a command, not a key (a script is one command, whatever it runs), so what rides
 * here costs nothing beyond the poll; and a payload read with its version is never out of step
 * with it.
 */
import { createHash } from "node:crypto";
import { markerPayloadKey } from "./keys";
import { decodeMarkerReadings, markerReadKeys, MarkerReading } from "./markers";

/**
 * KEYS: the n marker keys, their n time keys, the p payload sets, the r rider keys, then (to
 * publish) the stats stream.
 * ARGV[1] = n, ARGV[2] = p, ARGV[3] = r, then per payload the (1-based) index of its scope, then
 * per payload the version held ('' when none: never equal to a version read, which is a number
 * or 'null'), then (to publish) the stream's MINID and the snapshot.
 * Returns { markers and time keys (MGET), payloads (a set's members, or false when unchanged),
 * riders, the published entry's id or false }. Read-only unless it publishes: the instance runs
 * it with EVALSHA_RO, and with EVALSHA once a minute when its stats snapshot rides along.
 */
export const pollScriptSource = `
local n = tonumber(ARGV[1])
local p = tonumber(ARGV[2])
local r = tonumber(ARGV[3])
local markers = {}
if n > 0 then markers = redis.call('MGET', unpack(KEYS, 1, 2 * n)) end
local payloads = {}
for i = 1, p do
  local version = markers[tonumber(ARGV[3 + i])]
  if version == false then version = 'null' end
  if version == ARGV[3 + p + i] then payloads[i] = false else payloads[i] = redis.call('SMEMBERS', KEYS[2 * n + i]) end
end
local riders = {}
if r > 0 then riders = redis.call('MGET', unpack(KEYS, 2 * n + p + 1, 2 * n + p + r)) end
local published = false
if #KEYS > 2 * n + p + r then
  published = redis.call('XADD', KEYS[#KEYS], 'MINID', '=', ARGV[4 + 2 * p], '*', 's', ARGV[5 + 2 * p])
end
return { markers, payloads, riders, published }`;

/** The script's SHA1, as EVALSHA names it (what Redis computes on SCRIPT LOAD). */
export const pollScriptSha = createHash("sha1").update(pollScriptSource).digest("hex");

/** What one poll asks for. */
export interface PollRequest {
  scopes: readonly string[];
  /** The version the instance holds for each scope (undefined: not read yet). */
  heldVersions: readonly (string | null | undefined)[];
  riderKeys: readonly string[];
  /** An entry to add to a stream in the same step (the instance's stats snapshot), trimming entries older than `minId`. */
  publish?: { streamKey: string; minId: string; snapshot: string };
}

/** The scopes of `request` that carry a payload, in order: each scope's 1-based index, its set's key and the version held. */
function payloadsOf(request: PollRequest): { index: number; key: string; held: string | null | undefined }[] {
  return request.scopes.flatMap((scope, i) => {
    const key = markerPayloadKey(scope);
    return key === undefined ? [] : [{ index: i + 1, key, held: request.heldVersions[i] }];
  });
}

/** The keys and arguments of the poll script for `request`. */
export function pollCommand(request: PollRequest): { keys: string[]; args: string[] } {
  const { scopes } = request;
  const payloads = payloadsOf(request);
  const keys = [...markerReadKeys(scopes), ...payloads.map((payload) => payload.key), ...request.riderKeys];
  const args = [
    String(scopes.length),
    String(payloads.length),
    String(request.riderKeys.length),
    ...payloads.map((payload) => String(payload.index)),
    ...payloads.map((payload) => (payload.held === undefined ? "" : String(payload.held))),
  ];
  if (request.publish !== undefined) {
    keys.push(request.publish.streamKey);
    args.push(request.publish.minId, request.publish.snapshot);
  }
  return { keys, args };
}

/** The readings (with payloads), rider values and published entry id from what the poll script returned for `request`. */
export function decodePoll(request: PollRequest, raw: unknown): { readings: MarkerReading[]; riderValues: unknown[]; publishedId?: string } {
  const [markers, payloads, riders, published] = Array.isArray(raw) ? (raw as unknown[]) : [];
  const readings = decodeMarkerReadings(request.scopes, markers);
  const payloadList = Array.isArray(payloads) ? (payloads as unknown[]) : [];
  payloadsOf(request).forEach(({ index }, next) => {
    const members = payloadList[next];
    if (Array.isArray(members)) readings[index - 1]!.payload = members.map(String).sort();
  });
  const riderValues = Array.isArray(riders) ? (riders as unknown[]) : [];
  return {
    readings,
    riderValues: request.riderKeys.map((_key, i) => riderValues[i] ?? null),
    ...(typeof published === "string" ? { publishedId: published } : {}),
  };
}
