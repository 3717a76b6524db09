/**
 * From a verified Stripe event to what it means for us. Payloads are parsed with our own
 * schemas (loose: only the fields we use), not the SDK's types, so an API-version change that
 * moves a field (as `current_period_end` moved to subscription items) is handled, not assumed.
 */
import * as logs from "../logs";
import { z } from "zod";
import { idSchema } from "../apps/model";
import { Plan, pricePlans, storedSubscriptionSchema, SubscriptionState } from "../credits/plans";

const idOrObject = z.union([z.string(), z.looseObject({ id: z.string() })]).transform((v) => (typeof v === "string" ? v : v.id));
const metadataSchema = z.record(z.string(), z.string()).nullish();

export const stripeEventSchema = z.looseObject({
  id: z.string().min(1).max(255),
  type: z.string(),
  created: z.number().int(),
  data: z.looseObject({ object: z.looseObject({}) }),
});
export type StripeEvent = z.infer<typeof stripeEventSchema>;

const subscriptionSchema = z.looseObject({
  id: z.string(),
  customer: idOrObject,
  status: z.string(),
  metadata: metadataSchema,
  cancel_at_period_end: z.boolean().nullish(),
  current_period_end: z.number().nullish(),
  items: z.looseObject({
    data: z.array(z.looseObject({ price: z.looseObject({ id: z.string() }).nullish(), current_period_end: z.number().nullish() })),
  }),
});

const scheduleSchema = z.looseObject({
  id: z.string(),
  customer: idOrObject,
  subscription: idOrObject.nullish(),
  end_behavior: z.string().nullish(),
  metadata: metadataSchema,
});

const checkoutSessionSchema = z.looseObject({
  id: z.string(),
  mode: z.string().nullish(),
  customer: idOrObject.nullish(),
  client_reference_id: z.string().nullish(),
  metadata: metadataSchema,
});

export type { SubscriptionState };

const orderingGuardSchema = storedSubscriptionSchema.pick({ stripe_event_created: true, stripe_event_rank: true }).partial({ stripe_event_rank: true });
const subscriptionIdentitySchema = storedSubscriptionSchema.pick({ stripe_subscription_id: true, status: true });

/**
 * Stripe's `created` has one-second resolution and a subscription's `created` and first
 * `updated` usually share a second: within a second, the later lifecycle step wins.
 */
const eventRank: Record<string, number> = {
  "customer.subscription.created": 0,
  "customer.subscription.updated": 1,
  "subscription_schedule.completed": 1,
  "subscription_schedule.canceled": 2,
  "customer.subscription.deleted": 2,
};

/** Whether `candidate` may overwrite `stored` (stored state written by an older or same-time event). */
export function isNewer(candidate: Pick<SubscriptionState, "stripe_event_created" | "stripe_event_rank">, stored: unknown): boolean {
  const parsed = orderingGuardSchema.safeParse(stored);
  if (!parsed.success) return true;
  const { stripe_event_created: created, stripe_event_rank: rank = 0 } = parsed.data;
  if (candidate.stripe_event_created !== created) return candidate.stripe_event_created > created;
  return candidate.stripe_event_rank >= rank;
}

/**
 * A late "this subscription ended" for subscription A must not end subscription B that the
 * user took out since (resubscribe): only an active state may replace another subscription's.
 */
export function endsAnotherSubscription(candidate: SubscriptionState, stored: unknown): boolean {
  const parsed = subscriptionIdentitySchema.safeParse(stored);
  if (!parsed.success) return false;
  return candidate.status === "inactive" && parsed.data.status === "active" && parsed.data.stripe_subscription_id !== candidate.stripe_subscription_id;
}

const planOrder: Record<Plan, number> = { basic: 0, pro: 1, unlimited: 2 };
const entitledStatuses = new Set(["active", "trialing"]);

function uidFromMetadata(metadata: Record<string, string> | null | undefined): string | null {
  const uid = metadata?.uid ?? metadata?.firebase_uid;
  return uid !== undefined && idSchema.safeParse(uid).success ? uid : null;
}

/** What an event asks us to do. */
export type EventEffect =
  | { kind: "subscription"; customerId: string; metadataUid: string | null; state: SubscriptionState }
  | { kind: "link"; customerId: string; uid: string }
  | { kind: "none"; reason: string };

export const handledEventTypes = new Set([
  "checkout.session.completed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "subscription_schedule.completed",
  "subscription_schedule.canceled",
]);

