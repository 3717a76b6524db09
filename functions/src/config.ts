/**
 * Every param and secret of the suite. Values are read at call time (never at import), so
 * deploy-time analysis never touches them and tests can set them through the environment.
 */
import { defineInt, defineSecret, defineString } from "firebase-functions/params";

type IntParam = ReturnType<typeof defineInt>;

export const upstashRedisRestUrl = defineString("UPSTASH_REDIS_REST_URL", {
  description: "Upstash Redis REST URL (the local gateway's URL on the emulator suite)",
});
export const upstashRedisRestToken = defineSecret("UPSTASH_REDIS_REST_TOKEN");
export const stripeWebhookSecret = defineSecret("STRIPE_WEBHOOK_SECRET");

export const basicPlanTranscriptionSeconds = defineInt("BASIC_PLAN_TRANSCRIPTION_SECONDS", {
  default: 1800,
  description: "Monthly transcription allowance of the basic plan, in seconds",
});
export const stripeWebhookMaxBodyBytes = defineInt("STRIPE_WEBHOOK_MAX_BODY_BYTES", {
  default: 512 * 1024,
  description: "Largest Stripe webhook body accepted, in bytes (Stripe events are far smaller)",
});
export const stripePricePlans = defineString("STRIPE_PRICE_PLANS", {
  default: "{}",
  description: 'JSON map of Stripe price id to plan, e.g. {"price_123":"pro"}',
});

/**
 * An int param's value at call time. Its declared default applies at runtime too: a param's
 * default only reaches process.env on deploy, not on the emulator or in tests.
 */
export function intParam(param: IntParam): number {
  const raw = process.env[param.name];
  if (raw === undefined || raw === "") {
    const fallback = param.options.default;
    if (typeof fallback !== "number") throw new Error(`${param.name} is not set and has no default`);
    return fallback;
  }
  const parsed = Number(raw);
  if (!Number.isInteger(parsed)) throw new Error(`${param.name} must be an integer, got ${JSON.stringify(raw)}`);
  return parsed;
}

export function requiredString(param: { name: string; value(): string }): string {
  const value = param.value();
  if (!value) throw new Error(`${param.name} is not set`);
  return value;
}
