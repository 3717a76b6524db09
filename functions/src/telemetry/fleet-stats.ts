/**
 * Fleet-wide cache figures. In production every function is its own Cloud Run service with
 * its own instances, so no instance can see another's caches: each instance publishes a
 * snapshot of its figures to Redis, and `cacheStats` adds them up.
 *
 * Cost: no command of its own. The snapshot rides inside the instance's marker poll (the one
 * script it sends anyway, at most once per poll interval: redis/poll.ts), which at most once per
 * `statsPublishIntervalMs()` also adds it to the stream. An instance that reads its sources
 * instead of polling (cache/coherent-cache.ts, readThroughUsd) polls for a publish only when it
 * is overdue (`StatsPublisher.overdue`), so it stays live. An instance that serves no cached
 * read has nothing to publish.
 *
 * Storage: one Redis stream, `cachestats:snapshots`, one entry per publish. Each XADD trims
 * the stream to the last `snapshotTtlMs` (MINID), so a snapshot expires by itself once its
 * instance stops publishing (scaled in, crashed, idle), whoever publishes next; cacheStats
 * reads only entries younger than that. A stream rather than one key per instance with a
 * TTL: the reader gets every live snapshot with one XRANGE instead of a SCAN over the whole
 * keyspace, at the same one command per publish. The entry id is Redis's clock at the
 * publish, so snapshot ages are measured on one clock, and `id - publishedAtMs` shows each
 * instance's clock offset from Redis (plus a one-way trip).
 */
import { randomBytes } from "node:crypto";
import { CoherentCacheStats } from "../cache/coherent-cache";
import { MarkerWatcherStats } from "../cache/marker-watcher";
import { Clock } from "../common/clock";
import { statsPublishIntervalMsParam } from "../config";
import { redis } from "../redis/client";
import { statsStreamKey } from "../redis/keys";
import { FreshnessHistogram } from "./freshness";
import type { FunctionUsage, RedisUsage } from "./meter";

/**
 * How often an instance publishes (the STATS_PUBLISH_INTERVAL_MS param: once a minute in
 * production, as the contract says; a few seconds on the local stack). A process that loads
 * the functions itself and sets no value gets the declared default.
 */
export function statsPublishIntervalMs(): number {
  const raw = process.env[statsPublishIntervalMsParam.name];
  const ms = raw === undefined || raw === "" ? Number(statsPublishIntervalMsParam.options.default) : statsPublishIntervalMsParam.value();
  if (!Number.isSafeInteger(ms) || ms < 1_000) throw new Error(`${statsPublishIntervalMsParam.name} must be a whole number of ms, at least 1000, got ${raw}`);
  return ms;
}
/**
 * A snapshot older than this is gone, and so is its instance as far as cacheStats counts
 * ("live" = published within the last 3 minutes: an instance in traffic publishes every
 * minute, so two missed publishes are tolerated).
 */
export const snapshotTtlMs = 3 * 60_000;
/** Far above any fleet's live snapshots (instances x 3); bounds what one cacheStats reads. */
const maxEntriesRead = 20_000;

export interface InstanceIdentity {
  /** The function this instance serves. */
  function: string;
  /** Random per process: tells instances of one function apart. */
  instance: string;
}

/**
 * The function an instance serves. Cloud Run functions set FUNCTION_TARGET (the export name,
 * e.g. `getAvailableApps`) and K_SERVICE (the service, e.g. `getavailableapps`); the Functions
 * emulator sets both per worker (each function has its own worker). Neither is set in a
 * process that serves every export at once (the test harness): `local`.
 */
export function servedFunction(): string {
  return process.env.FUNCTION_TARGET || process.env.K_SERVICE || "local";
}

const instanceId = randomBytes(6).toString("hex");

export function instanceIdentity(): InstanceIdentity {
  return { function: servedFunction(), instance: instanceId };
}

/** What one instance publishes. Figures are cumulative since the instance started. */
export interface InstanceSnapshot extends InstanceIdentity {
  v: 1;
  /** Unix ms, on the instance's clock. */
  startedAtMs: number;
  publishedAtMs: number;
  /** Only the caches this instance used (every instance loads every module). */
  caches: CoherentCacheStats[];
  markers: MarkerWatcherStats;
  freshness: Record<string, FreshnessHistogram>;
  /** Firestore reads and writes and Redis commands per function since the instance started (absent from older instances). */
  usage?: Record<string, FunctionUsage>;
  /** The instance's own Redis commands since it started: its marker polls, stats publishes, anything outside a request (absent from older instances). */
  instanceWork?: RedisUsage;
  /** Redis's clock minus this instance's, measured at its previous publish (ms; absent before). */
  clockOffsetMs?: number;
}

/** A published snapshot as read back, with Redis's time of the publish. */
export interface PublishedSnapshot {
  snapshot: InstanceSnapshot;
  /** Redis's clock when the snapshot was added (the stream entry id). */
  publishedAtRedisMs: number;
}

/**
 * Decides when this instance publishes, and keeps its clock offset from Redis, measured at
 * each publish: the entry id Redis assigns is its time, taken between sending and receiving.
 */