/** Thrown when a handled event's payload lacks what we need (answered 5xx: fix, then Stripe's retry succeeds). */
export class UnexpectedEventPayloadError extends Error {
  constructor(eventType: string, detail: string) {
    super(`${eventType}: unexpected payload (${detail})`);
    this.name = "UnexpectedEventPayloadError";
  }
}

function parseObject<S extends z.ZodType>(schema: S, event: StripeEvent): z.infer<S> {
  const parsed = schema.safeParse(event.data.object);
  if (!parsed.success) throw new UnexpectedEventPayloadError(event.type, parsed.error.issues[0]?.path.join(".") ?? "?");
  return parsed.data;
}

function guard(event: StripeEvent) {
  return { stripe_event_id: event.id, stripe_event_created: event.created, stripe_event_rank: eventRank[event.type] ?? 1 };
}

export function subscriptionState(event: StripeEvent, sub: z.infer<typeof subscriptionSchema>): SubscriptionState {
  const plans = pricePlans();
  const priceIds = sub.items.data.map((item) => item.price?.id).filter((id): id is string => typeof id === "string");
  const periodEnds = sub.items.data.map((item) => item.current_period_end).filter((s): s is number => typeof s === "number");
  const periodEnd = sub.current_period_end ?? (periodEnds.length > 0 ? Math.max(...periodEnds) : null);
  const entitled = event.type !== "customer.subscription.deleted" && entitledStatuses.has(sub.status);
  let pricedPlan: Plan = "basic";
  let priceId: string | null = priceIds[0] ?? null;
  for (const id of priceIds) {
    const mapped = plans.get(id);
    if (mapped && planOrder[mapped] > planOrder[pricedPlan]) {
      pricedPlan = mapped;
      priceId = id;
    }
  }
  const plan: Plan = entitled ? pricedPlan : "basic";
  const unknownPrice = entitled && priceIds.every((id) => !plans.has(id));
  if (unknownPrice) {
    // Documented behaviour: never grant a plan we cannot name; the user stays basic until the
    // map is fixed and the subscription is updated (or the event is resent).
    logs.stripeUnknownPrice({ eventId: event.id, subscriptionId: sub.id, priceIds });
  }
  return {
    plan,
    status: entitled ? "active" : "inactive",
    current_period_end: periodEnd,
    stripe_subscription_id: sub.id,
    current_price_id: priceId,
    cancel_at_period_end: sub.cancel_at_period_end ?? false,
    stripe_status: event.type === "customer.subscription.deleted" ? "canceled" : sub.status,
    ...guard(event),
    ...(unknownPrice ? { unknown_price: true } : {}),
  };
}

/** The meaning of a verified event. */
export function effectOf(event: StripeEvent): EventEffect {
  switch (event.type) {
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted": {
      const sub = parseObject(subscriptionSchema, event);
      return { kind: "subscription", customerId: sub.customer, metadataUid: uidFromMetadata(sub.metadata), state: subscriptionState(event, sub) };
    }
    case "subscription_schedule.completed":
    case "subscription_schedule.canceled": {
      const schedule = parseObject(scheduleSchema, event);
      // Cancelling a schedule cancels its subscription; a completed schedule ends it only with
      // end_behavior "cancel" ("release" leaves the subscription running on its own events).
      const ends = event.type === "subscription_schedule.canceled" || schedule.end_behavior === "cancel";
      if (!ends || !schedule.subscription) return { kind: "none", reason: "schedule released its subscription" };
      return {
        kind: "subscription",
        customerId: schedule.customer,
        metadataUid: uidFromMetadata(schedule.metadata),
        state: {
          plan: "basic",
          status: "inactive",
          current_period_end: null,
          stripe_subscription_id: schedule.subscription,
          current_price_id: null,
          cancel_at_period_end: false,
          stripe_status: "canceled",
          ...guard(event),
        },
      };
    }
    case "checkout.session.completed": {
      const session = parseObject(checkoutSessionSchema, event);
      const uid = session.client_reference_id ?? uidFromMetadata(session.metadata);
      if (!session.customer || !uid || !idSchema.safeParse(uid).success) {
        return { kind: "none", reason: "checkout session without a customer or a uid" };
      }
      return { kind: "link", customerId: session.customer, uid };
    }
    default:
      return { kind: "none", reason: "event type not handled" };
  }
}
