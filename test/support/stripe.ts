/**
 * One command to send a signed test event to a running webhook (the local suite or any URL):
 *   npx ts-node --transpile-only test/support/stripe.ts <webhook-url> <uid> [price-id] [status]
 * Signs with STRIPE_WEBHOOK_SECRET, else the one `npm start` wrote to functions/.secret.local,
 * else the local stack's default. The events and signing: scripts/harness/stripe-events.ts.
 */
import { parseArgs } from "node:util";
import { localStripePriceId, localStripeWebhookSecret } from "../../scripts/stack/local-stripe";
import { localSuiteSecret, signatureHeader, subscriptionEvent } from "../../scripts/harness/stripe-events";

const usage = "usage: test/support/stripe.ts <webhook-url> <uid> [price-id] [status]";

/** The positional arguments, or undefined when they do not fit the usage. */
function parseCommandLine(argv: string[]): string[] | undefined {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true }).positionals;
  } catch {
    return undefined; // an option: this command takes none
  }
}

async function main(argv: string[]): Promise<void> {
  const [url, uid, priceId = localStripePriceId("pro"), status = "active"] = parseCommandLine(argv) ?? [];
  if (!url || !uid) {
    console.error(usage);
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
