/**
 * Every log line the suite writes, one named function per event (the pattern of the Stripe
 * Firebase extension's logs.ts). Each line is structured (firebase-functions' logger writes
 * JSON that Cloud Logging files under `jsonPayload`) and carries a stable `event` field, the
 * key the log-based metrics and alerts of docs/operations.md filter on: rename an event and
 * those break. Never pass a token, a secret or a signature header here; uids are fine.
 */
import * as logger from "firebase-functions/logger";
import { errorMessage } from "./error-message";

type Fields = Record<string, unknown>;

/**
 * An error as a log field: @upstash/redis puts the whole failed command in its message (a
 * marker poll names every key it reads, a stats publish carries its snapshot), which made
 * one line tens of kilobytes. The start says what failed.
 */
const maxLoggedErrorChars = 500;
function loggedError(error: unknown): string {
  const message = errorMessage(error);
  return message.length <= maxLoggedErrorChars ? message : `${message.slice(0, maxLoggedErrorChars)}… (${message.length} characters)`;
}

// ---------------------------------------------------------------------------------------
// Cache coherence and its figures (telemetry/cache-telemetry.ts, instance/redis-marker-reader.ts, telemetry/stats-endpoint.ts)

/** Markers could not be read (at most once a minute per instance while it lasts). */
export function markersUnreadable(error: unknown, fields: { failedReadsSinceLastLine: number }): void {
  logger.warn("Invalidation markers unreadable: tester-derived data is read from Firestore, the rest served within its short bound (30 s; credits 15 min)", {
    event: "marker_read_failed",
    error: loggedError(error),
    ...fields,
  });
}

export function markersReadableAgain(fields: { unreadableMs: number }): void {
  logger.info("Invalidation markers readable again", { event: "marker_read_recovered", ...fields });
}

/**
 * Tester-derived data read from Firestore because markers could not be read (fail closed;
 * at most once a minute per instance, with the count since the previous line).
 */
export function failClosedBypasses(fields: { caches: string[]; bypassesSinceLastLine: number }): void {
  logger.warn("Tester-derived data read from Firestore: markers unreadable (fail closed)", { event: "fail_closed_bypass", ...fields });
}

/**
 * Stale serving: an instance could answer from the old version of some data more than the
 * contract's 2 s after its marker write.
 */
export function freshnessPromiseMissed(fields: { family: string; delayMs: number; promiseMs: number; lateChangesSinceLastLine: number }): void {
  logger.warn("Stale serving: a change reached this instance later than the freshness promise", { event: "stale_serving", ...fields });
}

/** The metric-friendly line: this instance's cache figures, every few minutes. */
export function cacheFigures(fields: Fields): void {
  logger.info("Cache figures", { event: "cache_figures", ...fields });
}

/** This instance's once-a-minute stats snapshot did not reach Redis (cacheStats misses it). */
export function cacheStatsPublishFailed(error: unknown): void {
  logger.warn("Cache stats snapshot not published", { event: "cache_stats_publish_failed", error: loggedError(error) });
}

export function cacheStatsTokenRejected(error: unknown): void {
  logger.info("cacheStats: rejected ID token", { event: "cache_stats_token_rejected", error: loggedError(error) });
}

export function cacheStatsUnavailable(error: unknown): void {
  logger.warn("cacheStats: fleet snapshots unreadable (Redis)", { event: "cache_stats_unavailable", error: loggedError(error) });
}

// ---------------------------------------------------------------------------------------
// Triggers (apps/triggers.ts, users/user-written.ts)

/**
 * A change's markers were bumped already (by the writer, or by an earlier delivery of its
 * trigger): nothing bumped again.
 */
export function changeAlreadyBumped(fields: { source: string; changeKey: string }): void {
  logger.info("Change already bumped; nothing bumped again", { event: "change_already_bumped", ...fields });
}

/** A callable's own bump after its commit failed: the change's trigger bumps instead (later). */
export function directBumpFailed(fields: { source: string; changeKey: string; error: unknown }): void {
  logger.warn("Marker bump after a commit failed; the trigger will bump", { event: "direct_bump_failed", ...fields, error: loggedError(fields.error) });
}

// ---------------------------------------------------------------------------------------
// Callables (errors.ts)

export function callableDependencyUnavailable(fields: { callable: string; error: unknown }): void {
  logger.warn(`${fields.callable}: dependency unavailable`, { event: "callable_unavailable", callable: fields.callable, error: loggedError(fields.error) });
}

