/**
 * Wiring only: global options and one-line wrappers around plain handlers.
 */
import { setGlobalOptions } from "firebase-functions/v2";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { onCall, onRequest } from "firebase-functions/v2/https";
import { disableApp as disableAppHandler, enableApp as enableAppHandler, getAvailableApps as getAvailableAppsHandler } from "./apps/callables";
import {
  addTester as addTesterHandler,
  grantTesterAppAccess as grantTesterAppAccessHandler,
  removeTester as removeTesterHandler,
  revokeTesterAppAccess as revokeTesterAppAccessHandler,
} from "./apps/testers-admin";
import { onAppWrittenHandler, onTesterWrittenHandler } from "./apps/triggers";
import { cacheStats as cacheStatsHandler } from "./cache/stats-endpoint";
import { appCheckEnforced, stripeWebhookSecret, upstashRedisRestToken } from "./config";
import { getCredits as getCreditsHandler } from "./credits/get-credits";
import { recordTranscriptionUsage as recordTranscriptionUsageHandler } from "./credits/usage";
import { atEdge } from "./errors";
import {
  getMentorNotificationFrequency as getMentorFrequencyHandler,
  setMentorNotificationFrequency as setMentorFrequencyHandler,
} from "./notifications/mentor-frequency";
import { ping as pingHandler } from "./ping";
import { stripeWebhook as stripeWebhookHandler } from "./stripe/webhook";
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

export const getMentorNotificationFrequency = onCall(callableWithRedis, atEdge("getMentorNotificationFrequency", getMentorFrequencyHandler));
export const setMentorNotificationFrequency = onCall(callableWithRedis, atEdge("setMentorNotificationFrequency", setMentorFrequencyHandler));

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
