/**
 * Signed Stripe webhook events, with Stripe's own signing helper: for the specs, the benchmark,
 * `npm run demo` and the one-event command (test/support/stripe.ts).
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { stripeWebhooks } from "../../functions/src/stripe/client";
import type { Instance } from "./instance";
import { localStripePriceId, localStripeWebhookSecret } from "../stack/local-stripe";

let eventCounter = 0;
export const newEventId = () => `evt_test_${randomUUID().replace(/-/g, "")}_${++eventCounter}`;
export const newCustomerId = () => `cus_${randomUUID().replace(/-/g, "").slice(0, 14)}`;
export const nowS = () => Math.floor(Date.now() / 1000);

export interface SubscriptionEventOptions {
  type?: "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted";
  id?: string;
  created?: number;
  subscriptionId?: string;
  customer: string;
  status?: string;
  priceId?: string;
  uid?: string;
  periodEndS?: number;
}

/** A subscription event shaped like the current Stripe API (period end on the items). */
export function subscriptionEvent(options: SubscriptionEventOptions) {
  const periodEndS = options.periodEndS ?? nowS() + 30 * 86400;
  return {
    id: options.id ?? newEventId(),
    object: "event",
    type: options.type ?? "customer.subscription.updated",
    created: options.created ?? nowS(),
    livemode: false,
    data: {
      object: {
        id: options.subscriptionId ?? "sub_test_1",
        object: "subscription",
        customer: options.customer,
        status: options.status ?? "active",
        cancel_at_period_end: false,
        metadata: options.uid ? { uid: options.uid } : {},
        items: {
          object: "list",
          data: [
            {
              id: "si_1",
              object: "subscription_item",
              price: { id: options.priceId ?? localStripePriceId("pro"), object: "price" },
              current_period_end: periodEndS,
            },
          ],
        },
      },
    },
  };
}

export function checkoutCompletedEvent(options: { uid: string; customer: string; created?: number }) {
  return {
    id: newEventId(),
    object: "event",
    type: "checkout.session.completed",
    created: options.created ?? nowS(),
    data: {
      object: {
        id: `cs_${randomUUID()}`,
        object: "checkout.session",
        mode: "subscription",
        customer: options.customer,
        client_reference_id: options.uid,
        subscription: "sub_x",
      },
    },
  };
}

/** Signed with the secret the local stack gives its functions unless `secret` says otherwise. */
export function signatureHeader(payload: string, options: { secret?: string; timestamp?: number } = {}): string {
  return stripeWebhooks().generateTestHeaderString({ payload, secret: options.secret ?? localStripeWebhookSecret, timestamp: options.timestamp });
}

/** POSTs `event` to the instance's stripeWebhook, signed unless told otherwise. */
export async function sendEvent(
  on: Instance,
  event: unknown,
  options: { secret?: string; timestamp?: number; header?: string | null; body?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = JSON.stringify(event, null, 2);
  const headers: Record<string, string> = { "content-type": "application/json" };
  const header = options.header === undefined ? signatureHeader(payload, options) : options.header;
  if (header !== null) headers["stripe-signature"] = header;
  const response = await on.request("stripeWebhook", { method: "POST", headers, body: options.body ?? payload });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The webhook secret `npm start` wrote to functions/.secret.local, if it ran. */
export function localSuiteSecret(): string | undefined {
  const file = path.join(__dirname, "../../functions/.secret.local");
  if (!existsSync(file)) return undefined;
  return /^STRIPE_WEBHOOK_SECRET=(.*)$/m.exec(readFileSync(file, "utf8"))?.[1]?.trim();
}
