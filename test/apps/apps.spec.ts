import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { enabledAppsKey, enabledAppsUnverifiedMaxAgeMs, installsKey, installsMaxAgeMs } from "../../functions/src/apps/enrichment";
import type { AvailableApp } from "../../functions/src/apps/model";
import { cacheNames } from "../../functions/src/cache/names";
import { scopes } from "../../functions/src/redis/markers";
import { setBackgroundTriggers } from "../../scripts/harness/emulator-hub";
import { firestoreCloudEvent, firestoreEventTypePrefix } from "../../scripts/stack/firestore-cloud-event";
import { dateToRfc3339, RestDocument, timestampToRfc3339 } from "../../scripts/stack/firestore-rest-json";
import { CallableError, Instance } from "../../scripts/harness/instance";
import { deliverToFunctionsEmulator } from "../../scripts/stack/trigger-delivery";
import { adminAs, appDoc, createApp, servedIds, testerDoc } from "../support/apps";
import { nextPoll, onManualClocks, useInstancePair } from "../support/instance";
import { markerVersion, restartTestRedis, testRedis } from "../support/redis";
import { stack, triggersSettled } from "../support/stack";
import { waitUntil } from "../support/wait";
import type { RedisCommandPurpose } from "../../functions/src/redis/command-purposes";

const admin = adminAs("apps");

