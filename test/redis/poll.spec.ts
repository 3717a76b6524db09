/**
 * The marker poll's one command (functions/src/redis/poll.ts) on the real redis-server behind the
 * project's Upstash gateway, through the official client: versions and write times, a scope's
 * set read with its version only when that version is new to the instance, and rider values,
 * all in one command as Upstash bills it.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { luaScript, observeRedisCommands } from "../../functions/src/redis/client";
import { enabledAppsKey, installsKey } from "../../functions/src/redis/keys";
import { bumpMarkers, markerKey, scopes } from "../../functions/src/redis/markers";
import { decodePoll, pollCommand, PollRequest, pollScriptSource } from "../../functions/src/redis/poll";
import { testRedis } from "../support/redis";

const pollScript = luaScript(pollScriptSource, { readonly: true });

/** Runs one poll, and the commands it sent as Upstash counts them. */
async function poll(request: PollRequest) {
  const sent: string[] = [];
  const stop = observeRedisCommands((command) => sent.push(String(command[0]).toUpperCase()));
  try {
    const { keys, args } = pollCommand(request);
    return { ...decodePoll(request, await pollScript(keys, args)), sent };
  } finally {
    stop();
  }
}

describe("the marker poll script on the real Redis", function () {
  this.timeout(30_000);

  it("reads the markers, a new scope's set with its version, and the riders, in one read-only command", async () => {
    const uid = `poll-${randomUUID()}`;
    const enabled = scopes.enabledApps(uid);
    const quiet = scopes.mentor(uid);
    const app = `poll-app-${randomUUID()}`;
    await testRedis().sadd(enabledAppsKey(uid), "b", "a");
    await bumpMarkers([enabled]);
    await testRedis().set(installsKey(app), "5");
    const first = await poll({ scopes: [quiet, enabled], heldVersions: [undefined, undefined], riderKeys: [installsKey(app), installsKey(`${app}-none`)] });
    // The script is loaded once per Redis (EVAL_RO after a NOSCRIPT): Upstash bills each as one.
    assert.ok(
      first.sent.every((name) => name === "EVALSHA_RO" || name === "EVAL_RO"),
      first.sent.join(" "),
    );
    assert.equal(first.sent.filter((name) => name === "EVALSHA_RO").length, 1);
    assert.equal(first.readings[0]!.version, null);
    assert.equal(first.readings[0]!.payload, undefined, "a scope without a payload set carries none");
    assert.ok(first.readings[1]!.version !== null && first.readings[1]!.writtenAtMs! > 0, "the version and its write time");
    assert.deepEqual(first.readings[1]!.payload, ["a", "b"], "a new scope: its set, read with its version");
    assert.deepEqual(first.riderValues, ["5", null]);
  });

  it("the version held: no set read; a change (or an expired marker) to another version: the set as of it", async () => {
    const uid = `poll-held-${randomUUID()}`;
    const enabled = scopes.enabledApps(uid);
    await testRedis().sadd(enabledAppsKey(uid), "a");
    const never = await poll({ scopes: [enabled], heldVersions: [undefined], riderKeys: [] });
    assert.equal(never.readings[0]!.version, null, "never bumped");
    assert.deepEqual(never.readings[0]!.payload, ["a"], "a set without a marker is still read for a new scope");
    const held = await poll({ scopes: [enabled], heldVersions: [null], riderKeys: [] });
    assert.equal(held.readings[0]!.payload, undefined, "null held, null read: unchanged");

    await testRedis().sadd(enabledAppsKey(uid), "c");
    await bumpMarkers([enabled]);
    const changed = await poll({ scopes: [enabled], heldVersions: [null], riderKeys: [] });
    const version = changed.readings[0]!.version;
    assert.ok(version !== null);
    assert.deepEqual(changed.readings[0]!.payload, ["a", "c"]);
    const same = await poll({ scopes: [enabled], heldVersions: [version], riderKeys: [] });
    assert.equal(same.readings[0]!.payload, undefined);

    await testRedis().del(markerKey(enabled));
    const expired = await poll({ scopes: [enabled], heldVersions: [version], riderKeys: [] });
    assert.equal(expired.readings[0]!.version, null);
    assert.deepEqual(expired.readings[0]!.payload, ["a", "c"], "an expired marker is a change: the set is read again");
  });

  it("riders alone, without a scope", async () => {
    const app = `poll-rider-${randomUUID()}`;
    await testRedis().set(installsKey(app), "9");
    const alone = await poll({ scopes: [], heldVersions: [], riderKeys: [installsKey(app)] });
    assert.deepEqual(alone.readings, []);
    assert.deepEqual(alone.riderValues, ["9"]);
  });
});
