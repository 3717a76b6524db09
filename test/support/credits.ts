/** Test data for the credits path: users with a subscription and this month's usage. */
import { randomUUID } from "node:crypto";
import { hourlyUsageDocId } from "../../functions/src/credits/time";
import { firestore } from "../../functions/src/firestore";
import { localStripePriceId } from "../../scripts/stack/local-stripe";

export const newUid = (prefix = "credits") => `${prefix}-${randomUUID()}`;
export const userDoc = (uid: string) => firestore().collection("users").doc(uid);
export const usageCol = (uid: string) => userDoc(uid).collection("hourly_usage");

/** Writes `seconds` of usage into one hour document of the UTC month of `at` (default now). */
export async function seedUsage(uid: string, seconds: number, at: Date = new Date(), hour = 0): Promise<void> {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth() + 1;
  const id = hourlyUsageDocId(new Date(Date.UTC(year, month - 1, 1, hour)));
  await usageCol(uid).doc(id).set({ transcription_seconds: seconds, words_transcribed: 0, year, month, day: 1, hour, id });
}

/** An active paid subscription as the webhook writes it, valid for another 30 days. */
export function paidSubscription(plan: "pro" | "unlimited", periodEndS = Math.floor(Date.now() / 1000) + 30 * 86400) {
  return {
    plan,
    status: "active",
    current_period_end: periodEndS,
    stripe_subscription_id: `sub_${randomUUID()}`,
    current_price_id: localStripePriceId(plan),
    cancel_at_period_end: false,
    stripe_event_created: 1,
    stripe_event_rank: 0,
  };
}
