/**
 * Wiring only: global options and one-line wrappers around plain handlers.
 */
import { setGlobalOptions } from "firebase-functions";
import { onDocumentWritten } from "firebase-functions/firestore";
import { onCall, onRequest } from "firebase-functions/https";
import { disableAppHandler, enableAppHandler, getAvailableAppsHandler } from "./apps/callables";
import { addTesterHandler, grantTesterAppAccessHandler, removeTesterHandler, revokeTesterAppAccessHandler } from "./apps/testers-admin";
import { onAppWrittenHandler, onTesterWrittenHandler } from "./apps/triggers";
import { cacheStatsHandler } from "./cache/stats-endpoint";
import { appCheckEnforced, stripeWebhookSecret, upstashRedisRestToken } from "./config";
import { getCreditsHandler } from "./credits/get-credits";
import { recordTranscriptionUsageHandler } from "./credits/usage";
import { atEdge } from "./errors";
import { getMentorNotificationFrequencyHandler, setMentorNotificationFrequencyHandler } from "./notifications/mentor-frequency";
import { pingHandler } from "./ping";
import { stripeWebhookHandler } from "./stripe/webhook";
import { onUserWrittenHandler } from "./users/user-written";

setGlobalOptions({ region: "us-central1", maxInstances: 20, concurrency: 80 });

// ENFORCE_APP_CHECK (config.ts): every callable, or none, holds app clients to App Check.
const callable = { enforceAppCheck: appCheckEnforced() };
const withRedis = { secrets: [upstashRedisRestToken] };
const callableWithRedis = { ...callable, ...withRedis };
// Marker bumps are applied once per event, so a failed trigger is safe to retry.
const triggerOptions = { ...withRedis, retry: true };

export const ping = onCall(callable, pingHandler);
export const cacheStats = onRequest(withRedis, cacheStatsHandler);

export const getMentorNotificationFrequency = onCall(callableWithRedis, atEdge("getMentorNotificationFrequency", getMentorNotificationFrequencyHandler));
export const setMentorNotificationFrequency = onCall(callableWithRedis, atEdge("setMentorNotificationFrequency", setMentorNotificationFrequencyHandler));

export const getAvailableApps = onCall(callableWithRedis, atEdge("getAvailableApps", getAvailableAppsHandler));
export const enableApp = onCall(callableWithRedis, atEdge("enableApp", enableAppHandler));
export const disableApp = onCall(callableWithRedis, atEdge("disableApp", disableAppHandler));
export const addTester = onCall(callableWithRedis, atEdge("addTester", addTesterHandler));
export const removeTester = onCall(callableWithRedis, atEdge("removeTester", removeTesterHandler));
export const grantTesterAppAccess = onCall(callableWithRedis, atEdge("grantTesterAppAccess", grantTesterAppAccessHandler));
export const revokeTesterAppAccess = onCall(callableWithRedis, atEdge("revokeTesterAppAccess", revokeTesterAppAccessHandler));

export const recordTranscriptionUsage = onCall(callableWithRedis, atEdge("recordTranscriptionUsage", recordTranscriptionUsageHandler));
export const getCredits = onCall(callableWithRedis, atEdge("getCredits", getCreditsHandler));
export const stripeWebhook = onRequest({ secrets: [stripeWebhookSecret, upstashRedisRestToken] }, stripeWebhookHandler);

export const onAppWritten = onDocumentWritten({ document: "apps/{appId}", ...triggerOptions }, onAppWrittenHandler);
export const onTesterWritten = onDocumentWritten({ document: "testers/{uid}", ...triggerOptions }, onTesterWrittenHandler);
export const onUserWritten = onDocumentWritten({ document: "users/{uid}", ...triggerOptions }, onUserWrittenHandler);
