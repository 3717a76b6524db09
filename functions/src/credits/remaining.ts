/**
 * The expensive read the credit cache exists to avoid: this UTC month's summed
 * `transcription_seconds` over `users/{uid}/hourly_usage` (up to ~744 documents).
 *
 * An aggregation query is billed one read per 1,000 matched index entries (so 1 here) and
 * moves no documents; the document scan is billed one read per document and moves them all.
 * The scan is kept for a Firestore server without aggregations (it is used only when the
 * server answers UNIMPLEMENTED) and for the measurement in docs/credits-and-stripe.md.
 */
import { AggregateField, Firestore, Query } from "firebase-admin/firestore";
import * as logs from "../logs";
import { firestore } from "../firestore";
import { UtcMonth } from "./time";

export const usageField = "transcription_seconds";

export type SumMethod = "aggregation" | "scan";

function monthQuery(db: Firestore, uid: string, month: UtcMonth): Query {
  // Equality on the two fields every usage document carries: served by Firestore's automatic
  // single-field indexes, no composite index to deploy.
  return db.collection("users").doc(uid).collection("hourly_usage").where("year", "==", month.year).where("month", "==", month.month);
}

/** A stored counter that is not a finite non-negative number adds nothing (never negative usage). */
function asSeconds(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

export async function monthUsageByAggregation(uid: string, month: UtcMonth, db: Firestore = firestore()): Promise<number> {
  const snapshot = await monthQuery(db, uid, month).aggregate({ seconds: AggregateField.sum(usageField) }).get();
  // Firestore's sum ignores non-numeric values; a negative stored value would still count, so clamp the total.
  return Math.max(0, Math.round(asSeconds(snapshot.data().seconds)));
}

export async function monthUsageByScan(uid: string, month: UtcMonth, db: Firestore = firestore()): Promise<number> {
  const snapshot = await monthQuery(db, uid, month).select(usageField).get();
  let total = 0;
  for (const doc of snapshot.docs) total += asSeconds(doc.get(usageField));
  return Math.round(total);
}

const grpcUnimplemented = 12;
let aggregationUnsupported = false;

/** This month's usage in seconds: the aggregation, or the scan where the server has no aggregations. */
export async function monthUsageSeconds(uid: string, month: UtcMonth): Promise<{ seconds: number; method: SumMethod }> {
  if (!aggregationUnsupported) {
    try {
      return { seconds: await monthUsageByAggregation(uid, month), method: "aggregation" };
    } catch (error) {
      if ((error as { code?: unknown }).code !== grpcUnimplemented) throw error;
      aggregationUnsupported = true;
      logs.aggregationUnsupported();
    }
  }
  return { seconds: await monthUsageByScan(uid, month), method: "scan" };
}