describe("apps marketplace", function () {
  this.timeout(60_000);
  let a: Instance;
  let b: Instance;

  useInstancePair((x, y) => ([a, b] = [x, y]));

  const run = () => randomUUID().slice(0, 8);
  async function served(instance: Instance, uid: string): Promise<AvailableApp[]> {
    return (await instance.call<{ apps: AvailableApp[] }>("getAvailableApps", {}, { uid })).apps;
  }

  /** The app `appId` as served to `uid`, if it is served. */
  async function servedApp(instance: Instance, uid: string, appId: string): Promise<AvailableApp | undefined> {
    return (await served(instance, uid)).find((app) => app.id === appId);
  }

  /**
   * A change reaches an instance on its system clock at its next marker poll: wait for it
   * rather than sleep (how soon is checked on manual clocks, in "cross-instance freshness").
   */
  async function untilServed(instance: Instance, uid: string, ids: readonly string[]): Promise<void> {
    await waitUntil(async () => (await servedIds(instance, uid, ids)).length === ids.length, `${ids.join(", ")} to be served`);
  }

  /** A new public approved app, served to `uid` by both instances (each has it cached). */
  async function publicAppOnBoth(appId: string, uid: string, r: string): Promise<void> {
    await createApp(appId, { uid: `dev-${r}`, private: false, approved: true });
    await triggersSettled();
    await Promise.all([untilServed(a, uid, [appId]), untilServed(b, uid, [appId])]);
  }

  const rejectsWith = (status: string, pattern?: RegExp) => (e: CallableError) => {
    assert.equal(e.status, status);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };

  describe("the union", () => {
    const r = run();
    const owner = `owner-${r}`;
    const other = `other-${r}`;
    const ids = {
      publicApproved: `pub-${r}`,
      ownPrivateApproved: `own-priv-ok-${r}`,
      ownPrivateUnapproved: `own-priv-new-${r}`,
      ownPublicUnapproved: `own-pub-new-${r}`,
      ownRejected: `own-rejected-${r}`,
      ownDisabled: `own-disabled-${r}`,
      otherDisabledPublic: `other-disabled-${r}`,
      otherPrivate: `other-priv-${r}`,
      otherPublicUnapproved: `other-pub-new-${r}`,
      testedUnapproved: `tested-${r}`,
      testedApprovedPrivate: `tested-approved-priv-${r}`,
      testedDisabled: `tested-disabled-${r}`,
    };
    const all = Object.values(ids);

    before(async () => {
      await createApp(ids.publicApproved, { uid: other, private: false, approved: true });
      await createApp(ids.ownPrivateApproved, { uid: owner, private: true, approved: true });
      await createApp(ids.ownPrivateUnapproved, { uid: owner, private: true, approved: false });
      await createApp(ids.ownPublicUnapproved, { uid: owner, private: false, approved: false });
      await createApp(ids.ownRejected, { uid: owner, private: false, approved: false, status: "rejected" });
      await createApp(ids.ownDisabled, { uid: owner, private: true, approved: true, disabled: true });
      await createApp(ids.otherDisabledPublic, { uid: other, private: false, approved: true, disabled: true });
      await createApp(ids.otherPrivate, { uid: other, private: true, approved: true });
      await createApp(ids.otherPublicUnapproved, { uid: other, private: false, approved: false });
      await createApp(ids.testedUnapproved, { uid: other, private: false, approved: false });
      await createApp(ids.testedApprovedPrivate, { uid: other, private: true, approved: true });
      await createApp(ids.testedDisabled, { uid: other, private: false, approved: false, disabled: true });
      await triggersSettled();
    });

    it("a non-tester sees public approved apps and their own private and unapproved apps, nothing disabled", async () => {
      assert.deepEqual(
        await servedIds(a, owner, all),
        [ids.ownPrivateApproved, ids.ownPrivateUnapproved, ids.ownPublicUnapproved, ids.ownRejected, ids.publicApproved].sort(),
      );
      assert.deepEqual(await servedIds(a, `stranger-${r}`, all), [ids.publicApproved]);
    });

    it("a tester also sees the unapproved apps of their list, and an app both theirs and listed only once", async () => {
      await a.call(
        "addTester",
        { uid: owner, apps: [ids.testedUnapproved, ids.testedApprovedPrivate, ids.testedDisabled, ids.ownPrivateUnapproved, "no-such-app"] },
        admin,
      );
      await triggersSettled();
      const apps = (await served(b, owner)).filter((app) => all.includes(app.id));
      const seen = apps.map((app) => app.id).sort();
      assert.deepEqual(
        seen,
        [ids.ownPrivateApproved, ids.ownPrivateUnapproved, ids.ownPublicUnapproved, ids.ownRejected, ids.publicApproved, ids.testedUnapproved].sort(),
      );
      assert.equal(new Set(seen).size, seen.length, "no app twice");
      // Another user is not a tester: the tester's apps never reach them.
      assert.deepEqual(await servedIds(b, `stranger2-${r}`, all), [ids.publicApproved]);
    });

    it("each app carries enabled, installs and rejected (and no disabled flag)", async () => {
      const apps = (await served(a, owner)).filter((app) => all.includes(app.id));
      for (const app of apps) {
        assert.equal(app.enabled, false);
        assert.equal(app.installs, 0);
        assert.equal(app.rejected, app.id === ids.ownRejected, app.id);
        assert.equal("disabled" in app, false);
      }
      const publicApp = apps.find((app) => app.id === ids.publicApproved);
      assert.deepEqual(publicApp, {
        id: ids.publicApproved,
        name: `App ${ids.publicApproved}`,
        uid: other,
        private: false,
        approved: true,
        status: "approved",
        category: "productivity",
        description: "demo",
        image: "https://example.com/app.png",
        capabilities: ["chat"],
        created_at: "2026-01-02T03:04:05.000Z",
        enabled: false,
        installs: 0,
        rejected: false,
      });
    });

    it("enrichment: one user's enabled never leaks to another; warm, neither enabled sets nor counts cost a Redis command", async () => {
      const redis = testRedis();
      const fan = `fan-${r}`;
      const bystander = `bystander-${r}`;
      await redis.sadd(enabledAppsKey(fan), ids.publicApproved);
      await redis.set(installsKey(ids.publicApproved), "7");
      // The fan's own app makes their app list (and its install-count entry) theirs alone: the
      // shared public list's counts were cached by earlier calls and may lag up to 60 s.
      await createApp(`fan-own-${r}`, { uid: fan, private: true, approved: false });
      await triggersSettled();
      const pick = (uid: string) => servedApp(a, uid, ids.publicApproved);

      // What A sent, as Upstash bills it: its usage meter counts every command it sends, by purpose.
      const calls = async () => {
        const stats = await a.stats();
        const sent = (purpose: RedisCommandPurpose) =>
          Object.values(stats.usage).reduce((sum, usage) => sum + (usage.redisCommandsByPurpose[purpose] ?? 0), 0) +
          (stats.instanceWork.redisCommandsByPurpose[purpose] ?? 0);
        return { enabledApps: sent("enabledApps"), installs: sent("installs"), markerPoll: sent("markerPoll") };
      };
      const since = (from: Awaited<ReturnType<typeof calls>>, to: Awaited<ReturnType<typeof calls>>) => ({
        enabledApps: to.enabledApps - from.enabledApps,
        installs: to.installs - from.installs,
        markerPoll: to.markerPoll - from.markerPoll,
      });
      // A on a manual clock: a marker poll comes only when the spec moves it (nextPoll), so the
      // Redis commands counted below are exactly those the calls cost, on any machine.
      await onManualClocks([a], async () => {
        // Warm the caches first: two rounds, the second after a poll that read every scope
        // the first one met.
        for (let round = 0; round < 2; round++) {
          await served(a, fan);
          await served(a, bystander);
          await nextPoll(a);
        }
        // Counts may lag 60 s (a popularity figure): past that, the poll now due brings the 7.
        await a.advanceClock(installsMaxAgeMs);
        await served(a, fan); // the poll now due
        const before = await calls();
        assert.equal((await pick(fan))?.enabled, true);
        assert.equal((await pick(bystander))?.enabled, false, "the fan's enabled flag leaked into the shared cached app");
        const again = await pick(fan);
        assert.equal(again?.enabled, true);
        assert.equal(again?.installs, 7);
        const warm = await calls();
        assert.deepEqual(
          since(before, warm),
          { enabledApps: 0, installs: 0, markerPoll: 0 },
          "3 calls within a poll interval: enabled sets and counts cached (their marker says when they change), no marker read",
        );
        // One poll interval on: the marker poll is the one command; the sets and counts ride in it or stay cached.
        await nextPoll(a);
        assert.equal((await pick(fan))?.enabled, true);
        assert.deepEqual(since(warm, await calls()), { enabledApps: 0, installs: 0, markerPoll: 1 }, "a call after a poll interval: one poll command");
      });
    });

    it("a user new to the instance: their enabled set and their own apps' install counts ride in the request's one poll", async () => {
      const redis = testRedis();
      const newcomer = `newcomer-${r}`;
      const ownId = `newcomer-own-${r}`;
      await createApp(ownId, { uid: newcomer, private: true, approved: false });
      await redis.sadd(enabledAppsKey(newcomer), ownId);
      await redis.set(installsKey(ownId), "3");
      await triggersSettled();
      const sent = async () => {
        const stats = await a.stats();
        return [...Object.values(stats.usage), stats.instanceWork].reduce((sum, usage) => sum + usage.redisCommands, 0);
      };
      await onManualClocks([a], async () => {
        await served(a, `warmer-${r}`); // markers readable, the public list cached
        await nextPoll(a);
        const before = await sent();
        const own = await servedApp(a, newcomer, ownId);
        assert.deepEqual([own?.enabled, own?.installs], [true, 3]);
        assert.equal((await sent()) - before, 1, "one command: the poll, carrying the set and the count");
      });
    });
  });

  describe("enableApp / disableApp", () => {
    const r = run();
    const user = `enabler-${r}`;
    const appId = `enable-${r}`;
    const hiddenId = `enable-hidden-${r}`;
    before(async () => {
      await createApp(appId, { uid: `dev-${r}`, private: false, approved: true });
      await createApp(hiddenId, { uid: `dev-${r}`, private: true, approved: true });
      await triggersSettled();
    });

    it("enabling twice counts one install, disabling twice uncounts one", async () => {
      const redis = testRedis();
      await Promise.all([untilServed(a, user, [appId]), untilServed(b, user, [appId]), untilServed(a, `second-${r}`, [appId])]);
      assert.deepEqual(await a.call("enableApp", { appId }, { uid: user }), { enabled: true });
      assert.deepEqual(await b.call("enableApp", { appId }, { uid: user }), { enabled: true });
      assert.equal(await redis.get(installsKey(appId)), "1");
      assert.equal(await redis.sismember(enabledAppsKey(user), appId), 1);
      // B handled the second enable: it shows it at once (the count may lag up to 60 s, below).
      assert.equal((await servedApp(b, user, appId))?.enabled, true);

      assert.deepEqual(await a.call("enableApp", { appId }, { uid: `second-${r}` }), { enabled: true });
      assert.equal(await redis.get(installsKey(appId)), "2");

      assert.deepEqual(await a.call("disableApp", { appId }, { uid: user }), { enabled: false });
      assert.deepEqual(await a.call("disableApp", { appId }, { uid: user }), { enabled: false });
      assert.equal(await redis.get(installsKey(appId)), "1");
      assert.equal(await redis.sismember(enabledAppsKey(user), appId), 0);
      assert.equal((await servedApp(a, user, appId))?.enabled, false);
    });

    it("not-found for an unknown app and for another user's private app, and nothing is written", async () => {
      const uid = `prober-${r}`;
      for (const id of [`missing-${r}`, hiddenId]) {
        await assert.rejects(a.call("enableApp", { appId: id }, { uid }), rejectsWith("NOT_FOUND"));
        await assert.rejects(a.call("disableApp", { appId: id }, { uid }), rejectsWith("NOT_FOUND"));
      }
      assert.equal(await testRedis().exists(enabledAppsKey(uid), installsKey(hiddenId)), 0);
    });

    it("bad input: unauthenticated, or invalid-argument naming the field, and nothing written", async () => {
      const uid = `bad-${r}`;
      await assert.rejects(a.call("getAvailableApps", {}), rejectsWith("UNAUTHENTICATED"));
      await assert.rejects(a.call("enableApp", { appId }), rejectsWith("UNAUTHENTICATED"));
      await assert.rejects(a.call("getAvailableApps", { all: true }, { uid }), rejectsWith("INVALID_ARGUMENT", /all/));
      for (const data of [{}, { appId: 5 }, { appId: "" }, { appId: "x".repeat(129) }, { appId: `apps/${appId}` }, { appId: ".." }, { appId, extra: 1 }]) {
        await assert.rejects(a.call("enableApp", data, { uid }), rejectsWith("INVALID_ARGUMENT", "extra" in data ? /extra/ : /appId/), JSON.stringify(data));
      }
      assert.equal(await testRedis().exists(enabledAppsKey(uid)), 0);
    });
  });

  describe("admin tester callables", () => {
    const r = run();

    it("are permission-denied without the admin claim (and unauthenticated without a token), writing nothing", async () => {
      const uid = `wannabe-${r}`;
      for (const [name, data] of [
        ["addTester", { uid, apps: [] }],
        ["removeTester", { uid }],
        ["grantTesterAppAccess", { uid, appId: "x" }],
        ["revokeTesterAppAccess", { uid, appId: "x" }],
      ] as const) {
        await assert.rejects(a.call(name, data, { uid, claims: { admin: "true" } }), rejectsWith("PERMISSION_DENIED"), name);
        await assert.rejects(a.call(name, data), rejectsWith("UNAUTHENTICATED"), name);
      }
      assert.equal((await testerDoc(uid).get()).exists, false);
    });

    it("reject bad input naming the field, writing nothing", async () => {
      const uid = `typo-${r}`;
      await assert.rejects(a.call("addTester", { uid: `a/${uid}`, apps: [] }, admin), rejectsWith("INVALID_ARGUMENT", /uid/));
      await assert.rejects(a.call("addTester", { uid, apps: "app" }, admin), rejectsWith("INVALID_ARGUMENT", /apps/));
      await assert.rejects(a.call("addTester", { uid, apps: ["ok", "x".repeat(129)] }, admin), rejectsWith("INVALID_ARGUMENT", /apps\.1/));
      await assert.rejects(a.call("addTester", { uid, apps: [], admin: true }, admin), rejectsWith("INVALID_ARGUMENT", /admin/));
      await assert.rejects(a.call("grantTesterAppAccess", { uid }, admin), rejectsWith("INVALID_ARGUMENT", /appId/));
      assert.equal((await testerDoc(uid).get()).exists, false);
    });

    it("add, grant (twice), revoke and remove keep testers/{uid} right; grant to a non-tester is not-found", async () => {
      const uid = `tester-${r}`;
      await assert.rejects(a.call("grantTesterAppAccess", { uid, appId: "x" }, admin), rejectsWith("NOT_FOUND"));
      assert.equal((await testerDoc(uid).get()).exists, false, "granting must not make a tester");

      assert.deepEqual(await a.call("addTester", { uid, apps: ["x", "y", "x"] }, admin), { uid, tester: true, apps: ["x", "y"] });
      const added = await testerDoc(uid).get();
      assert.deepEqual(added.get("apps"), ["x", "y"]);
      assert.equal(added.get("uid"), uid);
      assert.ok(added.get("added_at"), "added_at is set");

      await a.call("grantTesterAppAccess", { uid, appId: "z" }, admin);
      await a.call("grantTesterAppAccess", { uid, appId: "z" }, admin);
      assert.deepEqual((await testerDoc(uid).get()).get("apps"), ["x", "y", "z"]);
      await a.call("revokeTesterAppAccess", { uid, appId: "x" }, admin);
      assert.deepEqual((await testerDoc(uid).get()).get("apps"), ["y", "z"]);

      assert.deepEqual(await a.call("removeTester", { uid }, admin), { uid, tester: false, apps: [] });
      assert.equal((await testerDoc(uid).get()).exists, false);
      assert.deepEqual(await a.call("removeTester", { uid }, admin), { uid, tester: false, apps: [] }, "idempotent");
    });

    it("grant works on a tester document without an apps field", async () => {
      const uid = `bare-${r}`;
      await testerDoc(uid).set({ uid });
      await a.call("grantTesterAppAccess", { uid, appId: "x" }, admin);
      assert.deepEqual((await testerDoc(uid).get()).get("apps"), ["x"]);
    });
  });

  describe("cross-instance freshness", () => {
    // The instances run on manual clocks here: a marker poll comes exactly when a clock moves one
    // interval (nextPoll), so "every instance reflects a change within one poll interval (+ one
    // marker read) of its marker write" is checked as a mechanism on any machine. The wall-clock
    // staleness against the 2 s promise is the benchmark's figure (docs/bench.md).

    it("removeTester: neither instance serves tester-only apps from its next marker poll on", async () => {
      const r = run();
      const tester = `xtester-${r}`;
      const appId = `xtested-${r}`;
      await createApp(appId, { uid: `dev-${r}`, private: false, approved: false });
      await a.call("addTester", { uid: tester, apps: [appId] }, admin);
      await triggersSettled();
      await onManualClocks([a, b], async () => {
        assert.deepEqual(await servedIds(a, tester, [appId]), [appId]);
        assert.deepEqual(await servedIds(b, tester, [appId]), [appId]);
        // A poll later each holds the tester's record under the marker's version (read at once,
        // a record is kept only once a poll shows no change can have been missed; the add was
        // moments ago, so it is read again under the version the poll read).
        await nextPoll(a, b);
        assert.deepEqual(await servedIds(a, tester, [appId]), [appId]);
        assert.deepEqual(await servedIds(b, tester, [appId]), [appId]);

        const markerBefore = await markerVersion(scopes.tester(tester));
        await a.call("removeTester", { uid: tester }, admin);
        await waitUntil(async () => (await markerVersion(scopes.tester(tester))) !== markerBefore, "the tester marker");
        assert.deepEqual(await servedIds(b, tester, [appId]), [appId], "B has not polled since: its cached tester record");
        await nextPoll(a, b);
        assert.deepEqual(await servedIds(a, tester, [appId]), [], "A's next poll read the bump");
        assert.deepEqual(await servedIds(b, tester, [appId]), [], "B's next poll read the bump");
        await triggersSettled();
        assert.equal(
          Number(await markerVersion(scopes.tester(tester))),
          Number(markerBefore) + 1,
          "one bump: the callable's; its trigger named the same change",
        );
      });
    });

    it("removeTester with its trigger held back: gone from the other instance at its next poll after the answer; the trigger's later delivery bumps nothing", async () => {
      const r = run();
      const tester = `held-${r}`;
      const appId = `held-app-${r}`;
      await createApp(appId, { uid: `dev-${r}`, private: false, approved: false });
      await a.call("addTester", { uid: tester, apps: [appId] }, admin);
      await triggersSettled();
      const removed = await testerDoc(tester).get();
      const { hubUrl, functionsEmulatorUrl, projectId } = stack().local;
      let bumped: string | null = null;
      await onManualClocks([b], async () => {
        assert.deepEqual(await servedIds(b, tester, [appId]), [appId], "B serves the tester app");
        const markerBefore = await markerVersion(scopes.tester(tester));
        await setBackgroundTriggers(hubUrl, false);
        try {
          await a.call("removeTester", { uid: tester }, admin);
          bumped = await markerVersion(scopes.tester(tester));
          assert.notEqual(bumped, markerBefore, "the callable bumped the marker before its answer (its trigger is held back)");
          assert.deepEqual(await servedIds(b, tester, [appId]), [appId], "B has not polled since: its cached tester record");
          await nextPoll(b);
          assert.deepEqual(await servedIds(b, tester, [appId]), [], "B's next poll read the callable's bump");
        } finally {
          await setBackgroundTriggers(hubUrl, true);
        }
      });
      // The held-back delivery, once triggers run again: the event Firestore sends for that delete.
      const updateTime = timestampToRfc3339(removed.updateTime!.seconds, removed.updateTime!.nanoseconds);
      const before: RestDocument = {
        name: `projects/${projectId}/databases/(default)/documents/testers/${tester}`,
        fields: { uid: { stringValue: tester }, apps: { arrayValue: { values: [{ stringValue: appId }] } } },
        createTime: timestampToRfc3339(removed.createTime!.seconds, removed.createTime!.nanoseconds),
        updateTime,
      };
      const event = firestoreCloudEvent(`${firestoreEventTypePrefix}written`, {
        projectId,
        database: "(default)",
        documentPath: `testers/${tester}`,
        before,
        time: dateToRfc3339(new Date()),
      });
      await deliverToFunctionsEmulator(functionsEmulatorUrl, projectId)("us-central1-onTesterWritten", event);
      assert.equal(await markerVersion(scopes.tester(tester)), bumped, "the trigger found the change bumped and bumped nothing");
      // And the trigger does run: the same event for another version of the document bumps.
      const newer = { ...before, updateTime: timestampToRfc3339(removed.updateTime!.seconds + 1, removed.updateTime!.nanoseconds) };
      await deliverToFunctionsEmulator(functionsEmulatorUrl, projectId)(
        "us-central1-onTesterWritten",
        firestoreCloudEvent(`${firestoreEventTypePrefix}written`, {
          projectId,
          database: "(default)",
          documentPath: `testers/${tester}`,
          before: newer,
          time: dateToRfc3339(new Date()),
        }),
      );
      assert.equal(Number(await markerVersion(scopes.tester(tester))), Number(bumped) + 1, "another change bumps");
    });

    it("an app approved by a direct write, its trigger held back: a tester's and the owner's views read in that window still carry it", async () => {
      // The public list on B is cached from before the approval; the tester's apps and the
      // owner's apps are read after it. Each view must be the old state or the new one, never
      // a mix that has the app in neither (found by npm run bench:curve).
      const r = run();
      const dev = `adev-${r}`;
      const tester = `atester-${r}`;
      const bystander = `abystander-${r}`;
      const appId = `approved-late-${r}`;
      const otherUnapproved = `still-unapproved-${r}`;
      await createApp(appId, { uid: dev, private: false, approved: false });
      await createApp(otherUnapproved, { uid: dev, private: false, approved: false });
      await a.call("addTester", { uid: tester, apps: [appId] }, admin);
      await triggersSettled();
      await untilServed(b, tester, [appId]);
      assert.deepEqual(await servedIds(b, bystander, [appId]), [], "B has the public list cached, without the unapproved app");
      const { hubUrl } = stack().local;
      await setBackgroundTriggers(hubUrl, false);
      try {
        await appDoc(appId).update({ approved: true });
        // The tester's list changes through the callable (which bumps its marker at the commit):
        // B re-reads the tester's record and apps, and sees the app approved.
        await a.call("grantTesterAppAccess", { uid: tester, appId: otherUnapproved }, admin);
        await untilServed(b, tester, [otherUnapproved]);
        assert.deepEqual(await servedIds(b, tester, [appId]), [appId], "the tester still sees the app (now public and approved)");
        // The owner's first call on B reads their apps after the approval.
        assert.deepEqual(await servedIds(b, dev, [appId]), [appId], "the owner still sees their app");
      } finally {
        await setBackgroundTriggers(hubUrl, true);
      }
      // A later change with triggers running brings every view to the approved app.
      await appDoc(appId).update({ name: `Approved ${r}` });
      await triggersSettled();
      await untilServed(b, bystander, [appId]);
    });

    it("an app switched from public to private leaves both instances' lists at their next marker poll (the owner keeps it)", async () => {
      const r = run();
      const dev = `xdev-${r}`;
      const user = `xuser-${r}`;
      const appId = `xpublic-${r}`;
      await createApp(appId, { uid: dev, private: false, approved: true });
      await triggersSettled();
      await onManualClocks([a, b], async () => {
        const fromBoth = async () => [await servedIds(a, user, [appId]), await servedIds(b, user, [appId])];
        assert.deepEqual(await fromBoth(), [[appId], [appId]], "both instances serve the public app");

        const markerBefore = await markerVersion(scopes.publicApps);
        await appDoc(appId).update({ private: true });
        await waitUntil(async () => (await markerVersion(scopes.publicApps)) !== markerBefore, "the public-apps marker");
        assert.deepEqual(await fromBoth(), [[appId], [appId]], "neither has polled since: their cached public list");
        await nextPoll(a, b);
        assert.deepEqual(await fromBoth(), [[], []], "each one's next poll read the bump");
        await triggersSettled();
        assert.deepEqual(await servedIds(a, dev, [appId]), [appId], "the owner still sees their private app");
        const owned = await servedApp(b, dev, appId);
        assert.equal(owned?.private, true);
      });
    });

    it("enableApp: the instance that handled it shows enabled at once, the other at its next marker poll", async () => {
      const r = run();
      const user = `xenabler-${r}`;
      const appId = `xenable-${r}`;
      await publicAppOnBoth(appId, user, r);
      const enabledOn = async (instance: Instance) => (await servedApp(instance, user, appId))?.enabled;
      await onManualClocks([a, b], async () => {
        assert.equal(await enabledOn(a), false);
        assert.equal(await enabledOn(b), false, "B has the empty enabled set cached");

        await a.call("enableApp", { appId }, { uid: user });
        assert.equal(await enabledOn(a), true, "at once on the instance that handled it");
        assert.equal(await enabledOn(b), false, "B has not polled since: its cached enabled set");
        await nextPoll(b);
        assert.equal(await enabledOn(b), true, "B's next poll read the bump");
      });
    });

    it("a change to one public app costs each instance one document read, not the whole list", async () => {
      const r = run();
      const user = `xpatch-${r}`;
      const appId = `xpatched-${r}`;
      await publicAppOnBoth(appId, user, r);
      const nameOn = async (instance: Instance) => (await servedApp(instance, user, appId))?.name;
      const patchedFetches = async (instance: Instance) => (await instance.stats()).caches.find((c) => c.name === cacheNames.publicApps)?.patchedFetches ?? 0;
      const patchedBefore = [await patchedFetches(a), await patchedFetches(b)];
      const publicCount = (await served(a, user)).filter((app) => !app.private && app.approved).length;
      assert.ok(publicCount > 3, `the public list has ${publicCount} apps`);

      stack().reads.reset();
      await appDoc(appId).update({ name: `Renamed ${r}` });
      await Promise.all([a, b].map((instance) => waitUntil(async () => (await nameOn(instance)) === `Renamed ${r}`, "the new name")));
      assert.equal(stack().reads.total(), 2, `one read per instance, not ${publicCount} each: ${JSON.stringify(stack().reads.byMethod())}`);
      assert.equal(stack().reads.byMethod().BatchGetDocuments, 2);
      assert.deepEqual(
        [await patchedFetches(a), await patchedFetches(b)],
        patchedBefore.map((n) => n + 1),
      );
    });
  });

  describe("cost", () => {
    it("with a warm cache, 100 calls from one tester cost 0 Firestore document reads, marker polls included", async () => {
      const r = run();
      const uid = `warm-${r}`;
      await createApp(`warm-own-${r}`, { uid, private: true, approved: false });
      await createApp(`warm-tested-${r}`, { uid: `dev-${r}`, private: false, approved: false });
      await a.call("addTester", { uid, apps: [`warm-tested-${r}`] }, admin);
      await triggersSettled();
      // A on a manual clock: which call polls the markers is exact, on any machine.
      await onManualClocks([a], async () => {
        // Warm-up: a brand-new user's first call meets scopes the instance has not read yet
        // (they wait for the next poll, and its tester record may be read without being
        // stored: fail closed); after that poll every entry is stored under the versions it
        // read. Twice, for any scope first met after the first poll.
        assert.deepEqual(await servedIds(a, uid, [`warm-own-${r}`, `warm-tested-${r}`]), [`warm-own-${r}`, `warm-tested-${r}`]);
        for (let round = 0; round < 2; round++) {
          await nextPoll(a);
          await servedIds(a, uid, []);
          await servedIds(a, uid, []);
        }

        stack().reads.reset();
        for (let batch = 0; batch < 10; batch++) {
          // A poll before each batch of 10: polls that find no change cost no document read.
          await nextPoll(a);
          const results = await Promise.all(Array.from({ length: 10 }, () => servedIds(a, uid, [`warm-own-${r}`, `warm-tested-${r}`])));
          for (const ids of results) assert.equal(ids.length, 2);
        }
        assert.equal(stack().reads.total(), 0, `document reads: ${JSON.stringify(stack().reads.byMethod())}`);

        // The counter can see a miss: a cold user costs reads (so the 0 above is not a blind counter).
        await served(a, `cold-${r}`);
        assert.ok(stack().reads.total() >= 2, `a cold user cost ${stack().reads.total()} reads`);
      });
    });
  });

  describe("Redis outage (last: it restarts Redis)", () => {
    it("Redis down: tester data is read from Firestore (fail closed); enabled and installs within their bounds, then unknown and last known", async () => {
      const r = run();
      const tester = `down-tester-${r}`;
      const testedId = `down-tested-${r}`;
      const publicId = `down-public-${r}`;
      await createApp(testedId, { uid: `dev-${r}`, private: false, approved: false });
      await createApp(publicId, { uid: `dev-${r}`, private: false, approved: true });
      await a.call("addTester", { uid: tester, apps: [testedId] }, admin);
      await triggersSettled();
      await untilServed(a, tester, [testedId, publicId]);
      // A's clock is manual from here: the 30 s and 60 s bounds are exact, without sleeping.
      await a.useManualClock();
      const shown = () => servedApp(a, tester, publicId);
      await a.call("enableApp", { appId: publicId }, { uid: tester });
      assert.equal((await shown())?.enabled, true, "at once on the instance that handled it");
      await a.advanceClock(installsMaxAgeMs + 1);
      assert.equal((await shown())?.installs, 1, "install counts lag at most 60 s");
      // Enabling again changes nothing but drops A's copy: the enabled set below is a fresh read.
      await a.call("enableApp", { appId: publicId }, { uid: tester });
      assert.equal((await shown())?.enabled, true);

      await stack().redis.stop();
      try {
        // Past one poll interval: the instance has tried to read markers and knows Redis is gone.
        await a.advanceClock(1_200);
        const down = (await served(a, tester)).filter((app) => [testedId, publicId].includes(app.id));
        assert.deepEqual(down.map((app) => app.id).sort(), [publicId, testedId].sort());
        assert.equal(down.find((app) => app.id === publicId)?.enabled, true, "the enabled set read 1.2 s ago, within the 30 s bound");
        await a.advanceClock(enabledAppsUnverifiedMaxAgeMs);
        const later = await shown();
        assert.equal(later?.enabled, false, "older than 30 s and Redis unreachable: unknown, so false");
        await a.advanceClock(installsMaxAgeMs - enabledAppsUnverifiedMaxAgeMs);
        assert.equal((await shown())?.installs, 1, "counts older than 60 s cannot be read: the last known count");

        // No marker can be written now: only reading Firestore can show the removal.
        await testerDoc(tester).delete();
        await triggersSettled();
        assert.deepEqual(await servedIds(a, tester, [testedId, publicId]), [publicId], "tester app served from cache while Redis is down");

        await assert.rejects(a.call("enableApp", { appId: publicId }, { uid: tester }), rejectsWith("UNAVAILABLE"));
      } finally {
        await restartTestRedis();
        await a.useSystemClock();
      }
    });
  });
});
