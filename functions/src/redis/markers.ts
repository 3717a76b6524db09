/**
 * Invalidation markers: one versioned key per scope (`inv:<scope>`), bumped with INCR by
 * every writer. Readers remember the version they cached under; any change means refetch.
 * A counter, not a flag: a change is never hidden by a flag's expiry or a second writer.
 *
 * Every bump also records when it happened, on Redis's clock, in a companion key
 * (`inv-at:<scope>`), written atomically with the counter. The counter itself stays a plain
 * integer, so anything that reads markers as numbers keeps working; the watcher reads both in
 * one MGET (`markerReadKeys`) and gets `MarkerReading`s (`decodeMarkerReadings`).
 *
 * This module is the marker format's one home: the Lua that writes it, the keys and arguments
 * of a bump, and the decoding of what a poll reads.
 *
 * A bump that names the document it is about (an app) also appends `version=id` to a short log
 * in the time key. A reader that holds a list under version 15 and now sees 17 re-reads just
 * the documents of versions 16 and 17, when the log still covers them (cache/coherent-cache.ts).
 */
import { luaScript } from "./client";

export const markerKeyPrefix = "inv:";
export const markerTimeKeyPrefix = "inv-at:";
/** Marks a change as bumped (see redis/change-bumps.ts), so a second bump for it (its trigger, a redelivery) bumps nothing. */
export const appliedEventKeyPrefix = "inv-event:";

/**
 * Far longer than the longest TTL a marker guards (the 1 h safety net): a marker that expired
 * reads as null, which a reader that remembered a number treats as a change (a refetch).
 * Also how long a change is remembered as bumped: Firestore redelivers and retries triggers
 * within hours; a duplicate after a day would only bump once more (one extra refetch).
 */
export const markerTtlSeconds = 24 * 60 * 60;

/** The scopes of invalidation. A cached entry names the scopes whose change makes it stale. */
export const scopes = {
  tester: (uid: string) => `tester:${uid}`,
  mentor: (uid: string) => `mentor:${uid}`,
  credits: (uid: string) => `credits:${uid}`,
  /** Not an invalidation: its version is the fleet's usage total for the month (credits/ledger.ts). */
  usage: (uid: string, month: string) => `usage:${uid}:${month}`,
  appOwner: (uid: string) => `apps:owner:${uid}`,
  enabledApps: (uid: string) => `enabled:${uid}`,
  publicApps: "apps:public",
  unapprovedApps: "apps:unapproved",
} as const;

export function markerKey(scope: string): string {
  return markerKeyPrefix + scope;
}

export function markerTimeKey(scope: string): string {
  return markerTimeKeyPrefix + scope;
}

/** Most recent changes a marker's log keeps (see `bumpMarkers`); an older change means a full refetch. */
export const markerLogLength = 20;

/** Lua: Redis's own clock in Unix ms (as a string), or the caller's when a script may not call TIME. */
const redisTimeMsLua = `
local function redisTimeMs(fallbackMs)
  local ok, t = pcall(redis.call, 'TIME')
  if ok then return string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) end
  return fallbackMs
end
`;

/**
 * The Lua that bumps one marker and records the write time (`at`, Redis's TIME in ms) in
 * its time key, followed by the marker's change log when the bump names what changed:
 * `<ms>|<version>=<id>,<version>=<id>` (ids URI-encoded, the last `markerLogLength`). A bump
 * that names nothing clears the log, so no reader can take it for a complete account.
 *
 * A marker that does not exist (never bumped, or expired after `markerTtlSeconds` without a
 * bump) starts at `at`, not at 1: a version is never reused, so a reader holding an entry
 * tagged with an old incarnation's version can never mistake a new incarnation for it. The
 * log then begins with `^`: its first entry is the incarnation's first version, so a reader
 * whose entry predates the marker (tagged `null`) can still follow it.
 * Shared by every script that bumps a marker (bumpMarkers, the enabled-apps scripts).
 */
export const bumpMarkerLua = `${redisTimeMsLua}
local function bumpMarker(markerKey, timeKey, ttlSeconds, at, changedId)
  local version
  local entries = {}
  local fromStart = false
  if redis.call('EXISTS', markerKey) == 1 then
    version = redis.call('INCR', markerKey)
    local previous = redis.call('GET', timeKey)
    if previous then
      local bar = string.find(previous, '|', 1, true)
      if bar then
        local log = string.sub(previous, bar + 1)
        if string.sub(log, 1, 1) == '^' then
          fromStart = true
          log = string.sub(log, 2)
        end
        for entry in string.gmatch(log, '[^,]+') do table.insert(entries, entry) end
      end
    end
  else
    version = at
    redis.call('SET', markerKey, at)
    fromStart = true
  end
  redis.call('EXPIRE', markerKey, ttlSeconds)
  local value = at
  if changedId ~= '' then
    table.insert(entries, version .. '=' .. changedId)
    while #entries > ${markerLogLength} do
      table.remove(entries, 1)
      fromStart = false
    end
    local prefix = ''
    if fromStart then prefix = '^' end
    value = at .. '|' .. prefix .. table.concat(entries, ',')
  end
  redis.call('SET', timeKey, value, 'EX', ttlSeconds)
end
`;

