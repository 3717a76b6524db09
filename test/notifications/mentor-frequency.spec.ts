import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { randomUUID } from "node:crypto";
import { firestore } from "../../functions/src/firestore";
import { scopes } from "../../functions/src/redis/markers";
import { CallableError, Instance } from "../../scripts/harness/instance";
import { useInstancePair } from "../support/instance";
import { markerVersion } from "../support/redis";
import { markerGuardedTtlMs } from "../../functions/src/cache/settings";
import { stack, triggersSettled } from "../support/stack";
import { waitUntil } from "../support/wait";

describe("mentor notification frequency", function () {
  this.timeout(60_000);
  let a: Instance;
  let b: Instance;

  useInstancePair((x, y) => ([a, b] = [x, y]));

  const newUid = () => `mentor-${randomUUID()}`;
  const userDoc = (uid: string) => firestore().collection("users").doc(uid);

  it("is 0 for a user with no document, and unauthenticated without a token", async () => {
    assert.deepEqual(await a.call("getMentorNotificationFrequency", {}, { uid: newUid() }), { frequency: 0 });
    await assert.rejects(a.call("getMentorNotificationFrequency", {}), (e: CallableError) => e.status === "UNAUTHENTICATED");
  });

  it("reads a stored value, and a stored bad value as the default without throwing", async () => {
    const good = newUid();
    const bad = newUid();
    await userDoc(good).set({ mentor_notification_frequency: 4, other: "x" });
    await userDoc(bad).set({ mentor_notification_frequency: "often" });
    assert.deepEqual(await a.call("getMentorNotificationFrequency", {}, { uid: good }), { frequency: 4 });
    assert.deepEqual(await a.call("getMentorNotificationFrequency", {}, { uid: bad }), { frequency: 0 });
  });

  for (const [label, data] of [
    ["-1", { frequency: -1 }],
    ["6", { frequency: 6 }],
    ["2.5", { frequency: 2.5 }],
    ['"3"', { frequency: "3" }],
    ["null", { frequency: null }],
    ["missing", {}],
    ["an unknown field", { frequency: 1, extra: true }],
  ] as const) {
    it(`rejects ${label} with invalid-argument naming the field, and writes nothing`, async () => {
      const uid = newUid();
      await assert.rejects(a.call("setMentorNotificationFrequency", data, { uid }), (e: CallableError) => {
        assert.equal(e.status, "INVALID_ARGUMENT");
        assert.match(e.message, label === "an unknown field" ? /extra/ : /frequency/);
        return true;
      });
      assert.equal((await userDoc(uid).get()).exists, false);
    });
  }

  it("set then get on the same instance is immediate (no waiting for markers)", async () => {
    const uid = newUid();
    assert.deepEqual(await a.call("getMentorNotificationFrequency", {}, { uid }), { frequency: 0 });
    assert.deepEqual(await a.call("setMentorNotificationFrequency", { frequency: 3 }, { uid }), { frequency: 3 });
    assert.deepEqual(await a.call("getMentorNotificationFrequency", {}, { uid }), { frequency: 3 });
    assert.equal((await userDoc(uid).get()).get("mentor_notification_frequency"), 3);
  });

  it("a set on instance A reaches instance B within 2 s of its answer (A bumps at the commit); the trigger bumps nothing more", async () => {
    const uid = newUid();
    await userDoc(uid).set({ mentor_notification_frequency: 1 });
    await triggersSettled();
    assert.deepEqual(await b.call("getMentorNotificationFrequency", {}, { uid }), { frequency: 1 });
    const markerBefore = await markerVersion(scopes.mentor(uid));
    await a.call("setMentorNotificationFrequency", { frequency: 5 }, { uid });
    const answeredAt = Date.now();
    assert.equal(Number(await markerVersion(scopes.mentor(uid))), Number(markerBefore) + 1, "bumped before the answer");
    await waitUntil(
      async () => (await b.call<{ frequency: number }>("getMentorNotificationFrequency", {}, { uid })).frequency === 5,
      5_000,
      "instance B to serve the new frequency",
    );
    const elapsedMs = Date.now() - answeredAt;
    assert.ok(elapsedMs <= 2_000, `B served the old value for ${elapsedMs} ms after the set answered`);
    await triggersSettled();
    assert.equal(Number(await markerVersion(scopes.mentor(uid))), Number(markerBefore) + 1, "one bump: the trigger named the same change");
  });

  it("0 is a cache hit: a ghost user's second read costs no Firestore read", async () => {
    const uid = newUid();
    stack().reads.reset();
    await a.call("getMentorNotificationFrequency", {}, { uid });
    assert.equal(stack().reads.total(), 1, "the first read fetches the (missing) user document");
    await a.call("getMentorNotificationFrequency", {}, { uid });
    assert.equal(stack().reads.total(), 1, "the cached 0 is served");
  });

  it("an hour of reads from one live stream costs 1 document read (markers make the TTL a safety net)", async () => {
    const uid = newUid();
    await userDoc(uid).set({ mentor_notification_frequency: 2 });
    await triggersSettled();
    // The write's marker is then more than a poll interval older than the first fetch, so the
    // entry fetched before the instance read that marker is kept (MarkerWatcher.adoptable).
    await sleep(1_100);
    await a.useManualClock();
    try {
      stack().reads.reset();
      // One call a minute stands for one a second: between calls the instance polls its markers.
      for (let minute = 0; minute < 60; minute++) {
        assert.deepEqual(await a.call("getMentorNotificationFrequency", {}, { uid }), { frequency: 2 });
        await a.advanceClock(59_000);
      }
      assert.equal(stack().reads.total(), 1, `${stack().reads.total()} document reads for an hour of calls`);
      await a.advanceClock(markerGuardedTtlMs - 60 * 59_000 + 1);
      await a.call("getMentorNotificationFrequency", {}, { uid });
      assert.equal(stack().reads.total(), 2, "the safety-net TTL still ends the entry after an hour");
    } finally {
      await a.useSystemClock();
    }
  });

  it("the users trigger bumps the mentor marker only when the field changes", async () => {
    const uid = newUid();
    await userDoc(uid).set({ mentor_notification_frequency: 2, display_name: "a" });
    await triggersSettled();
    const v1 = await markerVersion(scopes.mentor(uid));
    assert.notEqual(v1, null);
    await userDoc(uid).set({ display_name: "b" }, { merge: true });
    await triggersSettled();
    assert.equal(await markerVersion(scopes.mentor(uid)), v1, "another field changed: no bump");
    await userDoc(uid).set({ mentor_notification_frequency: 3 }, { merge: true });
    await triggersSettled();
    assert.equal(Number(await markerVersion(scopes.mentor(uid))), Number(v1) + 1);
  });
});
