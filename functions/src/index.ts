/**
 * Wiring only: global options and one-line wrappers around plain handlers.
 */
import { setGlobalOptions } from "firebase-functions";
import { onDocumentWritten } from "firebase-functions/firestore";
import { onCall, onRequest } from "firebase-functions/https";
import { disableAppHandler, enableAppHandler, getAvailableAppsHandler } from "./apps/callables";
import { addTesterHandler, grantTesterAppAccessHandler, removeTesterHandler, revokeTesterAppAccessHandler } from "./apps/testers-admin";
import { onAppWrittenHandler, onTesterWrittenHandler } from "./apps/triggers";
import { appCheckEnforced, stripeWebhookSecret, upstashRedisRestToken } from "./config";
import { getCreditsHandler } from "./credits/get-credits";
import { recordTranscriptionUsageHandler } from "./credits/usage";
import { atEdge } from "./errors";
import { instanceRuntime, meteredAs } from "./instance/runtime";
import { getMentorNotificationFrequencyHandler, setMentorNotificationFrequencyHandler } from "./notifications/mentor-frequency";
import { pingHandler } from "./ping";
import { stripeWebhookHandler } from "./stripe/webhook";
import { cacheStatsHandler } from "./telemetry/stats-endpoint";
import { onUserWrittenHandler } from "./users/user-written";

// The Redis token is bound once, for every function (all but ping reach Redis). A function's own
// `secrets` option replaces this list rather than adding to it: stripeWebhook repeats the token.
setGlobalOptions({ region: "us-central1", maxInstances: 20, concurrency: 80, secrets: [upstashRedisRestToken] });

// ENFORCE_APP_CHECK (config.ts): every callable, or none, holds app clients to App Check.
const callable = { enforceAppCheck: appCheckEnforced() };
// Marker bumps are applied once per event, so a failed trigger is safe to retry.
const triggerOptions = { retry: true };

export const ping = onCall(callable, pingHandler);
// cacheStats adds this instance's own figures, taken now, to what the fleet published.
const ownTelemetry = () => instanceRuntime().telemetry;
export const cacheStats = onRequest(meteredAs("cacheStats", cacheStatsHandler(ownTelemetry)));

export const getMentorNotificationFrequency = onCall(callable, atEdge("getMentorNotificationFrequency", getMentorNotificationFrequencyHandler));
export const setMentorNotificationFrequency = onCall(callable, atEdge("setMentorNotificationFrequency", setMentorNotificationFrequencyHandler));

export const getAvailableApps = onCall(callable, atEdge("getAvailableApps", getAvailableAppsHandler));
export const enableApp = onCall(callable, atEdge("enableApp", enableAppHandler));
export const disableApp = onCall(callable, atEdge("disableApp", disableAppHandler));
export const addTester = onCall(callable, atEdge("addTester", addTesterHandler));
export const removeTester = onCall(callable, atEdge("removeTester", removeTesterHandler));
export const grantTesterAppAccess = onCall(callable, atEdge("grantTesterAppAccess", grantTesterAppAccessHandler));
export const revokeTesterAppAccess = onCall(callable, atEdge("revokeTesterAppAccess", revokeTesterAppAccessHandler));

export const recordTranscriptionUsage = onCall(callable, atEdge("recordTranscriptionUsage", recordTranscriptionUsageHandler));
export const getCredits = onCall(callable, atEdge("getCredits", getCreditsHandler));
export const stripeWebhook = onRequest({ secrets: [stripeWebhookSecret, upstashRedisRestToken] }, meteredAs("stripeWebhook", stripeWebhookHandler));

export const onAppWritten = onDocumentWritten({ document: "apps/{appId}", ...triggerOptions }, meteredAs("onAppWritten", onAppWrittenHandler));
export const onTesterWritten = onDocumentWritten({ document: "testers/{uid}", ...triggerOptions }, meteredAs("onTesterWritten", onTesterWrittenHandler));
export const onUserWritten = onDocumentWritten({ document: "users/{uid}", ...triggerOptions }, meteredAs("onUserWritten", onUserWrittenHandler));
