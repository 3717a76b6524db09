/**
 * The faults the contract names, each against the real servers, stopped and restarted:
 * Redis (the test stack's redis-server behind the Upstash gateway) down during traffic;
 * Firestore down (a proxy of this spec's own between the instances and the official
 * emulator, closed and reopened on the same port, so the shared emulator keeps running for
 * everyone else); a Firestore trigger delivered twice to the Functions emulator.
 * Redis down while a Stripe event arrives: test/stripe/webhook.spec.ts ("Redis down: ...").
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { firestore } from "../../functions/src/firestore";
import { ReadCountingProxy, startReadCountingProxy } from "../../scripts/harness/firestore-read-proxy";
import { CallableError, Instance, startInstance } from "../../scripts/harness/instance";
import { newCustomerId, sendEvent, subscriptionEvent } from "../../scripts/harness/stripe-events";
import { firestoreCloudEvent, firestoreEventTypePrefix } from "../../scripts/stack/firestore-cloud-event";
import { dateToRfc3339, RestDocument } from "../../scripts/stack/firestore-rest-json";
import { localStripePriceId } from "../../scripts/stack/local-stripe";
import { deliverToFunctionsEmulator } from "../../scripts/stack/trigger-delivery";
import { adminAs, appDoc, createApp, servedIds, testerDoc } from "../support/apps";
import { newUid, seedUsage, usageCol, userDoc } from "../support/credits";
import { fixedUpstashPlan, nextPoll, onManualClocks, specInstanceEnv, useInstancePair } from "../support/instance";
import { markerVersion, restartTestRedis } from "../support/redis";
import { stack, triggersSettled } from "../support/stack";
import { waitUntil } from "../support/wait";

const admin = adminAs("faults");
const run = () => randomUUID().slice(0, 8);

const frequencyOf = async (instance: Instance, uid: string) =>
  (await instance.call<{ frequency: number }>("getMentorNotificationFrequency", {}, { uid })).frequency;

const unavailable = (error: CallableError) => {
  assert.equal(error.status, "UNAVAILABLE", error.message);
  return true;
};

describe("faults against the real servers (stopped and restarted)", function () {
  this.timeout(120_000);

  describe("Redis down during traffic", () => {
    let a: Instance;
    let b: Instance;
    useInstancePair((x, y) => ([a, b] = [x, y]));

    it("tester data fails closed, the rest is served within the contract's bounds, no read fails; recovery within one poll", async () => {
      const r = run();
      const tester = `faults-tester-${r}`;
      const testedId = `faults-tested-${r}`;
      const publicId = `faults-public-${r}`;
      const apps = [testedId, publicId];
      const mentorUser = `faults-mentor-${r}`;
      const creditsUser = newUid("faults");
      await createApp(testedId, { uid: `dev-${r}`, approved: false });
      await createApp(publicId, { uid: `dev-${r}`, approved: true });
      await testerDoc(tester).set({ uid: tester, apps: [testedId], added_at: new Date() });
      await userDoc(mentorUser).set({ mentor_notification_frequency: 3 });
      await seedUsage(creditsUser, 600);
      await triggersSettled();

      await onManualClocks([a, b], async () => {
        // Both instances on manual clocks (poll interval and TTLs exact). Two rounds of reads, the
        // second after a poll that read every scope the first met: both have it all cached under
        // the versions read.
        for (let round = 0; round < 2; round++) {
          if (round > 0) await nextPoll(a, b);
          for (const instance of [a, b]) {
            assert.deepEqual(await servedIds(instance, tester, apps), [...apps].sort());
            assert.equal(await frequencyOf(instance, mentorUser), 3);
          }
        }
        assert.deepEqual(await a.call("getCredits", {}, { uid: creditsUser }), { remainingSeconds: 1200, plan: "basic" });

        await stack().redis.stop();
        const failures: string[] = [];
        try {
          // Changes committed while Redis is down: no trigger can bump their markers.
          await testerDoc(tester).delete();
          await userDoc(mentorUser).set({ mentor_notification_frequency: 5 }, { merge: true });
          await appDoc(publicId).update({ name: "Renamed while Redis was down" });
          await triggersSettled();
          // Traffic: every kind of read, four times a (simulated) second for 10 s.
          for (let tick = 0; tick < 40; tick++) {
            await a.advanceClock(250);
            const results = await Promise.allSettled([
              servedIds(a, tester, apps),
              frequencyOf(a, mentorUser),
              a.call<{ remainingSeconds: number }>("getCredits", {}, { uid: creditsUser }),
              a.call<{ remainingSeconds: number }>(
                "recordTranscriptionUsage",
                { sessionId: `s-${r}`, transcriptionSeconds: tick === 0 ? 60 : 0 },
                { uid: creditsUser },
              ),
            ]);
            for (const result of results) if (result.status === "rejected") failures.push(String(result.reason));
            const [served, frequency] = results;
            if (served.status === "fulfilled" && tick >= 4) {
              // Fail closed: from the first poll that finds Redis gone, the tester record is
              // read from Firestore on every call, so the removal shows at once.
              assert.deepEqual(served.value, [publicId], `tick ${tick}: tester app served from cache while Redis is down`);
            }
            if (frequency.status === "fulfilled") assert.equal(frequency.value, 3, "fail open: the cached frequency, within its TTL");
          }
          assert.deepEqual(failures, [], "no read failed while Redis was down");
          const credits = await a.call<{ remainingSeconds: number }>("getCredits", {}, { uid: creditsUser });
          assert.equal(credits.remainingSeconds, 1140, "credits: the month's sum, read from Firestore at list prices (every report once, Redis or not)");

          // The contract's bound for data other than the tester's while markers cannot be read:
          // at most 30 s old.
          await a.advanceClock(30_000);
          assert.equal(await frequencyOf(a, mentorUser), 5);
          const { apps: renamed } = await a.call<{ apps: { id: string; name: string }[] }>("getAvailableApps", {}, { uid: tester });
          assert.equal(renamed.find((app) => app.id === publicId)?.name, "Renamed while Redis was down");

          const stats = await a.stats();
          assert.equal(stats.markers.markersHealthy, false);
          const bypassed = stats.caches.find((c) => c.name === "testerRecords");
          assert.ok(bypassed && bypassed.bypassedWhileMarkersUnreadable > 0, "tester reads bypassed the cache");
        } finally {
          await restartTestRedis();
        }

        // Recovery within one poll: the first request one poll interval after Redis is back reads
        // the markers, and from then on tester data is cached again.
        const before = await a.stats();
        await nextPoll(a);
        assert.deepEqual(await servedIds(a, tester, apps), [publicId]);
        const after = await a.stats();
        assert.equal(after.markers.markerChecks - before.markers.markerChecks, 1, "one poll");
        assert.equal(after.markers.markerCheckErrors, before.markers.markerCheckErrors, "and it succeeded");
        assert.equal(after.markers.markersHealthy, true);
        stack().reads.reset();
        assert.deepEqual(await servedIds(a, tester, apps), [publicId]);
        assert.equal(stack().reads.total(), 0, "served from the cache again: no Firestore read");

        // B, idle through the outage, has the tester record cached from before it. Its first poll
        // finds the marker it knew gone with Redis's data, a change: it re-reads the record, and
        // the removal made while Redis was down shows.
        await nextPoll(b);
        assert.deepEqual(await servedIds(b, tester, apps), [publicId], "B: the tester record from before the outage is not served");

        // And a change made now reaches both instances through its marker at their next poll (the
        // wall-clock staleness against the 2 s promise is the benchmark's, docs/bench.md).
        const markerBefore = await markerVersion(`tester:${tester}`);
        await testerDoc(tester).set({ uid: tester, apps: [testedId], added_at: new Date() });
        await waitUntil(async () => (await markerVersion(`tester:${tester}`)) !== markerBefore, "the tester marker");
        assert.deepEqual(await servedIds(b, tester, apps), [publicId], "B has not polled since: its cached tester record");
        await nextPoll(a, b);
        assert.deepEqual(await servedIds(a, tester, apps), [...apps].sort(), "A's next poll read the bump");
        assert.deepEqual(await servedIds(b, tester, apps), [...apps].sort(), "B's next poll read the bump");
      });
    });
  });

  describe("Firestore down", () => {
    let proxy: ReadCountingProxy;
    let port: number;
    let instance: Instance;

    before(async () => {
      proxy = await startReadCountingProxy({ targetHost: stack().firestore.host });
      port = proxy.port;
      // Priced as a fixed Upstash plan (a poll costs nothing): the instance polls before its first
      // read, so the warm entry below is stored under its marker's version at once. At list
      // prices a quiet instance reads a new user's document first and keeps it once a poll shows
      // no change can have been missed (MarkerWatcher.adoptable), which a bump this recent cannot.
      instance = await startInstance(specInstanceEnv({ FIRESTORE_EMULATOR_HOST: proxy.host, ...fixedUpstashPlan }));
    });

    after(async () => {
      await instance?.stop();
      await proxy?.close();
    });

    it("callables answer unavailable, the webhook 5xx, nothing is half-written; afterwards the retries succeed", async () => {
      const uid = newUid("faults-fs");
      const warm = newUid("faults-fs-warm");
      const reporter = newUid("faults-fs-usage"); // stays basic (uid becomes pro below)
      await userDoc(warm).set({ mentor_notification_frequency: 4 });
      // Its trigger's marker bump first: a bump after the read would make the entry stale.
      await triggersSettled();
      assert.equal(await frequencyOf(instance, warm), 4);
      const event = subscriptionEvent({ customer: newCustomerId(), uid, priceId: localStripePriceId("pro") });
      const sessionId = `fs-${run()}`;
      const usage = { sessionId, reportId: `${sessionId}-1`, transcriptionSeconds: 60, wordsTranscribed: 100 };

      await proxy.close();
      try {
        // Every path that needs Firestore answers within the deadline, with a code a client
        // can retry on (not a timeout).
        const outcomes = await Promise.allSettled([
          instance.call("getMentorNotificationFrequency", {}, { uid }),
          instance.call("getCredits", {}, { uid }),
          instance.call("getAvailableApps", {}, { uid }),
          instance.call("setMentorNotificationFrequency", { frequency: 2 }, { uid }),
          instance.call("recordTranscriptionUsage", usage, { uid: reporter }),
          instance.call("addTester", { uid }, admin),
        ]);
        for (const outcome of outcomes) {
          assert.equal(outcome.status, "rejected");
          if (outcome.status === "rejected") unavailable(outcome.reason as CallableError);
        }
        const webhook = await sendEvent(instance, event);
        assert.ok(webhook.status >= 500, `the webhook answered ${webhook.status}: Stripe retries`);
        // A cached read needs no Firestore.
        assert.equal(await frequencyOf(instance, warm), 4);
        // Nothing was written (read through the test stack's own way to the emulator).
        assert.equal((await userDoc(uid).get()).exists, false, "no user document (frequency, subscription)");
        assert.equal((await usageCol(reporter).get()).size, 0, "no usage document");
        assert.equal((await testerDoc(uid).get()).exists, false, "no tester document");
        assert.equal((await firestore().collection("stripe_events").doc(event.id).get()).exists, false, "no event record");
      } finally {
        proxy = await startReadCountingProxy({ targetHost: stack().firestore.host, port });
      }

      // Firestore is back: the instance reconnects by itself, and each retry succeeds.
      await waitUntil(
        () =>
          frequencyOf(instance, uid).then(
            () => true,
            () => false,
          ),
        "the instance to reach Firestore again",
        60_000,
      );
      const retried = await sendEvent(instance, event);
      assert.equal(retried.status, 200);
      const user = await userDoc(uid).get();
      assert.deepEqual([user.get("subscription.plan"), user.get("subscription.stripe_event_id")], ["pro", event.id]);
      assert.equal((await firestore().collection("stripe_events").doc(event.id).get()).get("result"), "subscription_written");
      assert.equal((await sendEvent(instance, event)).body.duplicate, true, "the event applied once: a further delivery changes nothing");
      assert.deepEqual(await instance.call("setMentorNotificationFrequency", { frequency: 2 }, { uid }), { frequency: 2 });
      assert.deepEqual(await instance.call("addTester", { uid }, admin), { uid, tester: true, apps: [] });
      // The report that answered `unavailable` may still be committed by the Firestore SDK's own
      // retry now that Firestore is back; the client's retry, with the same reportId, is then a
      // duplicate. Either way the report is applied once.
      const retriedUsage = await instance.call<{ remainingSeconds: number; duplicate?: true }>("recordTranscriptionUsage", usage, { uid: reporter });
      const storedSeconds = async () => (await usageCol(reporter).get()).docs.reduce((sum, hour) => sum + Number(hour.get("transcription_seconds")), 0);
      assert.equal(await storedSeconds(), 60, "60 s reported, 60 s stored");
      assert.equal(retriedUsage.remainingSeconds, 1740, "the fleet's figure is down 60 s");
      // The first delivery's commit, still in flight in the instance, can only fail now.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.equal(await storedSeconds(), 60, "still 60 s once the first delivery's commit has settled");
      assert.deepEqual(await instance.call("getCredits", {}, { uid: reporter }), { remainingSeconds: 1740, plan: "basic" });
      for (const hour of (await usageCol(reporter).get()).docs) {
        const seconds = Number(hour.get("transcription_seconds"));
        const words = Number(hour.get("words_transcribed"));
        assert.equal(words * 60, seconds * 100, "both counters of the report, never one");
      }
    });
  });

  describe("a Firestore trigger delivered twice", () => {
    it("the second delivery of the same change bumps nothing, under the same event id or another; a new version of the document does", async () => {
      const uid = `faults-twice-${run()}`;
      const { functionsEmulatorUrl, projectId } = stack().local;
      const deliver = deliverToFunctionsEmulator(functionsEmulatorUrl, projectId);
      const eventAt = (time: Date, id = randomUUID()) => {
        const at = dateToRfc3339(time);
        const document: RestDocument = {
          name: `projects/${projectId}/databases/(default)/documents/testers/${uid}`,
          fields: { uid: { stringValue: uid }, apps: { arrayValue: {} } },
          createTime: at,
          updateTime: at,
        };
        return {
          ...firestoreCloudEvent(`${firestoreEventTypePrefix}written`, {
            projectId,
            database: "(default)",
            documentPath: `testers/${uid}`,
            after: document,
            time: at,
          }),
          id,
        };
      };
      const first = eventAt(new Date());

      assert.equal(await markerVersion(`tester:${uid}`), null);
      await deliver("us-central1-onTesterWritten", first);
      const bumped = await markerVersion(`tester:${uid}`);
      assert.notEqual(bumped, null, "the first delivery bumps the marker");
      await deliver("us-central1-onTesterWritten", first);
      assert.equal(await markerVersion(`tester:${uid}`), bumped, "the second delivery of the same event has no further effect");
      await deliver("us-central1-onTesterWritten", { ...first, id: randomUUID() });
      assert.equal(await markerVersion(`tester:${uid}`), bumped, "nor another event for the same change (the same document version)");
      await deliver("us-central1-onTesterWritten", eventAt(new Date(Date.now() + 1_000)));
      assert.equal(Number(await markerVersion(`tester:${uid}`)), Number(bumped) + 1, "a new version is a new change");
    });
  });
});
