/**
 * Every param and secret of the suite. Values are read at call time (never at import), so
 * deploy-time analysis never touches them and tests can set them through the environment.
 */
import { defineBoolean, defineInt, defineSecret, defineString } from "firebase-functions/params";

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
/**
 * How often each instance re-reads the invalidation markers its caches depend on (one poll
 * command per interval, on the first request after it: redis/poll.ts). Every instance reflects
 * a change within this plus one marker read (which gives up after 800 ms): at most 1,200 ms
 * keeps the contract's 2 s, and `npm run deploy:check` refuses more (cache/settings.ts
 * `maxMarkerPollIntervalMs`). The default is that most: a busy instance's polls are most of
 * its Redis bill (docs/bench.md), and a callable's own change still shows on every instance
 * within 1.2 s of its commit plus the bump's round trip. Shorter is fresher and costs more.
 */
export const markerPollIntervalMsParam = defineInt("MARKER_POLL_INTERVAL_MS", {
  default: 1200,
  description: "How often (ms) each instance re-reads its invalidation markers; freshness bound = this + one Redis round trip (max 1200 for the 2 s promise)",
});
/**
 * How often each instance publishes its cache figures for `cacheStats` (one XADD riding on a
 * marker poll). The contract: at most once a minute in production, the default, and
 * `npm run deploy:check` refuses less. The local stack sets a few seconds, so the demo's own
 * figures show at once.
 */
export const statsPublishIntervalMsParam = defineInt("STATS_PUBLISH_INTERVAL_MS", {
  default: 60_000,
  description: "How often (ms) each instance publishes its cache figures for cacheStats; the contract: at most once a minute (60000 or more)",
});
/** The contract's "at most once a minute" for the stats publish. */
export const minProductionStatsPublishIntervalMs = 60_000;
/**
 * List prices (US dollars per 100,000; Firestore Standard edition, nam5 multi-region, as of
 * 2026-11-25) that each instance weighs a marker poll against a read of the source with
 * (prices.ts), and `cacheStats` estimates each function's daily spend with. Strings: params
 * hold no fractions otherwise.
 */
export const firestoreReadUsdPer100k = defineString("FIRESTORE_READ_USD_PER_100K", {
  default: "0.06",
  description: "Firestore document read price, US dollars per 100,000 (weighed against a marker poll; cacheStats' spend estimate)",
});
export const firestoreWriteUsdPer100k = defineString("FIRESTORE_WRITE_USD_PER_100K", {
  default: "0.18",
  description: "Firestore document write price, US dollars per 100,000 (cacheStats' spend estimate)",
});
/**
 * Upstash Redis pay-as-you-go: $0.20 per 100K commands (Upstash, "Pricing & Billing",
 * https://upstash.com/docs/redis/overall/billing, and https://upstash.com/pricing/redis, as of
 * 2026-12). A pipeline of N commands is N; a script is one, whatever it runs. On a fixed plan
 * (no per-command charge) set it to 0: every instance then polls rather than read a document
 * to spare a command.
 */
export const upstashRedisUsdPer100kCommands = defineString("UPSTASH_REDIS_USD_PER_100K_COMMANDS", {
  default: "0.2",
  description: "Upstash Redis price per 100,000 commands: 0.2 pay-as-you-go, 0 on a fixed plan (weighed against a document read; cacheStats' spend estimate)",
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
 * A boolean param's value read from the environment, with its declared default: only for
 * `appCheckEnforced`, which runs while index.ts defines the callables, where `.value()` would
 * warn during deploy analysis (everything read at call time uses `.value()`: deploy and the
 * emulator resolve params into the environment, and scripts/stack/param-defaults.ts does the
 * same for processes that load the functions themselves).
 */
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
