/**
 * The fleet's one usage figure: per user and UTC month, the transcription seconds used, kept in
 * Redis and moved by every committed report, so every instance answers the same remaining
 * seconds (the reference's per-instance decrement relied on one stream staying on one process;
 * callables land anywhere).
 *
 * Kept where counting a report (one command) costs less than the read of the month's sum it
 * spares, a fixed Upstash plan; at list prices every answer reads the sum instead
 * (credits/credit-cache.ts `usageLedger`).
 *
 * Firestore stays the truth; the figure is derived from it and can always be rebuilt:
 * - `rebuild` takes a usage sum read from Firestore at read time T (an aggregation's
 *   `readTime`: it includes exactly the commits at or before T) and sets the figure to that
 *   sum plus every report in the recent-report log committed after T;
 * - `count` adds one committed report (its Firestore commit time C) when C is after the
 *   figure's base read time and the log has not seen the report yet; a report at or before
 *   the base is already in the sum. So no report is counted twice by a rebuild or a retry,
 *   whatever order counts and rebuilds arrive in.
 * The log keeps `usageLogWindowMs` of reports (by commit time): a rebuild older than that,
 * or a count that late, changes nothing (the next rebuild includes the report).
 *
 * Keys, per user and month: the figure is the marker `inv:usage:{uid}:{YYYY-MM}` (its "version"
 * is the total) with its write time in `inv-at:...`, so every instance reads it in the marker
 * poll it already makes (cache/marker-watcher.ts): no extra command per request, and the
 * freshness of the figure is measured like any marker's. Beside it, a hash with the base read
 * time and a sorted set of recent reports. One script per operation: one command each.
 */
import { luaScript } from "../redis/client";
import { markerKey, markerTimeKey } from "../redis/markers";
import { monthKey, UtcMonth } from "../common/utc-month";
import { thresholdKey, thresholdKeyTtlSeconds, usageLogKey, usageScope, usageStateKey } from "../redis/keys";

/** How far back (by commit time) the recent-report log reaches. A rebuild must read within it. */
export const usageLogWindowMs = 10 * 60_000;
/** An idle user's figure expires after this; the next fetch rebuilds it from Firestore. */
export const usageFigureTtlSeconds = 2 * 24 * 60 * 60;

export { monthKey, usageLogKey, usageScope, usageStateKey };

/** The fleet's figure: seconds used this month, and when it last changed (Redis's clock, Unix ms, to the µs). */
export interface FleetUsage {
  usedSeconds: number;
  changedAtMs: number;
}

/** A committed report, as the ledger counts it. */
export interface CountedReport {
  uid: string;
  month: UtcMonth;
  /** Unique per report: `r:<reportId>` (so a retry is recognised) or a random id. */
  reportKey: string;
  seconds: number;
  /** The report's Firestore commit time, in µs since the epoch. */
  committedAtUs: number;
}

export interface ThresholdAsk {
  sessionId: string;
  limitSeconds: number;
  thresholdSeconds: number;
  /** A duplicate never fires the threshold. */
  mayFire: boolean;
}

export interface CountAnswer {
  /** undefined: the month has no figure yet (never built, or lost with Redis): rebuild it. */
  usage: FleetUsage | undefined;
  /** This report took the fleet's remaining to the threshold first, for its session. */
  thresholdFired: boolean;
}

/** A month's usage summed in Firestore, at its read time: what a figure is rebuilt from. */
export interface FirestoreSum {
  usedSeconds: number;
  /** µs since the epoch: the sum includes exactly the commits at or before it. */
  readAtUs: number;
}

/**
 * What the credits path needs from a fleet figure: `redisUsageLedger` below, unless outside code
 * gave the instance runtime another (instance/runtime.ts `configureInstance`).
 */
export interface UsageLedger {
  /**
   * Counts `report` (or, with `report` undefined, only decides the threshold), after
   * rebuilding the figure from `rebuildFrom` when given (one command for both). Resolves
   * undefined when this ledger keeps no fleet figure; throws when Redis does not answer.
   */
  count(uid: string, month: UtcMonth, report: CountedReport | undefined, threshold: ThresholdAsk, rebuildFrom?: FirestoreSum): Promise<CountAnswer | undefined>;
  /** Sets the figure from a Firestore sum read at `readAtUs`, unless a newer one is set. */
  rebuild(uid: string, month: UtcMonth, usedSeconds: number, readAtUs: number): Promise<FleetUsage | undefined>;
}

// KEYS: 1 figure (inv:usage:..), 2 its time key, 3 base hash, 4 recent-report log, 5 threshold key.
// Times in ms with the µs of Redis's TIME as a fraction, as text: two changes a moment apart
// still order by their time (a Lua number reply would be cut to an integer).
const prelude = `
local function nowMs(fallbackMs)
  local ok, t = pcall(redis.call, 'TIME')
  if ok then return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 end
  return tonumber(fallbackMs)
end
local function setTotal(total, at, ttl)
  local stamp = string.format('%.3f', at)
  redis.call('HSET', KEYS[3], 'total', total, 'changed_at', stamp)
  redis.call('SET', KEYS[1], total, 'EX', ttl)
  redis.call('SET', KEYS[2], stamp, 'EX', ttl)
end
local function touch(ttl)
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
local function pruneLog(at, windowMs)
  local cutoffUs = (at - windowMs) * 1000
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. string.format('%.0f', cutoffUs))
  return cutoffUs
end
-- The figure from a Firestore sum read at readUs: the sum plus the logged reports committed
-- after the read, unless the log cannot reach back that far or a newer read is in already.
local function rebuild(sum, readUs, at, cutoffUs, ttl)
  local base = redis.call('HGET', KEYS[3], 'base_read_us')
  if tonumber(readUs) < cutoffUs or (base and tonumber(base) >= tonumber(readUs)) then return end
  local total = tonumber(sum)
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. readUs, '+inf')) do
    total = total + tonumber(string.match(member, '|(%d+)$'))
  end
  redis.call('HSET', KEYS[3], 'base_read_us', readUs)
  if tonumber(redis.call('HGET', KEYS[3], 'total') or '-1') ~= total then setTotal(total, at, ttl) end
end
`;