/**
 * KEYS[1] = applied-change key, then per scope its marker and its time key.
 * ARGV[1] = "1" to apply at most once per change, ARGV[2] = `markerTtlSeconds`, ARGV[3] = the writer's
 * clock (Unix ms), used only if this Redis refuses TIME inside a script, ARGV[4] = the id of the
 * changed document (URI-encoded) or "".
 * One script, so the change mark, the counters and the times are written all or none: a
 * retry after a failure can never find the change marked but a counter not bumped.
 * The time is Redis's own (TIME at the write): one clock for every writer, against which
 * each reader measures its offset (instance/runtime.ts).
 */
const bumpScript = luaScript(`${bumpMarkerLua}
if ARGV[1] == '1' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
local at = redisTimeMs(ARGV[3])
for i = 2, #KEYS, 2 do bumpMarker(KEYS[i], KEYS[i + 1], ARGV[2], at, ARGV[4]) end
return 1`);

/**
 * Bumps each scope's version and records the write time, in one round trip. Idempotent in
 * effect: a repeated bump only costs readers one extra refetch. With `onceForChange` (a
 * change key, redis/change-bumps.ts) a second bump for the same change bumps nothing at all.
 * With `changedId` (the one document whose change this is) each scope's log records it, so a
 * reader holding a list can re-read that document instead of the whole list.
 * Resolves false when the change was already bumped. Throws when Redis does not confirm,
 * so the caller can retry or answer 5xx.
 */
export async function bumpMarkers(scopeNames: readonly string[], options: { onceForChange?: string; changedId?: string } = {}): Promise<boolean> {
  const unique = [...new Set(scopeNames)];
  if (unique.length === 0) return true;
  const eventKey = appliedEventKeyPrefix + (options.onceForChange ?? "-");
  const keys = [eventKey, ...unique.flatMap((scope) => [markerKey(scope), markerTimeKey(scope)])];
  const once = options.onceForChange === undefined ? "0" : "1";
  const changedId = options.changedId === undefined ? "" : encodeURIComponent(options.changedId);
  const applied = await bumpScript(keys, [once, String(markerTtlSeconds), String(Date.now()), changedId]);
  return Number(applied) === 1;
}

/** What a poll knows of one marker. Only the version decides what is current. */
export interface MarkerReading {
  /** The marker's version; `null` when it does not exist (never bumped, or expired). */
  version: string | null;
  /** When it was last bumped (Unix ms, Redis's clock). */
  writtenAtMs?: number;
  /** The ids the marker's most recent bumps named, by version. */
  changedIds?: ReadonlyMap<number, string>;
  /** The log reaches back to the marker's first version (`^`): this one. */
  firstVersion?: number;
  /** The members of the scope's payload set, read in the same step as the version (redis/poll.ts). */
  payload?: readonly string[];
}

/** The keys one MGET reads for `scopes`: every marker, then every time key, in order. */
export function markerReadKeys(scopes: readonly string[]): string[] {
  return [...scopes.map(markerKey), ...scopes.map(markerTimeKey)];
}

/** The readings of `scopes` from the values an MGET of `markerReadKeys(scopes)` returned. */
export function decodeMarkerReadings(scopes: readonly string[], values: unknown): MarkerReading[] {
  const list = Array.isArray(values) ? (values as unknown[]) : [];
  return scopes.map((_scope, i) => decodeMarkerReading(list[i], list[scopes.length + i]));
}

function parseChangeLog(log: string): Map<number, string> {
  const changes = new Map<number, string>();
  for (const entry of log.split(",")) {
    const equals = entry.indexOf("=");
    const version = Number(entry.slice(0, equals));
    if (equals <= 0 || !Number.isSafeInteger(version)) continue;
    try {
      changes.set(version, decodeURIComponent(entry.slice(equals + 1)));
    } catch {
      // A malformed id is a gap in the log: whoever needs that version refetches in full.
    }
  }
  return changes;
}

/**
 * One marker's reading from its two keys: the version, and the time key's `<ms>` or
 * `<ms>|<log>` (`bumpMarkerLua`). A missing or unreadable time leaves the version readable.
 */
export function decodeMarkerReading(version: unknown, timeValue: unknown): MarkerReading {
  if (version === null || version === undefined) return { version: null };
  const reading: MarkerReading = { version: String(version) };
  if (timeValue === null || timeValue === undefined) return reading;
  const time = String(timeValue);
  const bar = time.indexOf("|");
  const writtenAtMs = Number(bar === -1 ? time : time.slice(0, bar));
  if (Number.isFinite(writtenAtMs) && writtenAtMs > 0) reading.writtenAtMs = writtenAtMs;
  if (bar !== -1) {
    const log = time.slice(bar + 1);
    const fromStart = log.startsWith("^");
    reading.changedIds = parseChangeLog(fromStart ? log.slice(1) : log);
    if (fromStart && reading.changedIds.size > 0) reading.firstVersion = Math.min(...reading.changedIds.keys());
  }
  return reading;
}
