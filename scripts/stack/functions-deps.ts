/**
 * The functions' own packages (functions/node_modules; the root package installs none),
 * loaded the way the functions load them, so scripts, specs and the benchmark share one copy
 * of each with the code under test. Their types come from the same declaration files,
 * through the root tsconfig's `paths`. Loaded on first call: importing this costs nothing.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type * as GoogleCloudFirestore from "@google-cloud/firestore";
import type * as AdminApp from "firebase-admin/app";
import type * as AdminFirestore from "firebase-admin/firestore";
import type * as FunctionsFirestore from "firebase-functions/firestore";
import type * as FunctionsHttps from "firebase-functions/https";
import type * as FunctionsParams from "firebase-functions/params";

const requireFromFunctions = createRequire(path.join(__dirname, "../../functions/package.json"));

export const firebaseAdminApp = () => requireFromFunctions("firebase-admin/app") as typeof AdminApp;
export const firebaseAdminFirestore = () => requireFromFunctions("firebase-admin/firestore") as typeof AdminFirestore;
export const firebaseFunctionsHttps = () => requireFromFunctions("firebase-functions/https") as typeof FunctionsHttps;
export const firebaseFunctionsFirestore = () => requireFromFunctions("firebase-functions/firestore") as typeof FunctionsFirestore;
export const googleCloudFirestore = () => requireFromFunctions("@google-cloud/firestore") as typeof GoogleCloudFirestore;
export const firebaseFunctionsParams = () => requireFromFunctions("firebase-functions/params") as typeof FunctionsParams;
