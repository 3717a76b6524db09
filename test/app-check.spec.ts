/**
 * ENFORCE_APP_CHECK (functions/src/config.ts), honoured by every callable index.ts defines:
 * instance processes serving the deployed module with the param on, off, and on under the
 * Functions emulator (which has no App Check, so it stays off there). App Check tokens here
 * are unsigned, as the emulator suite's `skipTokenVerification` accepts them; production
 * verifies them with the Admin SDK.
 */
import assert from "node:assert/strict";
import { unsignedIdToken } from "../scripts/harness/id-tokens";
import { Instance, startInstance } from "../scripts/harness/instance";

/** Every callable index.ts exports, with data each accepts without touching its data path. */
const callables: [string, unknown][] = [
  ["ping", {}],
  ["getAvailableApps", { unknownField: 1 }],
  ["enableApp", {}],
  ["disableApp", {}],
  ["getMentorNotificationFrequency", { unknownField: 1 }],
  ["setMentorNotificationFrequency", { frequency: 99 }],
  ["recordTranscriptionUsage", {}],
  ["getCredits", { unknownField: 1 }],
  ["addTester", {}],
  ["removeTester", {}],
  ["grantTesterAppAccess", {}],
  ["revokeTesterAppAccess", {}],
];

function unsignedAppCheckToken(appId = "1:1234567890:web:demo"): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const nowS = Math.floor(Date.now() / 1000);
  return `${encode({ alg: "none", typ: "JWT" })}.${encode({ sub: appId, iss: "https://firebaseappcheck.googleapis.com/1234567890", iat: nowS, exp: nowS + 3600 })}.unsigned`;
}

async function call(instance: Instance, name: string, data: unknown, appCheck: string | undefined): Promise<{ status: number; code: string | undefined }> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    authorization: `Bearer ${unsignedIdToken("app-check-user", { admin: true })}`,
  };
  if (appCheck) headers["x-firebase-appcheck"] = appCheck;
  const response = await fetch(`${instance.url}/${name}`, { method: "POST", headers, body: JSON.stringify({ data }) });
  const body = (await response.json()) as { error?: { status: string } };
  return { status: response.status, code: body.error?.status };
}

describe("App Check (ENFORCE_APP_CHECK)", function () {
  this.timeout(60_000);
  const started: Instance[] = [];
  after(() => Promise.all(started.map((instance) => instance.stop())));

  async function instanceWith(env: Record<string, string>): Promise<Instance> {
    const instance = await startInstance(env);
    started.push(instance);
    return instance;
  }

  it("on: every callable refuses a request without an App Check token (unauthenticated), and takes one with it", async () => {
    const enforcing = await instanceWith({ ENFORCE_APP_CHECK: "true" });
    for (const [name, data] of callables) {
      assert.deepEqual(await call(enforcing, name, data, undefined), { status: 401, code: "UNAUTHENTICATED" }, `${name} without a token`);
      const withToken = await call(enforcing, name, data, unsignedAppCheckToken());
      assert.notEqual(withToken.code, "UNAUTHENTICATED", `${name} with a token reaches the handler (${JSON.stringify(withToken)})`);
    }
  });

  it("off by default, and off under the Functions emulator even when set", async () => {
    const settings: Record<string, string>[] = [{}, { ENFORCE_APP_CHECK: "true", FUNCTIONS_EMULATOR: "true" }];
    for (const env of settings) {
      const instance = await instanceWith(env);
      for (const [name, data] of callables) {
        const result = await call(instance, name, data, undefined);
        assert.notEqual(result.code, "UNAUTHENTICATED", `${name} with ${JSON.stringify(env)}: ${JSON.stringify(result)}`);
      }
    }
  });
});
