/**
 * Every param and secret of the suite. Values are read at call time (never at import), so
 * deploy-time analysis never touches them and tests can set them through the environment.
 */
import { defineBoolean, defineInt, defineSecret, defineString } from "firebase-functions/params";

type IntParam = ReturnType<typeof defineInt>;
type BooleanParam = ReturnType<typeof defineBoolean>;

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
/**
 * Hold app clients to App Check: every callable refuses a request without a valid App Check
 * token (`unauthenticated`). Off by default and always off on the emulator (no App Check
 * there); docs/operations.md says how to turn it on in production.
 */
export const enforceAppCheck = defineBoolean("ENFORCE_APP_CHECK", {
  default: false,
  description: "Reject callable requests without a valid App Check token (true once every app client sends one)",
});
export const stripePricePlans = defineString("STRIPE_PRICE_PLANS", {
  default: "{}",
  description: 'JSON map of Stripe price id to plan, e.g. {"price_123":"pro"}',
});

/**
 * An int param's value at call time, with its declared default. Deploy and the emulator
 * resolve params into the environment (the emulator writes them to functions/.env.local), but
 * code loaded in-process (specs, scripts, bench) sees an unset variable, and there
 * `param.value()` answers 0 rather than the default (IntParam.runtimeValue is
 * `parseInt(process.env[name] || "0") || 0`, which also turns a malformed value into 0).
 * So this reads the variable itself: the default when unset, an error when not an integer.
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

/** A boolean param's value at call time, with its declared default (like `intParam`). */
export function booleanParam(param: BooleanParam): boolean {
  const raw = process.env[param.name];
  if (raw === undefined || raw === "") {
    const fallback = param.options.default;
    if (typeof fallback !== "boolean") throw new Error(`${param.name} is not set and has no default`);
    return fallback;
  }
  if (raw !== "true" && raw !== "false") throw new Error(`${param.name} must be true or false, got ${JSON.stringify(raw)}`);
  return raw === "true";
}

/**
 * Whether callables enforce App Check. Read once, when index.ts defines the callables:
 * firebase-functions takes `enforceAppCheck` at definition, not per call (a deployed
 * instance's environment is fixed, so nothing is lost). Read from the environment rather
 * than with `.value()`, which warns when deploy analysis loads the code. Never on the
 * emulator, which has no App Check to verify tokens against.
 */
export function appCheckEnforced(): boolean {
  if (process.env.FUNCTIONS_EMULATOR === "true") return false;
  return booleanParam(enforceAppCheck);
}

export function requiredString(param: { name: string; value(): string }): string {
  const value = param.value();
  if (!value) throw new Error(`${param.name} is not set`);
  return value;
}
