/**
 * The expensive read the credit cache exists to avoid: this UTC month's summed
 * `transcription_seconds` over `users/{uid}/hourly_usage` (up to ~744 documents).
 *
 * One aggregation query, billed one read per 1,000 matched index entries (so 1 here), moving
 * no documents. There is no document-scan fallback: Firestore, its official emulator and the
 * offline stand-in all answer aggregations, and a scan would bill one read per document (744
 * at worst). test/credits/usage-sum.spec.ts measures both on `monthQuery`.
 */
import { AggregateField, Firestore, Query, Timestamp } from "firebase-admin/firestore";
import { UtcMonth } from "../common/utc-month";
import { firestore } from "../firestore";
import { usageMeter } from "../instance/runtime";

export const usageField = "transcription_seconds";

/** A user's usage documents of one UTC month. */
export function monthQuery(db: Firestore, uid: string, month: UtcMonth): Query {
  // Equality on the two fields every usage document carries: served by Firestore's automatic
  // single-field indexes, no composite index to deploy.
  return db.collection("users").doc(uid).collection("hourly_usage").where("year", "==", month.year).where("month", "==", month.month);
}

/** A month's usage as one Firestore read saw it: the sum, and the read time it holds at. */
export interface MonthUsage {
  usedSeconds: number;
  /** The aggregation's read time (µs since the epoch): it includes exactly the commits at or before it. */
  readAtUs: number;
}

export async function monthUsage(uid: string, month: UtcMonth, db: Firestore = firestore()): Promise<MonthUsage> {
  // The count costs nothing more (an aggregation is billed by the index entries it matches) and
  // tells the meter that number: one read per 1,000, at least one.
  const snapshot = await monthQuery(db, uid, month)
    .aggregate({ seconds: AggregateField.sum(usageField), entries: AggregateField.count() })
    .get();
  usageMeter().reads("hourly_usage", Math.max(1, Math.ceil(snapshot.data().entries / 1000)));
  // Firestore's sum ignores non-numeric values; a negative stored value would still count, so clamp the total.
  const seconds: unknown = snapshot.data().seconds;
  const usedSeconds = typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds) : 0;
  return { usedSeconds, readAtUs: timestampUs(snapshot.readTime) };
}

/** This month's usage in seconds. */
export async function monthUsageSeconds(uid: string, month: UtcMonth, db: Firestore = firestore()): Promise<number> {
  return (await monthUsage(uid, month, db)).usedSeconds;
}

/** A Firestore timestamp in µs since the epoch (its precision; exact in a double until 2255). */
export function timestampUs(timestamp: Timestamp): number {
  return timestamp.seconds * 1_000_000 + Math.floor(timestamp.nanoseconds / 1000);
}
