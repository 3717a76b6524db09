/**
 * Invalidation markers: one versioned key per scope (`inv:<scope>`), bumped with INCR by
 * every writer. Readers remember the version they cached under; any change means refetch.
 * A counter, not a flag: a change is never hidden by a flag's expiry or a second writer.
 *
 * Every bump also records when it happened, on Redis's clock, in a companion key
 * (`inv-at:<scope>`), written atomically with the counter. The counter itself stays a plain
 * integer, so anything that reads markers as numbers keeps working; readers that want the
 * time read both in the same MGET (cache/instance.ts) and see `version:writtenAtMs`.
 */
import { luaScript } from "./client";

export const markerKeyPrefix = "inv:";
export const markerTimeKeyPrefix = "inv-at:";
/** Marks a trigger event as applied, so a second delivery of it bumps nothing. */
export const appliedEventKeyPrefix = "inv-event:";

/**
 * Far longer than the longest TTL a marker guards (credits, 15 min): a marker that expired
 * reads as null, which a reader that remembered a number treats as a change (a refetch).
 * Also how long a trigger event is remembered as applied: Firestore redelivers and retries
 * within hours; a duplicate after a day would only bump once more (one extra refetch).
 */
export const markerTtlSeconds = 24 * 60 * 60;

/** The scopes of invalidation. A cached entry names the scopes whose change makes it stale. */
export const scopes = {
  tester: (uid: string) => `tester:${uid}`,
  mentor: (uid: string) => `mentor:${uid}`,
  credits: (uid: string) => `credits:${uid}`,
  appOwner: (uid: string) => `apps:owner:${uid}`,
  publicApps: "apps:public",
  unapprovedApps: "apps:unapproved",
} as const;

export function markerKey(scope: string): string {
  return markerKeyPrefix + scope;
}

export function markerTimeKey(scope: string): string {
  return markerTimeKeyPrefix + scope;
}

/**
 * KEYS[1] = applied-event key, then per scope its marker and its time key.
 * ARGV[1] = "1" to apply at most once per event, ARGV[2] = `markerTtlSeconds`, ARGV[3] = the writer's
 * clock (Unix ms), used only if this Redis refuses TIME inside a script.
 * One script, so the event mark, the counters and the times are written all or none: a
 * retry after a failure can never find the event marked but a counter not bumped.
 * The time is Redis's own (TIME at the write): one clock for every writer, against which
 * each reader measures its offset (cache/instance.ts).
 */
const bumpScript = luaScript(`
if ARGV[1] == '1' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
local ok, t = pcall(redis.call, 'TIME')
local at = ARGV[3]
if ok then at = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) end
for i = 2, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[2])
  redis.call('SET', KEYS[i + 1], at, 'EX', ARGV[2])
end
return 1`);

/**
 * Bumps each scope's version and records the write time, in one round trip. Idempotent in
 * effect: a repeated bump only costs readers one extra refetch. With `onceForEvent` (a
 * trigger's CloudEvent id) a second delivery of the same event bumps nothing at all.
 * Resolves false when the event was already applied. Throws when Redis does not confirm,
 * so the caller can retry or answer 5xx.
 */
export async function bumpMarkers(scopeNames: readonly string[], options: { onceForEvent?: string } = {}): Promise<boolean> {
  const unique = [...new Set(scopeNames)];
  if (unique.length === 0) return true;
  const eventKey = appliedEventKeyPrefix + (options.onceForEvent ?? "-");
  const keys = [eventKey, ...unique.flatMap((scope) => [markerKey(scope), markerTimeKey(scope)])];
  const once = options.onceForEvent === undefined ? "0" : "1";
  const applied = await bumpScript(keys, [once, String(markerTtlSeconds), String(Date.now())]);
  return Number(applied) === 1;
}
