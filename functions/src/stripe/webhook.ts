/**
 * `stripeWebhook`: verify, apply in one transaction, then signal the credit reset.
 *
 * Status codes are what Stripe acts on: 2xx = done (never resent), anything else = resent
 * with backoff for up to 3 days. So: 400 for what no retry can fix (bad signature), 5xx for
 * what a retry can (Firestore or Redis unavailable, a payload we could not read), 200 once
 * the effect is committed AND the credits marker is bumped.
 */
import type { Response } from "express";
import type { Request } from "firebase-functions/https";
import { requiredString, stripeWebhookMaxBodyBytes, stripeWebhookSecret } from "../config";
import { withinDeadline } from "../errors";
import * as logs from "../logs";
import { bumpOncePerChange, stripeChangeKey } from "../redis/change-bumps";
import { scopes } from "../redis/markers";
import { applyEvent } from "./apply";
import { signatureToleranceSeconds, stripeWebhooks } from "./client";
import { effectOf, handledEventTypes, stripeEventSchema } from "./events";

export async function stripeWebhookHandler(req: Request, res: Response): Promise<void> {
  if (req.method !== "POST") {
    res.set("Allow", "POST").status(405).json({ error: "method not allowed" });
    return;
  }
  const maxBytes = stripeWebhookMaxBodyBytes.value();
  const declaredBytes = Number(req.header("content-length") ?? 0);
  const rawBody = req.rawBody;
  if (declaredBytes > maxBytes || (rawBody?.length ?? 0) > maxBytes) {
    res.status(413).json({ error: "payload too large" });
    return;
  }
  const signature = req.header("stripe-signature");
  if (!signature || !rawBody || rawBody.length === 0) {
    res.status(400).json({ error: "missing signature or body" });
    return;
  }

  let verified: unknown;
  try {
    // Over the raw bytes: any re-serialisation would change them and fail the check.
    verified = stripeWebhooks().constructEvent(rawBody, signature, requiredString(stripeWebhookSecret), signatureToleranceSeconds);
  } catch (error) {
    // Neither the header nor the secret is logged.
    logs.stripeSignatureRejected({ reason: (error as { name?: string }).name ?? "error" });
    res.status(400).json({ error: "invalid signature" });
    return;
  }
  const parsedEvent = stripeEventSchema.safeParse(verified);
  if (!parsedEvent.success) {
    logs.stripePayloadNotAnEvent();
    res.status(400).json({ error: "not an event" });
    return;
  }
  const event = parsedEvent.data;
  if (!handledEventTypes.has(event.type)) {
    res.status(200).json({ received: true, handled: false });
    return;
  }

  let outcome;
  try {
    // Bounded: an unreachable Firestore answers 5xx (Stripe retries) instead of a timeout.
    // A transaction that still commits later is found by the retry (one effect per event).
    outcome = await withinDeadline(applyEvent(event, effectOf(event)));
  } catch (error) {
    logs.stripeEventNotApplied({ eventId: event.id, type: event.type, error });
    res.status(500).json({ error: "not applied, retry" });
    return;
  }

  if (outcome.subscriptionWrittenFor !== null) {
    // Also on a redelivery: a previous attempt may have committed and then failed here. Named
    // by the Stripe event the subscription came from, as its users/{uid} trigger names it, so
    // whichever of the two comes second (and any redelivery) bumps nothing.
    const uid = outcome.subscriptionWrittenFor;
    try {
      await bumpOncePerChange("stripeWebhook", stripeChangeKey(uid, outcome.subscriptionEventId ?? event.id), [scopes.credits(uid)]);
    } catch (error) {
      logs.stripeCreditResetNotSignalled({ eventId: event.id, error });
      res.status(503).json({ error: "credit reset not signalled, retry" });
      return;
    }
  }
  logs.stripeEventProcessed({ eventId: event.id, type: event.type, result: outcome.result, duplicate: outcome.duplicate });
  res.status(200).json({ received: true, result: outcome.result, duplicate: outcome.duplicate });
}
