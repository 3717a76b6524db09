/**
 * Packages as the functions codebase resolves them (functions/node_modules), so test-only
 * code shares one copy of each with the code under test.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type * as HttpsV2 from "../../functions/node_modules/firebase-functions/lib/v2/providers/https";

const requireFromFunctions = createRequire(path.join(__dirname, "../../functions/package.json"));

export const httpsV2 = requireFromFunctions("firebase-functions/v2/https") as typeof HttpsV2;