export function callableFailed(fields: { callable: string; error: unknown }): void {
  const { callable, error } = fields;
  logger.error(`${callable} failed`, {
    event: "callable_failed",
    callable,
    error: loggedError(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
}

// ---------------------------------------------------------------------------------------
// Apps and mentor frequency

/** Enrichment (enabled, installs) unreadable (at most once a minute per instance). */
export function enrichmentUnavailable(error: unknown, fields: { failuresSinceLastLine: number }): void {
  logger.warn("App enrichment unavailable (Redis): serving apps with enabled=false and last known install counts", {
    event: "enrichment_unavailable",
    error: loggedError(error),
    ...fields,
  });
}

export function invalidStoredMentorFrequency(fields: { uid: string; stored: string }): void {
  logger.warn("Stored mentor notification frequency is invalid; serving the default", { event: "invalid_mentor_frequency", ...fields });
}

// ---------------------------------------------------------------------------------------
// Credits

/**
 * The fleet's credit figure (credits/ledger.ts) could not be read or moved: this instance
 * answers from the figure it knew plus its own reports, and rebuilds from Firestore once
 * markers read again. At most once a minute per instance.
 */
export function creditLedgerUnavailable(fields: { uid: string; error: unknown; failuresSinceLastLine: number }): void {
  logger.warn("Fleet credit figure unreachable: answering from this instance's figure plus its own reports until Redis is back", {
    event: "credit_ledger_unavailable",
    ...fields,
    error: loggedError(fields.error),
  });
}

/**
 * A usage report refused: its reportId was stored for a report with other content. An app
 * that reuses ids would otherwise lose usage; the line names the fields that differ.
 */
export function usageReportIdReused(fields: { uid: string; reportId: string; differs: string[] }): void {
  logger.warn("Usage report refused: its reportId was already used for another report", { event: "usage_report_id_reused", ...fields });
}

/** At most once a minute per instance. */
export function thresholdDecidedLocally(fields: { uid: string; error: unknown; failuresSinceLastLine: number }): void {
  logger.warn("Freemium threshold key unwritable; deciding on this instance", {
    event: "threshold_decided_locally",
    ...fields,
    error: loggedError(fields.error),
  });
}

export function malformedSubscription(fields: { uid?: string }): void {
  logger.warn("Stored subscription is malformed; counting it as basic", { event: "malformed_subscription", ...fields });
}

// ---------------------------------------------------------------------------------------
// Stripe webhook (stripe/webhook.ts, stripe/events.ts)

export function stripeSignatureRejected(fields: { reason: string }): void {
  logger.warn("Stripe webhook signature rejected", { event: "stripe_signature_rejected", httpStatus: 400, ...fields });
}

export function stripePayloadNotAnEvent(): void {
  logger.error("Signed Stripe payload is not an event", { event: "stripe_payload_not_an_event", httpStatus: 400 });
}

export function stripeUnknownPrice(fields: { eventId: string; subscriptionId: string; priceIds: string[] }): void {
  logger.error("Active Stripe subscription has no price in STRIPE_PRICE_PLANS; treating it as basic", { event: "stripe_unknown_price", ...fields });
}

/** 5xx: the event's effect was not committed; Stripe retries. */
export function stripeEventNotApplied(fields: { eventId: string; type: string; error: unknown }): void {
  logger.error("Stripe event not applied; answering 5xx so Stripe retries", {
    event: "stripe_webhook_5xx",
    reason: "not_applied",
    httpStatus: 500,
    eventId: fields.eventId,
    type: fields.type,
    error: loggedError(fields.error),
  });
}

/** 5xx: the effect is committed but the credits marker was not bumped; Stripe's retry bumps it. */
export function stripeCreditResetNotSignalled(fields: { eventId: string; error: unknown }): void {
  logger.error("Credits marker not bumped after a subscription write; answering 5xx so Stripe retries", {
    event: "stripe_webhook_5xx",
    reason: "marker_not_bumped",
    httpStatus: 503,
    eventId: fields.eventId,
    error: loggedError(fields.error),
  });
}

export function stripeEventProcessed(fields: { eventId: string; type: string; result: string; duplicate: boolean }): void {
  logger.info("Stripe event processed", { event: "stripe_event_processed", httpStatus: 200, ...fields });
}