export class StatsPublisher {
  private lastAttemptAtMs = -Infinity;
  private offsetMs = 0;
  private offsetMeasured = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = statsPublishIntervalMs(),
  ) {}

  /**
   * Whether a publish is overdue: none yet, or none for two intervals. The polls an instance
   * makes anyway carry its publishes once an interval; an instance that reads its sources
   * instead of polling polls for one only when overdue, so it stays live (published within
   * `snapshotTtlMs`, three intervals) at half the polls.
   */
  overdue(): boolean {
    return this.lastAttemptAtMs === -Infinity || this.clock.now() - this.lastAttemptAtMs >= 2 * this.intervalMs;
  }

  /** True (and counted as an attempt) at most once per interval; a failed attempt waits a full interval too. */
  takeTurn(): boolean {
    const nowMs = this.clock.now();
    if (nowMs - this.lastAttemptAtMs < this.intervalMs) return false;
    this.lastAttemptAtMs = nowMs;
    return true;
  }

  /** Redis's reply to a publish: the entry id `<redis ms>-<seq>`, sent and received on the wall clock. */
  noteReply(entryId: string, sentAtMs: number, receivedAtMs: number): void {
    const redisMs = entryIdMs(entryId);
    // Redis read its clock somewhere between send and receipt: the midpoint is off by at
    // most half the round trip (a few ms).
    if (redisMs === undefined) return;
    this.offsetMs = redisMs - (sentAtMs + receivedAtMs) / 2;
    this.offsetMeasured = true;
  }

  /** The offset, once a publish has measured it. */
  measuredOffsetMs(): number | undefined {
    return this.offsetMeasured ? Math.round(this.offsetMs) : undefined;
  }

  /** Redis's clock minus this instance's wall clock (0 until the first publish: NTP-synced clocks). */
  redisClockOffsetMs(): number {
    return this.offsetMs;
  }

  reset(): void {
    this.lastAttemptAtMs = -Infinity;
    this.offsetMs = 0;
    this.offsetMeasured = false;
  }
}

/** The publish of `snapshot` as the poll script adds it (redis/poll.ts): one XADD, trimming what has expired. */
export function publishEntry(snapshot: InstanceSnapshot, wallNowMs: number): { streamKey: string; minId: string; snapshot: string } {
  return { streamKey: statsStreamKey, minId: String(Math.floor(wallNowMs - snapshotTtlMs)), snapshot: JSON.stringify(snapshot) };
}

export function entryIdMs(entryId: unknown): number | undefined {
  if (typeof entryId !== "string") return undefined;
  const ms = Number(entryId.split("-")[0]);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Every snapshot published within `snapshotTtlMs`, and Redis's time now. Two commands, one round trip. */
export async function readPublishedSnapshots(): Promise<{ redisNowMs: number; published: PublishedSnapshot[] }> {
  const pipeline = redis().pipeline();
  pipeline.time();
  pipeline.xrange(statsStreamKey, "-", "+", maxEntriesRead);
  const [time, entries] = (await pipeline.exec()) as [unknown, unknown];
  const redisNowMs = redisTimeMs(time);
  const published: PublishedSnapshot[] = [];
  for (const entry of Array.isArray(entries) ? entries : []) {
    const publishedAtRedisMs = entryIdMs(Array.isArray(entry) ? entry[0] : undefined);
    if (publishedAtRedisMs === undefined || redisNowMs - publishedAtRedisMs > snapshotTtlMs) continue;
    const snapshot = parseSnapshot(Array.isArray(entry) ? entry[1] : undefined);
    if (snapshot) published.push({ snapshot, publishedAtRedisMs });
  }
  return { redisNowMs, published };
}

function redisTimeMs(reply: unknown): number {
  if (!Array.isArray(reply)) throw new Error("TIME: unexpected reply");
  const [seconds, micros] = reply.map(Number);
  if (seconds === undefined || micros === undefined || !Number.isFinite(seconds) || !Number.isFinite(micros)) throw new Error("TIME: unexpected reply");
  return seconds * 1000 + Math.floor(micros / 1000);
}

/** A stream entry's fields (`["s", json]`) as a snapshot; undefined when it is not one (skipped). */
function parseSnapshot(fields: unknown): InstanceSnapshot | undefined {
  if (!Array.isArray(fields)) return undefined;
  const json = fields[fields.indexOf("s") + 1];
  if (fields.indexOf("s") === -1 || typeof json !== "string") return undefined;
  try {
    const value = JSON.parse(json) as Partial<InstanceSnapshot>;
    const valid =
      value.v === 1 &&
      typeof value.function === "string" &&
      typeof value.instance === "string" &&
      typeof value.publishedAtMs === "number" &&
      typeof value.startedAtMs === "number" &&
      Array.isArray(value.caches) &&
      typeof value.markers === "object" &&
      value.markers !== null &&
      typeof value.freshness === "object" &&
      value.freshness !== null;
    return valid ? (value as InstanceSnapshot) : undefined;
  } catch {
    return undefined;
  }
}
