/**
 * The module-scope credit cache. One entry per user: the plan (user document) and, for a plan
 * with a limit, this month's usage as read from Firestore.
 *
 * How an answer learns every instance's reports depends on what a Redis command costs against
 * a Firestore read (`usageLedger`):
 * - Where a command costs less (a fixed Upstash plan): the fleet's figure (credits/ledger.ts),
 *   rebuilt from the entry's sum once per fetch (with the report's count when a report fetched
 *   it). Between fetches the instance follows the figure: its own reports' counts answer at
 *   once, every other instance's arrive with the marker poll.
 * - Otherwise (list prices): each answer reads the month's sum (one aggregation, billed one
 *   read), exact at its read time, and the entry keeps only the plan. Counting a report into a
 *   figure costs one command and spares at least that report's own sum, one read: a command that
 *   costs more than the read would buy nothing.
 *
 * While the ledger cannot be reached (Redis down), an instance falls back to what the reference
 * did: the figure it last knew plus the reports it recorded itself, within the 15 min refresh.
 * Once markers read again, such an entry is rebuilt from Firestore (which holds every report),
 * so nothing recorded meanwhile is lost or counted twice.
 *
 * Refresh when: not cached; 15 min old (the TTL, which also bounds how long a report that was
 * committed but never counted, its process gone, can be missing from the figure: every refresh
 * rebuilds it); the user's `credits:{uid}` marker changed (a Stripe-driven change); a new UTC
 * month; a paid period ended while cached; and, with the ledger, remaining is 0 and the entry is
 * 60 s old (an upgrade whose marker was lost), or the ledger failed and a marker poll has read
 * Redis since.
 */
import { randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import { cacheNames } from "../cache/names";
import { Throttle } from "../common/throttle";
import { UtcMonth } from "../common/utc-month";
import { firestore, getDocuments } from "../firestore";
import { createCache, instanceRuntime } from "../instance/runtime";
import * as logs from "../logs";
import { firestoreReadUsd, redisCommandUsd } from "../prices";
import { scopes } from "../redis/markers";
import { FleetUsage, monthKey, redisUsageLedger, UsageLedger, usageScope } from "./ledger";
import { effectivePlan, Plan, planLimitSeconds } from "./plans";
import { MonthUsage, monthUsage } from "./remaining";
import { wallNowMs } from "./time";

/** The contract's refresh, markers readable or not; also the bound on a report never counted. */
export const creditsTtlMs = 15 * 60_000;
export const zeroRecheckMs = 60_000;

export interface CreditEntry {
  plan: Plan;
  /** The month's limit in seconds; `null` = unlimited (no usage is read or counted). */
  limitSeconds: number | null;
  /** A paid plan's period end (unix s); the entry is refreshed once it passes. */
  paidUntilS: number | null;
  /** `YYYY-MM` of the usage below. */
  month: string;
  /** The month's usage in Firestore at the fetch (`null` when unlimited). */
  firestoreUsedSeconds: number | null;
  /** That sum's read time (µs since the epoch): the fleet's figure is rebuilt from the two. */
  firestoreReadAtUs: number | null;
  fetchedAtMs: number;
  /** Usage writes this instance had completed when the fetch started (all included in it). */
  writesSeenAtFetch: number;
  fetchId: string;
}

const creditCache = createCache<CreditEntry>({
  name: cacheNames.credits,
  ttlMs: creditsTtlMs,
  maxEntries: 100_000,
  maxBytes: 32 * 1024 * 1024,
  // The entry's source is the user document (the sum is read per answer at list prices): a
  // quiet instance reads it rather than pay a whole poll to confirm it.
  readThroughUsd: firestoreReadUsd,
});

/** What this instance knows beyond the cached entry, reset whenever the entry is refetched. */
export interface LocalCreditState {
  fetchId: string;
  /** The fleet's figure as this instance's last count or rebuild returned it. */
  lastCounted: FleetUsage | undefined;
  /** The fetch's Firestore sum went to the ledger (alone, or with a report's count). */
  rebuildSent: boolean;
  /** Seconds this instance recorded since the fetch that no fleet figure holds (a ledger that keeps none). */
  uncountedSeconds: number;
  /**
   * Set once the ledger failed: the usage this instance answers from until the entry is rebuilt
   * (the figure it knew then, plus its own reports since).
   */
  fallbackUsedSeconds: number | undefined;
  /** When the ledger last failed for this entry (instance clock). */
  ledgerFailedAtMs: number | undefined;
  /** Sessions known to have had their threshold (Redis said so, or fired here). */
  thresholdSeenSessions: Set<string>;
}

const localStates = new LRUCache<string, LocalCreditState>({ max: 100_000 });
// While Redis is down every report fails here: one line a minute per instance, not one per call.
const ledgerWarning = new Throttle(60_000, instanceRuntime().clock);

/** Called after each usage write this instance completes; returns the write's sequence number. */
export function noteUsageWritten(): number {
  return instanceRuntime().noteUsageWritten();
}

/**
 * The fleet's figure as this instance keeps it: the one outside code gave the runtime, else the
 * Redis ledger where a command costs less than a read; undefined: none, every answer reads the
 * month's sum (see the module comment).
 */
export function usageLedger(): UsageLedger | undefined {
  return instanceRuntime().usageLedger ?? (redisCommandUsd() < firestoreReadUsd() ? redisUsageLedger : undefined);
}

const cacheKey = (uid: string) => `credits:${uid}`;

async function fetchCredits(uid: string, month: UtcMonth): Promise<CreditEntry> {
  const fetchedAtMs = instanceRuntime().clock.now();
  const writesSeenAtFetch = instanceRuntime().usageWritesCompleted;
  const ref = firestore().collection("users").doc(uid);
  const [snapshot] = await getDocuments([ref], { fieldMask: ["subscription"] });
  const { plan, paidUntilS } = effectivePlan(snapshot?.get("subscription"), Math.floor(wallNowMs(instanceRuntime().clock) / 1000), uid);
  const limitSeconds = planLimitSeconds(plan);
  const entry: CreditEntry = {
    plan,
    limitSeconds,
    paidUntilS,
    month: monthKey(month),
    firestoreUsedSeconds: null,
    firestoreReadAtUs: null,
    fetchedAtMs,
    writesSeenAtFetch,
    fetchId: randomUUID(),
  };
  // Unlimited plans skip the usage sum: one document read per refresh instead of two.
  if (limitSeconds === null) return entry;
  const usage = await monthUsage(uid, month);
  entry.firestoreUsedSeconds = usage.usedSeconds;
  entry.firestoreReadAtUs = usage.readAtUs;
  return entry;
}

/** The fleet's figure is out of reach: logged at most once a minute per instance. */
export function noteLedgerFailure(uid: string, error: unknown): void {
  ledgerWarning.run((skipped) => logs.creditLedgerUnavailable({ uid, error, failuresSinceLastLine: skipped + 1 }));
}

function stateFor(uid: string, entry: CreditEntry): LocalCreditState {
  let state = localStates.get(uid);
  if (state?.fetchId !== entry.fetchId) {
    state = {
      fetchId: entry.fetchId,
      lastCounted: undefined,
      rebuildSent: false,
      uncountedSeconds: 0,
      fallbackUsedSeconds: undefined,
      ledgerFailedAtMs: undefined,
      thresholdSeenSessions: new Set(),
    };
    localStates.set(uid, state);
  }
  return state;
}

/**
 * The most recent of the figures this instance holds (each stamped on Redis's clock, to the
 * µs). Two changes in the same µs are counts (a rebuild that corrects downwards is rare): the
 * larger total is the later.
 */
function latest(...figures: (FleetUsage | null | undefined)[]): FleetUsage | undefined {
  let newest: FleetUsage | undefined;
  for (const figure of figures) {
    if (!figure) continue;
    if (!newest || figure.changedAtMs > newest.changedAtMs || (figure.changedAtMs === newest.changedAtMs && figure.usedSeconds > newest.usedSeconds))
      newest = figure;
  }
  return newest;
}

/** The fleet's figure as the last marker poll read it. */
function polledUsage(uid: string, month: UtcMonth): FleetUsage | undefined {
  const reading = instanceRuntime().markerWatcher().reading(usageScope(uid, month));
  const usedSeconds = Number(reading?.version ?? NaN);
  if (reading?.writtenAtMs === undefined || !Number.isSafeInteger(usedSeconds) || usedSeconds < 0) return undefined;
  return { usedSeconds, changedAtMs: reading.writtenAtMs };
}

export class UserCredits {
  constructor(
    readonly uid: string,
    readonly month: UtcMonth,
    readonly entry: CreditEntry,
    readonly state: LocalCreditState,
    /** The month's sum read for this answer (no ledger): exact, every report committed before it included. */
    readonly monthSum?: MonthUsage,
  ) {}

  get plan(): Plan {
    return this.entry.plan;
  }

  get limitSeconds(): number | null {
    return this.entry.limitSeconds;
  }

  /** The usage this instance answers from now (meaningless for an unlimited plan). */
  usedSeconds(): number {
    if (this.monthSum !== undefined) return this.monthSum.usedSeconds;
    if (this.state.fallbackUsedSeconds !== undefined) return this.state.fallbackUsedSeconds;
    const fleet = latest(this.state.lastCounted, polledUsage(this.uid, this.month));
    return (fleet?.usedSeconds ?? this.entry.firestoreUsedSeconds ?? 0) + this.state.uncountedSeconds;
  }

  /** Remaining seconds, never below 0; `null` = unlimited. */
  remainingSeconds(): number | null {
    if (this.entry.limitSeconds === null) return null;
    return Math.max(0, this.entry.limitSeconds - this.usedSeconds());
  }

  /** The ledger counted a report, answered the threshold or rebuilt the figure: its answer is the newest. */
  noteCounted(usage: FleetUsage): void {
    this.state.lastCounted = latest(this.state.lastCounted, usage);
  }

  /**
   * The fetch's Firestore sum, once, for the ledger to rebuild the figure from: a report sends
   * it with its count (one command for both), any other call alone (`rebuildFleetFigure`).
   */
  takeRebuild(): { usedSeconds: number; readAtUs: number } | undefined {
    const { firestoreUsedSeconds, firestoreReadAtUs } = this.entry;
    if (this.state.rebuildSent || firestoreUsedSeconds === null || firestoreReadAtUs === null) return undefined;
    this.state.rebuildSent = true;
    return { usedSeconds: firestoreUsedSeconds, readAtUs: firestoreReadAtUs };
  }

  /**
   * The ledger failed: from now until the entry is rebuilt, this instance answers from
   * `baseUsedSeconds` (default: the figure it knows now) plus its own reports.
   */
  fallBack(baseUsedSeconds?: number): void {
    this.state.fallbackUsedSeconds ??= baseUsedSeconds ?? this.usedSeconds();
    this.state.ledgerFailedAtMs = instanceRuntime().clock.now();
  }

  /**
   * This instance wrote `seconds` (write number `writeSeq`) that no fleet figure holds: the
   * ledger keeps none, or it failed (after `fallBack`). A write the fetch already read is not
   * added again.
   */
  addUncounted(seconds: number, writeSeq: number | undefined): void {
    if (writeSeq === undefined || this.entry.writesSeenAtFetch >= writeSeq || this.entry.limitSeconds === null) return;
    if (this.state.fallbackUsedSeconds !== undefined) this.state.fallbackUsedSeconds += seconds;
    else this.state.uncountedSeconds += seconds;
  }
}

function needsEarlyRefresh(credits: UserCredits, month: UtcMonth, ledger: UsageLedger | undefined): boolean {
  const { entry, state } = credits;
  const ageMs = instanceRuntime().clock.now() - entry.fetchedAtMs;
  if (entry.month !== monthKey(month)) return true;
  if (entry.paidUntilS !== null && wallNowMs(instanceRuntime().clock) / 1000 >= entry.paidUntilS) return true;
  // Without a ledger every answer reads the sum: the entry's own is never served.
  if (ledger === undefined) return false;
  if (credits.remainingSeconds() === 0 && ageMs >= zeroRecheckMs) return true;
  // Redis answered a poll since the ledger failed: rebuild now (at most once per poll interval while it flaps).
  return state.ledgerFailedAtMs !== undefined && instanceRuntime().markerWatcher().readSince(state.ledgerFailedAtMs);
}

/**
 * The user's credits for `month` (the current UTC month) from the cache, refreshing when a
 * rule says so; `refresh` forces a refetch (the fleet's figure was lost: rebuild it). Without a
 * ledger the answer carries the month's sum read after the call began: the entry's own when
 * this call fetched it, else one more aggregation.
 */
export async function currentCredits(uid: string, month: UtcMonth, options: { refresh?: boolean; rebuild?: boolean } = {}): Promise<UserCredits> {
  const key = cacheKey(uid);
  const markerScopes = [scopes.credits(uid)];
  const ledger = usageLedger();
  // Which entry this call fetched (a fetch it joined, or one started by another call, may have
  // read the sum before this call's report was committed).
  let fetchedHere: CreditEntry | undefined;
  const fetch = async () => (fetchedHere = await fetchCredits(uid, month));
  if (options.refresh) creditCache.invalidate(key);
  let entry = await creditCache.get(key, markerScopes, fetch);
  let credits = new UserCredits(uid, month, entry, stateFor(uid, entry));
  if (needsEarlyRefresh(credits, month, ledger)) {
    creditCache.invalidate(key);
    entry = await creditCache.get(key, markerScopes, fetch);
    credits = new UserCredits(uid, month, entry, stateFor(uid, entry));
  }
  if (ledger === undefined) return withMonthSum(credits, entry === fetchedHere);
  if (options.rebuild ?? true) await rebuildFleetFigure(ledger, credits);
  return credits;
}

/** `credits` answering from the month's sum: the entry's when `entryIsFresh`, else read now (unlimited plans read none). */
async function withMonthSum(credits: UserCredits, entryIsFresh: boolean): Promise<UserCredits> {
  const { entry } = credits;
  if (entry.limitSeconds === null) return credits;
  const sum =
    entryIsFresh && entry.firestoreUsedSeconds !== null && entry.firestoreReadAtUs !== null
      ? { usedSeconds: entry.firestoreUsedSeconds, readAtUs: entry.firestoreReadAtUs }
      : await monthUsage(credits.uid, credits.month);
  return new UserCredits(credits.uid, credits.month, entry, credits.state, sum);
}

/** Gives a new fetch's Firestore sum to the ledger (one command); on failure, falls back. */
async function rebuildFleetFigure(ledger: UsageLedger, credits: UserCredits): Promise<void> {
  const from = credits.takeRebuild();
  if (from === undefined) return;
  try {
    const usage = await ledger.rebuild(credits.uid, credits.month, from.usedSeconds, from.readAtUs);
    if (usage !== undefined) credits.noteCounted(usage);
  } catch (error) {
    noteLedgerFailure(credits.uid, error);
    credits.fallBack(from.usedSeconds);
  }
}
