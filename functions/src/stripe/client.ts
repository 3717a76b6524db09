/**
 * Stripe for signature checks only. The webhook verifies `Stripe-Signature` and reads the
 * state it needs from the event payload itself; it never calls the Stripe API, so it needs
 * no API key (and no network) - only the webhook secret.
 */
import Stripe from "stripe";

export type StripeWebhooks = typeof Stripe.webhooks;

/** Stripe's webhook helpers (constructEvent, generateTestHeaderString): static, no client or key. */
export function stripeWebhooks(): StripeWebhooks {
  return Stripe.webhooks;
}

/** Stripe's default: a signed timestamp older than this is a replay, rejected. */
export const signatureToleranceSeconds = 300;