/**
 * ARGV: 1 report member (`<key>|<seconds>`, or '' for none), 2 commit µs, 3 seconds, 4 limit,
 * 5 threshold seconds, 6 threshold key TTL, 7 figure TTL, 8 log window ms, 9 caller's clock
 * (ms, if TIME is refused), 10 '1' if this report may fire the threshold, 11 and 12 a Firestore
 * sum and its read time µs to rebuild from first ('' for none).
 * Returns { total or -1, changed_at, fired }.
 */
const countScript = luaScript(`${prelude}
local at = nowMs(ARGV[9])
local ttl = ARGV[7]
local cutoffUs = pruneLog(at, tonumber(ARGV[8]))
if ARGV[11] ~= '' then rebuild(ARGV[11], ARGV[12], at, cutoffUs, ttl) end
local commitUs = tonumber(ARGV[2])
local isNew = false
if ARGV[1] ~= '' and commitUs >= cutoffUs and not redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  isNew = true
  redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[4], ARGV[8])
end
local total = redis.call('HGET', KEYS[3], 'total')
if not total then return {-1, 0, 0} end
total = tonumber(total)
if isNew and commitUs > tonumber(redis.call('HGET', KEYS[3], 'base_read_us')) then
  total = total + tonumber(ARGV[3])
  setTotal(total, at, ttl)
end
touch(ttl)
local fired = 0
if ARGV[10] == '1' and tonumber(ARGV[4]) - total <= tonumber(ARGV[5]) and redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[6]) then
  fired = 1
end
return {total, redis.call('HGET', KEYS[3], 'changed_at'), fired}`);

/**
 * ARGV: 1 Firestore sum, 2 its read time µs, 3 figure TTL, 4 log window ms, 5 caller's clock.
 * Returns { total or -1, changed_at }.
 */
const rebuildScript = luaScript(`${prelude}
local at = nowMs(ARGV[5])
local ttl = ARGV[3]
local cutoffUs = pruneLog(at, tonumber(ARGV[4]))
rebuild(ARGV[1], ARGV[2], at, cutoffUs, ttl)
local total = redis.call('HGET', KEYS[3], 'total')
if not total then return {-1, 0} end
touch(ttl)
return {tonumber(total), redis.call('HGET', KEYS[3], 'changed_at')}`);

function keysFor(uid: string, month: UtcMonth, sessionId = "-"): string[] {
  const scope = usageScope(uid, month);
  return [markerKey(scope), markerTimeKey(scope), usageStateKey(uid, month), usageLogKey(uid, month), thresholdKey(uid, sessionId)];
}

function fleetUsageOf(reply: unknown): FleetUsage | undefined {
  if (!Array.isArray(reply)) throw new Error(`usage ledger: unexpected reply ${JSON.stringify(reply)}`);
  const [total, changedAtMs] = reply.map(Number);
  if (total === undefined || changedAtMs === undefined || !Number.isFinite(total) || !Number.isFinite(changedAtMs)) {
    throw new Error(`usage ledger: unexpected reply ${JSON.stringify(reply)}`);
  }
  return total < 0 ? undefined : { usedSeconds: total, changedAtMs };
}

/** The deployed ledger: the figure in (Upstash) Redis. */
export const redisUsageLedger: UsageLedger = {
  async count(uid, month, report, threshold, rebuildFrom) {
    const member = report === undefined || report.seconds <= 0 ? "" : `${report.reportKey}|${report.seconds}`;
    const reply = await countScript(keysFor(uid, month, threshold.sessionId), [
      member,
      String(report?.committedAtUs ?? 0),
      String(report?.seconds ?? 0),
      String(threshold.limitSeconds),
      String(threshold.thresholdSeconds),
      String(thresholdKeyTtlSeconds),
      String(usageFigureTtlSeconds),
      String(usageLogWindowMs),
      String(Date.now()),
      threshold.mayFire ? "1" : "0",
      rebuildFrom === undefined ? "" : String(rebuildFrom.usedSeconds),
      rebuildFrom === undefined ? "" : String(rebuildFrom.readAtUs),
    ]);
    const usage = fleetUsageOf(reply);
    return { usage, thresholdFired: usage !== undefined && Number((reply as unknown[])[2]) === 1 };
  },
  async rebuild(uid, month, usedSeconds, readAtUs) {
    const reply = await rebuildScript(keysFor(uid, month), [
      String(usedSeconds),
      String(readAtUs),
      String(usageFigureTtlSeconds),
      String(usageLogWindowMs),
      String(Date.now()),
    ]);
    return fleetUsageOf(reply);
  },
};
