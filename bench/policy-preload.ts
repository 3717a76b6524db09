/**
 * Loaded (`node -r`) by the instance processes of the `none` and `reference` bench runs before
 * the functions: every cache the functions create is then built by that policy's factory, and
 * the credits path gets a ledger that keeps no fleet figure (`noFleetLedger`).
 */
import { configureInstance } from "../functions/src/instance/runtime";
import { benchPolicyEnv, cacheFactoryFor, noFleetLedger, parsePolicy } from "./policies";

const policy = parsePolicy(process.env[benchPolicyEnv]);
if (policy === "ours") throw new Error("bench/policy-preload.ts: the ours run loads no preload (it runs the deployed code as it is)");
configureInstance({ cacheFactory: cacheFactoryFor(policy), usageLedger: noFleetLedger });
