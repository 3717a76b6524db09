/**
 * One command to send a signed test event to a running webhook (the local suite or any URL):
 *   npx ts-node --transpile-only test/support/stripe.ts <webhook-url> <uid> [price-id] [status]
 * Signs with STRIPE_WEBHOOK_SECRET, else the one `npm start` wrote to functions/.secret.local,
 * else the local stack's default. The events and signing: scripts/lib/stripe-events.ts.
 */
import { localStripeWebhookSecret } from "../../scripts/start";
import { localSuiteSecret, signatureHeader, subscriptionEvent } from "../../scripts/lib/stripe-events";

async function main(argv: string[]): Promise<void> {
  const [url, uid, priceId = "price_pro_monthly", status = "active"] = argv;
  if (!url || !uid) {
    console.error("usage: test/support/stripe.ts <webhook-url> <uid> [price-id] [status]");
    process.exitCode = 2;
    return;
  }
  const event = subscriptionEvent({ customer: `cus_local_${uid.slice(0, 20)}`, uid, priceId, status, subscriptionId: `sub_local_${uid.slice(0, 20)}` });
  const payload = JSON.stringify(event);
  const secret = process.env.STRIPE_WEBHOOK_SECRET || localSuiteSecret() || localStripeWebhookSecret;
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": signatureHeader(payload, { secret }) },
    body: payload,
  });
  console.log(`${event.type} ${event.id} → ${response.status} ${await response.text()}`);
}

if (require.main === module) void main(process.argv.slice(2));
