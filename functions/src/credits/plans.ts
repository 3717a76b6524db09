/**
 * Plans and their limits. Limits are configuration (params), not data: only `basic` has a
 * monthly allowance; `pro` and `unlimited` are unlimited while their subscription is valid.
 */
import * as logs from "../logs";
import { z } from "zod";
import { basicPlanTranscriptionSeconds, stripePricePlans } from "../config";

export const planNames = ["basic", "pro", "unlimited"] as const;
export type Plan = (typeof planNames)[number];
export const planSchema = z.enum(planNames);

/** The basic plan's monthly allowance in seconds (a param; read at call time). */
export function basicMonthlySeconds(): number {
  const seconds = basicPlanTranscriptionSeconds.value();
  if (seconds < 0) throw new Error(`${basicPlanTranscriptionSeconds.name} must be >= 0, got ${seconds}`);
  return seconds;
}

/** Monthly allowance of a plan in seconds; `null` = unlimited. */
export function planLimitSeconds(plan: Plan): number | null {
  return plan === "basic" ? basicMonthlySeconds() : null;
}

const pricePlansSchema = z.record(z.string().min(1), planSchema);
let parsedPricePlans: { raw: string; map: ReadonlyMap<string, Plan> } | undefined;

/** The configured Stripe price id → plan map (STRIPE_PRICE_PLANS), parsed once per value. */
export function pricePlans(): ReadonlyMap<string, Plan> {
  const raw = stripePricePlans.value() || "{}";
  if (parsedPricePlans?.raw !== raw) {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new Error(`${stripePricePlans.name} is not valid JSON`);
    }
    const parsed = pricePlansSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${stripePricePlans.name} must map price ids to one of ${planNames.join("/")}`);
    parsedPricePlans = { raw, map: new Map(Object.entries(parsed.data)) };
  }
  return parsedPricePlans.map;
}

/**
 * What `users/{uid}.subscription` holds (and `stripe_pending/{customerId}.state` until the
 * customer is linked): written whole by the Stripe webhook, checked against this schema before
 * every write; read through parts of it (`pick`), so a document that carries only what a reader
 * needs (one written by hand, say) is still read.
 */
export const storedSubscriptionSchema = z.object({
  plan: planSchema,
  status: z.enum(["active", "inactive"]),
  current_period_end: z.number().nullable(),
  stripe_subscription_id: z.string(),
  current_price_id: z.string().nullable(),
  cancel_at_period_end: z.boolean(),
  /** Stripe's own status (active, trialing, past_due, canceled, ...), for support. */
  stripe_status: z.string(),
  /** Ordering guard: the event that wrote this state (see `isNewer` in stripe/events.ts). */
  stripe_event_id: z.string(),
  stripe_event_created: z.number(),
  stripe_event_rank: z.number(),
  /** Set when an active subscription's price is not in STRIPE_PRICE_PLANS. */
  unknown_price: z.boolean().optional(),
});
export type SubscriptionState = z.infer<typeof storedSubscriptionSchema>;

/** The part of a stored subscription that decides the plan. */
const entitlementSchema = storedSubscriptionSchema.pick({ plan: true, status: true, current_period_end: true }).partial({ current_period_end: true });

/**
 * The plan a stored subscription entitles to at `nowS` (unix seconds), and until when.
 * Anything that is not a valid, active paid subscription within its period counts as basic
 * (a user is never granted more than they paid for because of a malformed document).
 */
export function effectivePlan(stored: unknown, nowS: number, uid?: string): { plan: Plan; paidUntilS: number | null } {
  if (stored === undefined || stored === null) return { plan: "basic", paidUntilS: null };
  const parsed = entitlementSchema.safeParse(stored);
  if (!parsed.success) {
    logs.malformedSubscription({ uid });
    return { plan: "basic", paidUntilS: null };
  }
  const { plan, status, current_period_end: periodEndS } = parsed.data;
  if (plan === "basic" || status !== "active" || typeof periodEndS !== "number" || periodEndS <= nowS) {
    return { plan: "basic", paidUntilS: null };
  }
  return { plan, paidUntilS: periodEndS };
}
