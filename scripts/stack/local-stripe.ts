/**
 * The local stack's Stripe configuration, the one place the launcher, the seed, the demo, the
 * specs and the benchmark take it from: the price → plan map written to the functions'
 * STRIPE_PRICE_PLANS (production sets its own), and the webhook signing secret.
 */
import type { Plan } from "../../functions/src/credits/plans";

/** A local dev value only (Stripe CLI's `stripe listen` prints a real one; put it in .secret.local). */
export const localStripeWebhookSecret = "whsec_local_dev_only_not_a_real_secret";

/** The demo's Stripe prices (send them with test/support/stripe.ts). */
export const localStripePricePlans = { price_pro_monthly: "pro", price_unlimited_monthly: "unlimited" } as const satisfies Record<string, Plan>;

export type LocalPaidPlan = (typeof localStripePricePlans)[keyof typeof localStripePricePlans];

/** The local price id of a paid plan. */
export function localStripePriceId(plan: LocalPaidPlan): string {
  const entry = Object.entries(localStripePricePlans).find(([, planOfPrice]) => planOfPrice === plan);
  if (!entry) throw new Error(`no local Stripe price for plan ${plan}`);
  return entry[0];
}
