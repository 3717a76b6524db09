/**
 * The usage meter (functions/src/cache/meter.ts) against the read-counting proxy in front of
 * the Firestore emulator: for the same calls of each function, on one instance process, the
 * meter counts exactly the billed reads (and writes) the proxy saw.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { FunctionUsage, noUsage } from "../../functions/src/cache/meter";
import { Instance, startInstance } from "../../scripts/harness/instance";
import { localStripePriceId } from "../../scripts/stack/local-stripe";
import { newCustomerId, sendEvent, subscriptionEvent } from "../../scripts/harness/stripe-events";
import { adminAs, createApp } from "../support/apps";
import { newUid, seedUsage } from "../support/credits";
import { stack, triggersSettled } from "../support/stack";

describe("the usage meter agrees with the proxy", function () {
  this.timeout(60_000);
  let instance: Instance;

  before(async () => {
    const r = randomUUID().slice(0, 8);
    await createApp(`meter-public-${r}`, { uid: `meter-dev-${r}`, approved: true });
    await createApp(`meter-unapproved-${r}`, { uid: `meter-dev-${r}`, approved: false });
    await triggersSettled();
    instance = await startInstance();
  });
  after(async () => {
    await instance?.stop();
  });

  const usageOf = async (name: string): Promise<FunctionUsage> => (await instance.stats()).usage[name] ?? noUsage();

  /** Runs `calls` of `name` and returns what the meter and the proxy counted meanwhile. */
  async function measure(name: string, calls: () => Promise<unknown>) {
    await triggersSettled();
    const before = await usageOf(name);
    stack().reads.reset();
    stack().writes.reset();
    await calls();
    await triggersSettled(); // triggers only bump Redis: they read and write no Firestore
    const after = await usageOf(name);
    return {
      meter: {
        reads: after.reads - before.reads,
        writes: after.writes - before.writes,
        requests: after.requests - before.requests,
        notFound: after.notFoundReads - before.notFoundReads,
      },
      proxy: { reads: stack().reads.total(), writes: stack().writes.total() },
    };
  }

  const callables: [string, () => Promise<unknown>][] = [
    ["getAvailableApps", () => Promise.all([newUid("meter"), newUid("meter")].map((uid) => instance.call("getAvailableApps", {}, { uid })))],
    ["getMentorNotificationFrequency", () => instance.call("getMentorNotificationFrequency", {}, { uid: newUid("meter") })],
    ["setMentorNotificationFrequency", () => instance.call("setMentorNotificationFrequency", { frequency: 3 }, { uid: newUid("meter") })],
    [
      "getCredits",
      async () => {
        const uid = newUid("meter");
        await instance.call("getCredits", {}, { uid });
        await instance.call("getCredits", {}, { uid }); // a hit: no read
      },
    ],
    [
      "recordTranscriptionUsage",
      async () => {
        const uid = newUid("meter");
        const report = { sessionId: "s", reportId: "s-1", transcriptionSeconds: 30 };
        await instance.call("recordTranscriptionUsage", report, { uid });
        await instance.call("recordTranscriptionUsage", report, { uid }); // a duplicate: reads its dedupe record
      },
    ],
    ["addTester", () => instance.call("addTester", { uid: newUid("meter"), apps: ["x"] }, adminAs("meter"))],
  ];

  for (const [name, calls] of callables) {
    it(`${name}: the same billed reads and writes as the proxy`, async () => {
      const { meter, proxy } = await measure(name, calls);
      assert.ok(meter.requests >= 1, `${name} counted its requests`);
      assert.deepEqual({ reads: meter.reads, writes: meter.writes }, proxy);
    });
  }

  it("grantTesterAppAccess: the same billed reads and writes as the proxy", async () => {
    const uid = newUid("meter");
    await instance.call("addTester", { uid, apps: [] }, adminAs("meter"));
    const { meter, proxy } = await measure("grantTesterAppAccess", () => instance.call("grantTesterAppAccess", { uid, appId: "x" }, adminAs("meter")));
    assert.deepEqual({ reads: meter.reads, writes: meter.writes }, proxy);
  });

  it("a new user's reads include their missing documents as not-found reads", async () => {
    const { meter } = await measure("getMentorNotificationFrequency", () => instance.call("getMentorNotificationFrequency", {}, { uid: newUid("meter") }));
    assert.deepEqual([meter.reads, meter.notFound], [1, 1]);
  });

  it("stripeWebhook: the event's transaction, reads and writes", async () => {
    const uid = newUid("meter");
    await seedUsage(uid, 0);
    const event = subscriptionEvent({ customer: newCustomerId(), uid, priceId: localStripePriceId("pro") });
    const { meter, proxy } = await measure("stripeWebhook", () => sendEvent(instance, event));
    assert.equal(meter.requests, 1);
    assert.deepEqual({ reads: meter.reads, writes: meter.writes }, proxy);
  });
});
