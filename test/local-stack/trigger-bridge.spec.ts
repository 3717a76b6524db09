/**
 * The trigger bridge against real servers: the real `onTesterWritten` export of
 * functions/src/index.ts, invoked in-process with the CloudEvents the bridge builds, bumps
 * markers in the test stack's redis-server through the Upstash gateway (the environment
 * test/support/stack.ts sets up). A probe trigger made with the functions' own
 * firebase-functions checks what a handler sees (params, Change before/after).
 *
 * The bridge exists only for the offline stand-in Firestore, used where no official emulator
 * can run (see scripts/stack/firestore-emulator.ts); the official emulator delivers triggers
 * itself. This spec runs its own stand-in and bridge, written through its own admin app.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import Redis from "ioredis";
import type { App } from "firebase-admin/app";
import type { Firestore } from "firebase-admin/firestore";
import { markerKey, scopes } from "../../functions/src/redis/markers";
import { FirestoreCloudEvent } from "../../scripts/stack/firestore-cloud-event";
import { startFirestoreFallback, FirestoreFallback } from "../../scripts/offline-firestore/server";
import { firestoreOn } from "../../scripts/stack/firestore-on";
import { FirestoreTrigger, triggersFromModule } from "../../scripts/stack/firestore-triggers";
import { firebaseAdminApp, firebaseAdminFirestore, firebaseFunctionsFirestore } from "../../scripts/stack/functions-deps";
import { TriggerBridge, startTriggerBridge } from "../../scripts/offline-firestore/trigger-bridge";
import { projectId, stack } from "../support/stack";

const writtenType = "google.cloud.firestore.document.v1.written";

interface ProbeCall {
  params: Record<string, string>;
  beforeExists: boolean;
  afterExists: boolean;
  before: Record<string, unknown> | undefined;
  after: Record<string, unknown> | undefined;
}

describe("trigger bridge (offline Firestore -> Firestore triggers)", function () {
  let fallback: FirestoreFallback;
  let redisClient: Redis;
  let bridge: TriggerBridge;
  let adminApp: App;
  let db: Firestore;
  const { FieldValue } = firebaseAdminFirestore();
  let functionsModule: Record<string, unknown>;
  let triggers: FirestoreTrigger[];
  const deliveries: { triggerId: string; event: FirestoreCloudEvent }[] = [];
  const probeCalls: ProbeCall[] = [];
  const logged: string[] = [];
  let failNextDelivery = false;
  let deliveryDelayMs = 0;

  const marker = (uid: string) => redisClient.get(markerKey(scopes.tester(uid)));
  /**
   * A new marker starts at Redis's time in ms (redis/markers.ts); one that exists counts up by
   * one per bump. Starting each test's marker at 0 makes its value the number of bumps.
   */
  const markerAtZero = async (...uids: string[]) => {
    for (const uid of uids) await redisClient.set(markerKey(scopes.tester(uid)), "0");
  };
  const deliveriesFor = (documentPath: string, triggerId = "onTesterWritten") =>
    deliveries.filter((d) => d.triggerId === triggerId && d.event.document === documentPath);
  const newUid = () => `u-${randomBytes(4).toString("hex")}`;

  before(async function () {
    this.timeout(60_000);
    fallback = await startFirestoreFallback({});
    redisClient = new Redis(stack().redis.url);
    // The deployed functions as the global stack loaded them (its environment: Redis gateway),
    // loaded here, after the stack set that environment, not at the spec's import.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- after the environment is set, not at import
    functionsModule = require("../../functions/src/index") as Record<string, unknown>;
    ({ app: adminApp, db } = firestoreOn(fallback.host, projectId, "trigger-bridge-spec"));

    // A probe written with the functions' SDK: shows the params and Change a handler gets.
    const { onDocumentWritten } = firebaseFunctionsFirestore();
    const probe = onDocumentWritten("probes/{group}/items/{item}", async (event) => {
      probeCalls.push({
        params: { ...event.params },
        beforeExists: event.data?.before.exists ?? false,
        afterExists: event.data?.after.exists ?? false,
        before: event.data?.before.data(),
        after: event.data?.after.data(),
      });
    });
    const handlers: Record<string, unknown> = { ...functionsModule, probe };
    triggers = triggersFromModule(handlers);

    bridge = startTriggerBridge({
      state: fallback.state,
      projectId,
      triggers,
      log: (message) => logged.push(message),
      deliver: async (triggerId, event) => {
        deliveries.push({ triggerId, event });
        if (deliveryDelayMs > 0) await sleep(deliveryDelayMs);
        if (failNextDelivery) {
          failNextDelivery = false;
          throw new Error("simulated delivery failure");
        }
        // A v2 trigger export is a function of the raw CloudEvent.
        await (handlers[triggerId] as (event: FirestoreCloudEvent) => Promise<unknown>)(event);
      },
    });
  });

  after(async function () {
    this.timeout(20_000);
    await bridge?.close();
    if (adminApp) await firebaseAdminApp().deleteApp(adminApp);
    redisClient?.disconnect();
    await fallback?.close();
  });

  beforeEach(() => {
    failNextDelivery = false;
    deliveryDelayMs = 0;
  });

  it("derives the Firestore triggers from the loaded functions module", () => {
    const tester = triggers.find((t) => t.id === "onTesterWritten");
    assert.deepEqual(tester, {
      id: "onTesterWritten",
      eventType: writtenType,
      documentPattern: "testers/{uid}",
      database: "(default)",
    });
    assert.equal(
      triggers.find((t) => t.id === "ping"),
      undefined,
      "a callable is no trigger",
    );
  });

  it("create, update, delete of testers/{uid} bump inv:tester:{uid} 0 -> 1 -> 2 -> 3 with the right before/after", async () => {
    const uid = newUid();
    await markerAtZero(uid);
    const ref = db.doc(`testers/${uid}`);
    assert.equal(await marker(uid), "0");

    await ref.set({ uid, apps: ["app-1"], added_at: 1 });
    await bridge.waitForIdle();
    assert.equal(await marker(uid), "1");
    const [created] = deliveriesFor(`testers/${uid}`);
    assert.ok(created);
    assert.equal(created.event.type, writtenType);
    assert.equal(created.event.subject, `documents/testers/${uid}`);
    assert.equal(created.event.source, `//firestore.googleapis.com/projects/${projectId}/databases/(default)`);
    assert.equal(created.event.datacontenttype, "application/json");
    assert.equal(created.event.data.oldValue, undefined);
    const value = created.event.data.value;
    assert.ok(value);
    assert.equal(value.name, `projects/${projectId}/databases/(default)/documents/testers/${uid}`);
    assert.deepEqual(value.fields, {
      uid: { stringValue: uid },
      apps: { arrayValue: { values: [{ stringValue: "app-1" }] } },
      added_at: { integerValue: "1" },
    });
    assert.match(value.createTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(value.updateTime, value.createTime);

    await ref.update({ apps: ["app-1", "app-2"] });
    await bridge.waitForIdle();
    assert.equal(await marker(uid), "2");
    const updated = deliveriesFor(`testers/${uid}`)[1];
    assert.ok(updated?.event.data.value && updated.event.data.oldValue);
    assert.deepEqual(updated.event.data.oldValue.fields.apps, { arrayValue: { values: [{ stringValue: "app-1" }] } });
    assert.deepEqual(updated.event.data.value.fields.apps, {
      arrayValue: { values: [{ stringValue: "app-1" }, { stringValue: "app-2" }] },
    });
    assert.equal(updated.event.data.value.createTime, value.createTime, "createTime survives an update");

    await ref.delete();
    await bridge.waitForIdle();
    assert.equal(await marker(uid), "3");
    const deleted = deliveriesFor(`testers/${uid}`)[2];
    assert.ok(deleted);
    assert.equal(deleted.event.data.value, undefined);
    assert.deepEqual(deleted.event.data.oldValue?.fields.apps, updated.event.data.value.fields.apps);
    assert.equal(deliveriesFor(`testers/${uid}`).length, 3);
    assert.deepEqual(logged, []);
  });

  it("a handler sees the params and the Change (before/after) of each write", async () => {
    const ref = db.doc("probes/g1/items/i1");
    probeCalls.length = 0;
    await ref.set({ n: 1, tags: { a: true }, at: new Date("2024-05-01T10:00:00.123Z") });
    await ref.update({ n: 2 });
    await ref.delete();
    await bridge.waitForIdle();
    assert.equal(probeCalls.length, 3);
    const [create, update, remove] = probeCalls;
    assert.deepEqual(create?.params, { group: "g1", item: "i1" });
    assert.equal(create?.beforeExists, false);
    assert.equal(create?.afterExists, true);
    assert.equal(create?.after?.n, 1);
    assert.deepEqual(create?.after?.tags, { a: true });
    const at = create?.after?.at as { toDate(): Date } | undefined;
    assert.equal(at?.toDate().toISOString(), "2024-05-01T10:00:00.123Z");
    assert.equal(update?.before?.n, 1);
    assert.equal(update?.after?.n, 2);
    assert.equal(remove?.beforeExists, true);
    assert.equal(remove?.afterExists, false);
    assert.equal(remove?.before?.n, 2);
    assert.deepEqual(deliveriesFor("testers/none", "probe"), [], "a trigger only sees documents matching its pattern");
  });

  it("folds a write with transforms (several package events) into one delivery", async () => {
    const uid = newUid();
    await markerAtZero(uid);
    const ref = db.doc(`testers/${uid}`);
    await ref.set({ a: FieldValue.increment(1), t: FieldValue.serverTimestamp() }, { merge: true });
    await bridge.waitForIdle();
    let seen = deliveriesFor(`testers/${uid}`);
    assert.equal(seen.length, 1, "one change for one write");
    assert.equal(await marker(uid), "1");
    const first = seen[0]?.event.data;
    assert.equal(first?.oldValue, undefined, "a create, not an update of a half-written document");
    assert.deepEqual(first?.value?.fields.a, { integerValue: "1" });
    assert.ok(first?.value?.fields.t && "timestampValue" in first.value.fields.t);

    await ref.set({ a: FieldValue.increment(1) }, { merge: true });
    await bridge.waitForIdle();
    seen = deliveriesFor(`testers/${uid}`);
    assert.equal(seen.length, 2);
    assert.equal(await marker(uid), "2");
    assert.deepEqual(seen[1]?.event.data.oldValue?.fields.a, { integerValue: "1" });
    assert.deepEqual(seen[1]?.event.data.value?.fields.a, { integerValue: "2" });
  });

  it("a batch delivers one change per document; a no-op write and a create+delete in one commit deliver none", async () => {
    const [u1, u2, u3] = [newUid(), newUid(), newUid()];
    await markerAtZero(u1, u2, u3);
    const batch = db.batch();
    batch.set(db.doc(`testers/${u1}`), { uid: u1 });
    batch.set(db.doc(`testers/${u2}`), { uid: u2 });
    batch.set(db.doc(`testers/${u3}`), { uid: u3 });
    batch.delete(db.doc(`testers/${u3}`));
    await batch.commit();
    await bridge.waitForIdle();
    assert.equal(deliveriesFor(`testers/${u1}`).length, 1);
    assert.equal(deliveriesFor(`testers/${u2}`).length, 1);
    assert.equal(deliveriesFor(`testers/${u3}`).length, 0);
    assert.equal(await marker(u1), "1");
    assert.equal(await marker(u3), "0");

    await db.doc(`testers/${u1}`).set({ uid: u1 });
    await bridge.waitForIdle();
    assert.equal(deliveriesFor(`testers/${u1}`).length, 1, "same fields: no trigger, as in production");
  });

  it("delivers one document's changes in commit order even when a delivery is slow", async () => {
    const uid = newUid();
    await markerAtZero(uid);
    const ref = db.doc(`testers/${uid}`);
    deliveryDelayMs = 50;
    await ref.set({ n: 1 });
    await ref.set({ n: 2 });
    await ref.set({ n: 3 });
    await bridge.waitForIdle();
    const seen = deliveriesFor(`testers/${uid}`).map((d) => [d.event.data.oldValue?.fields.n ?? null, d.event.data.value?.fields.n ?? null]);
    assert.deepEqual(seen, [
      [null, { integerValue: "1" }],
      [{ integerValue: "1" }, { integerValue: "2" }],
      [{ integerValue: "2" }, { integerValue: "3" }],
    ]);
    assert.equal(await marker(uid), "3");
  });

  it("logs a failed delivery with the trigger id and keeps delivering", async () => {
    const uid = newUid();
    await markerAtZero(uid);
    logged.length = 0;
    failNextDelivery = true;
    await db.doc(`testers/${uid}`).set({ n: 1 });
    await bridge.waitForIdle();
    assert.equal(logged.length, 1);
    assert.match(logged[0] ?? "", /onTesterWritten failed for created of testers\/u-[0-9a-f]+: simulated delivery failure/);
    assert.equal(await marker(uid), "0");

    await db.doc(`testers/${uid}`).set({ n: 2 });
    await bridge.waitForIdle();
    assert.equal(await marker(uid), "1");
    logged.length = 0;
  });

  it("a bridge started on existing data knows the BEFORE side of the first change", async () => {
    const uid = newUid();
    await markerAtZero(uid);
    await db.doc(`testers/${uid}`).set({ n: 1 });
    await bridge.waitForIdle();
    const late: FirestoreCloudEvent[] = [];
    const lateBridge = startTriggerBridge({
      state: fallback.state,
      projectId,
      triggers,
      deliver: async (_id, event) => {
        if (event.document === `testers/${uid}`) late.push(event);
      },
    });
    try {
      await db.doc(`testers/${uid}`).update({ n: 2 });
      await lateBridge.waitForIdle();
      assert.equal(late.length, 1);
      assert.deepEqual(late[0]?.data.oldValue?.fields, { n: { integerValue: "1" } });
    } finally {
      await lateBridge.close();
    }
    await bridge.waitForIdle();
  });

  it("ignores other projects' documents, and after clear() a write is a create again", async () => {
    const uid = newUid();
    await markerAtZero(uid);
    await db.doc(`testers/${uid}`).set({ n: 1 });
    await bridge.waitForIdle();
    fallback.clear();
    await db.doc(`testers/${uid}`).set({ n: 1 });
    await bridge.waitForIdle();
    const seen = deliveriesFor(`testers/${uid}`);
    assert.equal(seen.length, 2);
    assert.equal(seen[1]?.event.data.oldValue, undefined, "clear() wipes the data; the next write creates");
    assert.equal(await marker(uid), "2");

    const other = firestoreOn(fallback.host, "demo-other-project", "trigger-bridge-other-project");
    try {
      await other.db.doc(`testers/${uid}`).set({ n: 5 });
      await bridge.waitForIdle();
      assert.equal(deliveriesFor(`testers/${uid}`).length, 2);
    } finally {
      await firebaseAdminApp().deleteApp(other.app);
    }
  });
});
