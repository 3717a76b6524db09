/**
 * The module-scope credit cache. One entry per user: the remaining seconds as read from
 * Firestore (user document + this month's usage sum) and when. Between refreshes an
 * instance subtracts the usage it recorded itself (kept beside the entry, because cached
 * values are frozen and shared), so the entry keeps its age and its marker tag.
 *
 * Refresh when: not cached; 15 min old (the TTL); the user's `credits:{uid}` marker changed
 * (a Stripe-driven change, seen within the marker poll interval); remaining is 0 and the
 * entry is 60 s old (so a new month or an upgrade whose marker was lost is seen); a paid
 * period ended while cached.
 */
import { randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import { createCache, instanceClock } from "../cache/instance";
import { cacheNames } from "../cache/names";
import { firestore } from "../firestore";
import { scopes } from "../redis/markers";
import { effectivePlan, Plan, planLimitSeconds } from "./plans";
import { monthUsageSeconds } from "./remaining";
import { utcMonthOf, wallNowMs } from "./time";

/** The contract's refresh, markers readable or not: usage on other instances is seen at it. */
export const creditsTtlMs = 15 * 60_000;
export const zeroRecheckMs = 60_000;

export interface CreditEntry {
  plan: Plan;
  /** Remaining at fetch time; `null` = unlimited. */
  remainingAtFetchSeconds: number | null;
  /** A paid plan's period end (unix s); the entry is refreshed once it passes. */
  paidUntilS: number | null;
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
});

/** What this instance knows beyond the cached entry, reset whenever the entry is refetched. */
interface LocalCreditState {
  fetchId: string;
  consumedSeconds: number;
  /** Sessions whose threshold key this instance already re-armed (deleted) for this entry. */
  rearmedSessions: Set<string>;
  /** Sessions known to have had their threshold (Redis said so, or fired here). */
  thresholdSeenSessions: Set<string>;
}

const localStates = new LRUCache<string, LocalCreditState>({ max: 100_000 });
let usageWritesCompleted = 0;

/** Called after each usage write this instance completes; returns the write's sequence number. */
export function noteUsageWritten(): number {
  return ++usageWritesCompleted;
}

const cacheKey = (uid: string) => `credits:${uid}`;

async function fetchCredits(uid: string): Promise<CreditEntry> {
  const fetchedAtMs = instanceClock.now();
  const writesSeenAtFetch = usageWritesCompleted;
  const now = new Date(wallNowMs());
  const ref = firestore().collection("users").doc(uid);
  const [snapshot] = await firestore().getAll(ref, { fieldMask: ["subscription"] });
  const { plan, paidUntilS } = effectivePlan(snapshot?.get("subscription"), Math.floor(now.getTime() / 1000), uid);
  const limitSeconds = planLimitSeconds(plan);
  let remainingAtFetchSeconds: number | null = null;
  // Unlimited plans skip the usage sum: one document read per refresh instead of two.
  if (limitSeconds !== null) {
    const seconds = await monthUsageSeconds(uid, utcMonthOf(now));
    remainingAtFetchSeconds = Math.max(0, limitSeconds - seconds);
  }
  return { plan, remainingAtFetchSeconds, paidUntilS, fetchedAtMs, writesSeenAtFetch, fetchId: randomUUID() };
}

function stateFor(uid: string, entry: CreditEntry): LocalCreditState {
  let state = localStates.get(uid);
  if (state?.fetchId !== entry.fetchId) {
    state = { fetchId: entry.fetchId, consumedSeconds: 0, rearmedSessions: new Set(), thresholdSeenSessions: new Set() };
    localStates.set(uid, state);
  }
  return state;
}

function remainingOf(entry: CreditEntry, state: LocalCreditState): number | null {
  if (entry.remainingAtFetchSeconds === null) return null;
  return Math.max(0, entry.remainingAtFetchSeconds - state.consumedSeconds);
}

function needsEarlyRefresh(entry: CreditEntry, remaining: number | null): boolean {
  const ageMs = instanceClock.now() - entry.fetchedAtMs;
  if (remaining === 0 && ageMs >= zeroRecheckMs) return true;
  return entry.paidUntilS !== null && wallNowMs() / 1000 >= entry.paidUntilS;
}

export interface CurrentCredits {
  plan: Plan;
  remainingSeconds: number | null;
  entry: CreditEntry;
  state: LocalCreditState;
}

/**
 * The user's credits from the cache (refreshing when a rule says so). When `usage` is given,
 * those seconds were just written by this instance: subtracted locally unless the entry was
 * fetched after the write (then the sum already has them).
 */
export async function currentCredits(uid: string, usage?: { seconds: number; writeSeq: number }): Promise<CurrentCredits> {
  const key = cacheKey(uid);
  const markerScopes = [scopes.credits(uid)];
  let entry = await creditCache.get(key, markerScopes, () => fetchCredits(uid));
  let state = stateFor(uid, entry);
  if (needsEarlyRefresh(entry, remainingOf(entry, state))) {
    creditCache.invalidate(key);
    entry = await creditCache.get(key, markerScopes, () => fetchCredits(uid));
    state = stateFor(uid, entry);
  }
  if (usage && usage.seconds > 0 && entry.remainingAtFetchSeconds !== null && entry.writesSeenAtFetch < usage.writeSeq) {
    // Clamped at read time (remainingOf); counting past 0 is harmless and needs no special case.
    state.consumedSeconds += usage.seconds;
  }
  return { plan: entry.plan, remainingSeconds: remainingOf(entry, state), entry, state };
}
