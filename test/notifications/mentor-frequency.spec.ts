import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { firestore } from "../../functions/src/firestore";
import { scopes } from "../../functions/src/redis/markers";
import { CallableError, Instance, startInstance } from "../../scripts/harness/instance";
import { fixedUpstashPlan, nextPoll, onManualClocks, specInstanceEnv, useInstancePair } from "../support/instance";
import { markerVersion } from "../support/redis";
import { markerGuardedTtlMs } from "../../functions/src/cache/settings";
import { stack, triggersSettled } from "../support/stack";

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

  it("a set on instance A reaches instance B at B's next marker poll (A bumps at the commit); the trigger bumps nothing more", async () => {
    // B on a manual clock: its next poll comes exactly one interval on (nextPoll), so "B follows
    // within one poll interval (+ one marker read) of the bump" is checked as a mechanism on any
    // machine; the wall-clock staleness against the 2 s promise is the benchmark's (docs/bench.md).
    const uid = newUid();
    await userDoc(uid).set({ mentor_notification_frequency: 1 });
    await triggersSettled();
    await onManualClocks([b], async () => {
      // Two calls: a quiet B reads the document at the first, and polls at the second for the
      // stats publish it now has figures for; no poll is due after them.
      assert.deepEqual(await b.call("getMentorNotificationFrequency", {}, { uid }), { frequency: 1 });
      assert.deepEqual(await b.call("getMentorNotificationFrequency", {}, { uid }), { frequency: 1 });
      const markerBefore = await markerVersion(scopes.mentor(uid));
      await a.call("setMentorNotificationFrequency", { frequency: 5 }, { uid });
      assert.equal(Number(await markerVersion(scopes.mentor(uid))), Number(markerBefore) + 1, "bumped before the answer");
      assert.deepEqual(await b.call("getMentorNotificationFrequency", {}, { uid }), { frequency: 1 }, "B has not polled since: its cached value");
      await nextPoll(b);
      assert.deepEqual(
        await b.call("getMentorNotificationFrequency", {}, { uid }),
        { frequency: 5 },
        "B's next poll read the bump (or, quiet, B read the document instead of polling)",
      );
      await triggersSettled();
      assert.equal(Number(await markerVersion(scopes.mentor(uid))), Number(markerBefore) + 1, "one bump: the trigger named the same change");
    });
  });

  it("0 is a cache hit: a ghost user's second read costs no Firestore read", async () => {
    const uid = newUid();
    // A manual clock: both calls within one poll interval, on any machine.
    await onManualClocks([a], async () => {
      stack().reads.reset();
      await a.call("getMentorNotificationFrequency", {}, { uid });
      assert.equal(stack().reads.total(), 1, "the first read fetches the (missing) user document");
      await a.call("getMentorNotificationFrequency", {}, { uid });
      assert.equal(stack().reads.total(), 1, "the cached 0 is served");
    });
  });

  it("an hour of reads from one live stream: 1 document read where a poll costs nothing (a fixed Upstash plan), and no poll where it costs more than the read", async () => {
    const uid = newUid();
    await userDoc(uid).set({ mentor_notification_frequency: 2 });
    await triggersSettled();
    // One call a minute stands for one a second: between calls the instance's marker poll, or
    // the read that replaces it, is due.
    const anHourOfCalls = async (instance: Instance) => {
      for (let minute = 0; minute < 60; minute++) {
        assert.deepEqual(await instance.call("getMentorNotificationFrequency", {}, { uid }), { frequency: 2 });
        await instance.advanceClock(59_000);
      }
    };
    const pollsOf = async (instance: Instance) => (await instance.stats()).markers.markerChecks;
    // A fixed plan: a poll is free, so the instance polls; markers make the TTL a safety net.
    const fixedPlan = await startInstance(specInstanceEnv(fixedUpstashPlan));
    try {
      await fixedPlan.useManualClock();
      // A poll is due at the first call, so it reads the user's marker before the fetch and the
      // entry is stored under its version. (Had it been fetched first, it would be kept only if
      // the marker's write were more than a poll interval older than the fetch on the wall
      // clock, MarkerWatcher.adoptable: a race with this machine's speed. coherent-cache.spec.ts
      // covers adoption on injected clocks.)
      await nextPoll(fixedPlan);
      stack().reads.reset();
      await anHourOfCalls(fixedPlan);
      assert.equal(stack().reads.total(), 1, `${stack().reads.total()} document reads for an hour of calls`);
      await fixedPlan.advanceClock(markerGuardedTtlMs - 60 * 59_000 + 1);
      await fixedPlan.call("getMentorNotificationFrequency", {}, { uid });
      assert.equal(stack().reads.total(), 2, "the safety-net TTL still ends the entry after an hour");
    } finally {
      await fixedPlan.stop();
    }
    // At list prices a quiet instance's poll ($2.00 per 1M) costs a call more than the document
    // ($0.60 per 1M): it reads the document, and polls only for its stats publish (once a minute).
    await onManualClocks([a], async () => {
      // The entry exists first: a call that finds none fetches it whatever else it pays.
      await a.call("getMentorNotificationFrequency", {}, { uid });
      await a.advanceClock(59_000);
      const pollsBefore = await pollsOf(a);
      stack().reads.reset();
      await anHourOfCalls(a);
      const polls = (await pollsOf(a)) - pollsBefore;
      assert.equal(stack().reads.total() + polls, 60, `each call paid one read or one poll, never both: ${stack().reads.total()} reads, ${polls} polls`);
      assert.ok(stack().reads.total() > 0, "a call with no stats publish due reads the document");
    });
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
