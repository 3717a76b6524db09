/**
 * What each Redis command the product sends is for, from the command as Upstash receives it
 * (name, then arguments): the usage meter counts an instance's commands by purpose
 * (telemetry/meter.ts), and the benchmark classifies what its Upstash gateway saw with the same
 * rules (bench/redis-commands.ts), so the two agree by construction.
 *
 * A command is put to a purpose by its first key (a script's first declared key), matched
 * against the production key names (imported, never re-spelt here). Each purpose belongs to
 * one of four groups, the benchmark's coarse purposes:
 * - coherence: marker keys, marker time keys, applied-event keys (redis/markers.ts):
 *   - `markerPoll`: the watcher's poll script (redis/poll.ts: every tracked marker, whatever
 *     comes first, a usage figure included, with the payloads and riders it carries) and any
 *     other read of markers;
 *   - `markerBump`: the writers' and triggers' bump scripts;
 * - credits: `usageLedger`, a command whose first key is a usage figure, its time key, base hash
 *   or recent-report log (credits/ledger.ts: the count and rebuild scripts);
 * - enrichment (apps/enrichment.ts): `enabledApps`, a user's enabled-apps set (SMEMBERS, the
 *   enable/disable scripts); `installs`, the install counters (MGET);
 * - other: `freemiumThreshold` (SET NX on the session's key, credits/threshold.ts);
 *   `statsPublish`, the XADD of an instance's snapshot (telemetry/fleet-stats.ts); `statsRead`,
 *   cacheStats' XRANGE of them; `noKey`, a command without a key (cacheStats' TIME);
 *   `unrecognised`, anything else.
 *
 * `markerPoll` and `statsPublish` are the instance's own work: one poll serves every request
 * that waits on it, and the publish rides on a poll. The meter counts them to the instance,
 * never to the request that happened to start the poll.
 */
import { monthKey } from "../common/utc-month";
import { enabledAppsKey, installsKey, statsStreamKey, thresholdKey, usageLogKey, usageScope, usageStateKey } from "./keys";
import { appliedEventKeyPrefix, markerKey, markerKeyPrefix, markerTimeKey, markerTimeKeyPrefix } from "./markers";
import { pollScriptSha, pollScriptSource } from "./poll";

export const redisPurposeGroups = ["coherence", "credits", "enrichment", "other"] as const;
export type RedisPurposeGroup = (typeof redisPurposeGroups)[number];

/** Every purpose, with its group; in the order cacheStats lists them. */
export const redisCommandPurposes = {
  markerPoll: "coherence",
  markerBump: "coherence",
  usageLedger: "credits",
  enabledApps: "enrichment",
  installs: "enrichment",
  freemiumThreshold: "other",
  statsPublish: "other",
  statsRead: "other",
  noKey: "other",
  unrecognised: "other",
} as const satisfies Record<string, RedisPurposeGroup>;
export type RedisCommandPurpose = keyof typeof redisCommandPurposes;

/** The purposes an instance spends for all its requests at once (see the module comment). */
export const instanceWorkPurposes: ReadonlySet<RedisCommandPurpose> = new Set<RedisCommandPurpose>(["markerPoll", "statsPublish"]);

/** A command as sent: its name, then its arguments (strings, numbers or bytes). */
export type RedisCommand = readonly unknown[];

/** A key function's fixed parts: the text before its first parameter and after its last. */
function keyShape(make: (...parts: string[]) => string, parameters: number): (key: string) => boolean {
  const hole = "\u0000";
  const sample = make(...Array.from({ length: parameters }, () => hole));
  const prefix = sample.slice(0, sample.indexOf(hole));
  const suffix = sample.slice(sample.lastIndexOf(hole) + 1);
  return (key) => key.length > prefix.length + suffix.length && key.startsWith(prefix) && key.endsWith(suffix);
}

const isEnabledAppsKey = keyShape(enabledAppsKey, 1);
const isInstallsKey = keyShape(installsKey, 1);
const isThresholdKey = keyShape(thresholdKey, 2);
const coherencePrefixes = [markerKeyPrefix, markerTimeKeyPrefix, appliedEventKeyPrefix];
/** The usage keys of one sample month; every month's have the same shape (`monthKey`: `YYYY-MM`, last). */
const sampleMonth = { year: 2026, month: 11 };
const sampleMonthKey = monthKey(sampleMonth);
const usageKeyShapes = [
  (uid: string) => markerKey(usageScope(uid, sampleMonth)),
  (uid: string) => markerTimeKey(usageScope(uid, sampleMonth)),
  (uid: string) => usageStateKey(uid, sampleMonth),
  (uid: string) => usageLogKey(uid, sampleMonth),
].map((make) => keyShape(make, 1));

/** A key of the fleet's usage figure, its time key, base hash or report log (any user, any month). */
function isUsageKey(key: string): boolean {
  const month = /\d{4}-\d{2}$/.exec(key);
  if (!month) return false;
  const asSampleMonth = key.slice(0, month.index) + sampleMonthKey;
  return usageKeyShapes.some((matches) => matches(asSampleMonth));
}

/** The poll's command: a marker read whatever marker comes first in it (a usage figure too). */
const markerPollCommand = "MGET";
/** Reads of markers (the poll's MGET; the bench's reference reads a flag with GET). */
const markerReadCommands = new Set([markerPollCommand, "GET"]);
/** Commands whose keys follow `numkeys` (EVALSHA sha numkeys key1 ...). */
const scriptCommands = new Set(["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"]);
/** Commands that name no key at all. */
const keylessCommands = new Set(["TIME", "PING", "ECHO", "INFO", "DBSIZE", "SCRIPT", "FLUSHALL", "FLUSHDB", "CONFIG", "COMMAND", "LASTSAVE", "RANDOMKEY"]);

const commandName = (command: RedisCommand): string => String(command[0] ?? "").toUpperCase();

export function firstKey(command: RedisCommand): string | undefined {
  const name = commandName(command);
  if (keylessCommands.has(name)) return undefined;
  if (scriptCommands.has(name)) return Number(String(command[2] ?? "0")) > 0 && command[3] !== undefined ? String(command[3]) : undefined;
  return command[1] === undefined ? undefined : String(command[1]);
}

/** The poll script (redis/poll.ts), by its SHA or its source: whatever its keys, a marker poll. */
function isPollScript(command: RedisCommand): boolean {
  const name = commandName(command);
  if (name === "EVALSHA_RO" || name === "EVALSHA") return String(command[1]) === pollScriptSha;
  if (name === "EVAL_RO" || name === "EVAL") return String(command[1]) === pollScriptSource;
  return false;
}

export function redisCommandPurpose(command: RedisCommand): RedisCommandPurpose {
  if (isPollScript(command)) return "markerPoll";
  const key = firstKey(command);
  if (key === undefined) return "noKey";
  const name = commandName(command);
  if (isUsageKey(key) && name !== markerPollCommand) return "usageLedger";
  if (coherencePrefixes.some((prefix) => key.startsWith(prefix))) return markerReadCommands.has(name) ? "markerPoll" : "markerBump";
  if (isEnabledAppsKey(key)) return "enabledApps";
  if (isInstallsKey(key)) return "installs";
  if (isThresholdKey(key)) return "freemiumThreshold";
  if (key === statsStreamKey) return name === "XADD" ? "statsPublish" : "statsRead";
  return "unrecognised";
}
