/**
 * Wiring only: global options and one-line wrappers around plain handlers.
 */
import { setGlobalOptions } from "firebase-functions/v2";
import { onCall } from "firebase-functions/v2/https";
import { ping as pingHandler } from "./ping";

setGlobalOptions({ region: "us-central1", maxInstances: 20, concurrency: 80 });

export const ping = onCall(pingHandler);
