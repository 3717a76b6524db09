/**
 * The usage meter (functions/src/telemetry/meter.ts) against the read-counting proxy in front of
 * the Firestore emulator: for the same calls of each function, on one instance process, the
 * meter counts exactly the billed reads (and writes) the proxy saw.
 *
 * And against an Upstash gateway: the instance reaches Redis through a gateway of its own (the
 * stack's is shared with the Functions emulator's triggers, whose commands this instance's meter
 * never sees), so for the same calls the meter counts exactly the Redis commands that gateway
 * received, by purpose: the function's own, and the instance's marker polls and stats publishes.
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import type { FleetView } from "../../functions/src/telemetry/fleet-view";
import { FunctionUsage, noRedisUsage, noUsage, RedisUsage, UsageMeter } from "../../functions/src/telemetry/meter";
import { instanceWorkPurposes, RedisCommandPurpose, redisCommandPurpose } from "../../functions/src/redis/command-purposes";
import { Instance, startInstance } from "../../scripts/harness/instance";
import { fixedUpstashPlan } from "../support/instance";
import { unsignedIdToken } from "../../scripts/harness/id-tokens";
import { startUpstashGateway, UpstashGateway } from "../../scripts/stack/upstash-gateway";
import { localStripePriceId } from "../../scripts/stack/local-stripe";
import { newCustomerId, sendEvent, subscriptionEvent } from "../../scripts/harness/stripe-events";
import { adminAs, createApp } from "../support/apps";
import { newUid, seedUsage } from "../support/credits";
import { stack, triggersSettled } from "../support/stack";

describe("the usage meter agrees with the proxy", function () {
  this.timeout(60_000);
  let instance: Instance;
  let gateway: UpstashGateway;
  /** The commands the instance's gateway received, by purpose. */
  let gatewayCommands: Partial<Record<RedisCommandPurpose, number>> = {};

  before(async () => {
    const r = randomUUID().slice(0, 8);
    await createApp(`meter-public-${r}`, { uid: `meter-dev-${r}`, approved: true });
    await createApp(`meter-unapproved-${r}`, { uid: `meter-dev-${r}`, approved: false });
    await triggersSettled();
    const token = randomBytes(24).toString("hex");
    gateway = await startUpstashGateway({
      redisUrl: stack().redis.url,
      token,
      onCommand: (command) => {
        const purpose = redisCommandPurpose(command);
        gatewayCommands[purpose] = (gatewayCommands[purpose] ?? 0) + 1;
      },
    });
    // On a fixed Upstash plan credits keep the fleet's Redis figure: every kind of command is metered here.
    instance = await startInstance({ UPSTASH_REDIS_REST_URL: gateway.url, UPSTASH_REDIS_REST_TOKEN: token, ...fixedUpstashPlan });
  });
  after(async () => {
    await instance?.stop();
    await gateway?.close();
  });

  const usageOf = async (name: string): Promise<{ usage: FunctionUsage; instanceWork: RedisUsage }> => {
    const stats = await instance.stats();
    return { usage: stats.usage[name] ?? noUsage(), instanceWork: stats.instanceWork ?? noRedisUsage() };
  };

  /** What `after` counted beyond `before`, by purpose (purposes with none left out). */
  function commandsSince(before: RedisUsage, after: RedisUsage): Partial<Record<RedisCommandPurpose, number>> {
    const since: Partial<Record<RedisCommandPurpose, number>> = {};
    for (const [purpose, n] of Object.entries(after.redisCommandsByPurpose) as [RedisCommandPurpose, number][]) {
      const delta = n - (before.redisCommandsByPurpose[purpose] ?? 0);
      if (delta > 0) since[purpose] = delta;
    }
    return since;
  }

  /** The gateway's counts split as the meter splits them: the function's own, and the instance's (polls, publishes). */
  function splitByWork(byPurpose: Partial<Record<RedisCommandPurpose, number>>) {
    const functionOwn: Partial<Record<RedisCommandPurpose, number>> = {};
    const instanceOwn: Partial<Record<RedisCommandPurpose, number>> = {};
    for (const [purpose, n] of Object.entries(byPurpose) as [RedisCommandPurpose, number][]) {
      (instanceWorkPurposes.has(purpose) ? instanceOwn : functionOwn)[purpose] = n;
    }
    return { functionOwn, instanceOwn };
  }

  const total = (byPurpose: Partial<Record<RedisCommandPurpose, number>>) => Object.values(byPurpose).reduce((sum, n) => sum + n, 0);

  /** Runs `calls` of `name` and returns what the meter and the proxy counted meanwhile. */
  async function measure(name: string, calls: () => Promise<unknown>) {
    await triggersSettled();
    const { usage: before, instanceWork: instanceBefore } = await usageOf(name);
    stack().reads.reset();
    stack().writes.reset();
    gatewayCommands = {};
    await calls();
    await triggersSettled(); // triggers only bump Redis: they read and write no Firestore
    const { usage: after, instanceWork: instanceAfter } = await usageOf(name);
    const redis = { functionOwn: commandsSince(before, after), instanceOwn: commandsSince(instanceBefore, instanceAfter) };
    return {
      meter: {
        reads: after.reads - before.reads,
        writes: after.writes - before.writes,
        requests: after.requests - before.requests,
        notFound: after.notFoundReads - before.notFoundReads,
        redis,
        redisCommands: after.redisCommands - before.redisCommands + instanceAfter.redisCommands - instanceBefore.redisCommands,
      },
      proxy: { reads: stack().reads.total(), writes: stack().writes.total() },
      gateway: { redis: splitByWork(gatewayCommands), redisCommands: total(gatewayCommands) },
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
    it(`${name}: the same billed reads and writes as the proxy, the same Redis commands as the gateway`, async () => {
      const { meter, proxy, gateway } = await measure(name, calls);
      assert.ok(meter.requests >= 1, `${name} counted its requests`);
      assert.deepEqual({ reads: meter.reads, writes: meter.writes }, proxy);
      assert.deepEqual(meter.redis, gateway.redis, `${name}: Redis commands by purpose, the function's and the instance's`);
      assert.equal(meter.redisCommands, gateway.redisCommands);
    });
  }

  it("grantTesterAppAccess: the same billed reads and writes as the proxy", async () => {
    const uid = newUid("meter");
    await instance.call("addTester", { uid, apps: [] }, adminAs("meter"));
    const { meter, proxy, gateway } = await measure("grantTesterAppAccess", () => instance.call("grantTesterAppAccess", { uid, appId: "x" }, adminAs("meter")));
    assert.deepEqual({ reads: meter.reads, writes: meter.writes }, proxy);
    assert.deepEqual(meter.redis, gateway.redis);
  });

  it("a new user's reads include their missing documents as not-found reads", async () => {
    const { meter } = await measure("getMentorNotificationFrequency", () => instance.call("getMentorNotificationFrequency", {}, { uid: newUid("meter") }));
    assert.deepEqual([meter.reads, meter.notFound], [1, 1]);
  });

  it("stripeWebhook: the event's transaction, reads and writes", async () => {
    const uid = newUid("meter");
    await seedUsage(uid, 0);
    const event = subscriptionEvent({ customer: newCustomerId(), uid, priceId: localStripePriceId("pro") });
    const { meter, proxy, gateway } = await measure("stripeWebhook", () => sendEvent(instance, event));
    assert.equal(meter.requests, 1);
    assert.deepEqual({ reads: meter.reads, writes: meter.writes }, proxy);
    assert.deepEqual(meter.redis, gateway.redis);
  });

  it("cacheStats' text view: a spend line per function the calls above metered, with its Redis commands by purpose", async () => {
    const asAdmin = { headers: { authorization: `Bearer ${unsignedIdToken("meter-admin", { admin: true })}` } };
    // The fleet's figures: this instance's, taken now, and whatever other live instances published.
    const view = (await (await instance.request("cacheStats", asAdmin)).json()) as FleetView;
    const response = await instance.request("cacheStats?format=text", asAdmin);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await response.text();
    const { usage } = await instance.stats();
    for (const name of ["getAvailableApps", "recordTranscriptionUsage", "stripeWebhook"]) {
      const line = text.split("\n").find((l) => l.trimStart().startsWith(`${name} `) && /\$[\d.]+$/.test(l.trim()));
      assert.ok(line, `a spend line for ${name} in:\n${text}`);
      // requests, reads, reads/req, not found, writes, Redis commands (its requests' and its instances'), $/day
      const [requests, reads, , notFound, writes, redisCommands] = line.trim().split(/\s+/).slice(1).map(Number);
      const spend = view.spend.byFunction[name]!;
      assert.deepEqual(
        [requests, reads, notFound, writes, redisCommands],
        [spend.requests, spend.reads, spend.notFoundReads, spend.writes, spend.redisCommands + spend.instanceWork.redisCommands],
        line,
      );
      assert.ok(
        spend.requests >= usage[name]!.requests && spend.redisCommands >= usage[name]!.redisCommands,
        `${name}: this instance's calls are in the fleet's figures`,
      );
    }
    assert.match(text, /redis, requests: [^;]*usageLedger \d+/, "recordTranscriptionUsage's ledger commands, by purpose");
    assert.match(text, /instance's own: markerPoll \d+/, "the instance's marker polls, apart");
  });
});

describe("UsageMeter: the instance's own work, by the function whose request sent it", () => {
  it("a poll a request found due counts to the instance and names that function; one outside any request names none", async () => {
    const meter = new UsageMeter(() => "getAvailableApps");
    await meter.request("getAvailableApps", async () => meter.redisCommand("markerPoll"));
    await meter.request("getMentorNotificationFrequency", async () => meter.redisCommand("enabledApps"));
    meter.redisCommand("markerPoll");
    assert.deepEqual(meter.instanceWorkStartedBy(), { getAvailableApps: 1 });
    assert.equal(meter.instanceWorkSnapshot().redisCommands, 2);
    assert.equal(meter.snapshot().getAvailableApps?.redisCommands, 0, "not the function's own command");
  });
});
