/**
 * The read-counting proxy (scripts/lib/firestore-read-proxy.ts) in front of the official
 * Firestore emulator: exact billable reads per kind of call, nothing counted for writes or
 * listens, and every call (streams and errors included) forwarded unchanged.
 *
 * The spec runs its own proxy and client, so the counts are not disturbed by other specs.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type * as FirestoreModule from "@google-cloud/firestore";
import { startReadCountingProxy, ReadCountingProxy } from "../../scripts/lib/firestore-read-proxy";
import { googleCloudFirestore } from "../../scripts/lib/functions-deps";
import { stack } from "../support/stack";

/** The emulator the proxy fronts: the global stack's, unless a developer points at their own. */
function emulatorHost(): string {
  return process.env.READ_PROXY_SPEC_EMULATOR_HOST ?? stack().firestore.emulatorHost;
}

const { Firestore, AggregateField, GrpcStatus } = googleCloudFirestore();

describe("Firestore read-counting proxy", function () {
  this.timeout(60_000);

  let proxy: ReadCountingProxy;
  let db: FirestoreModule.Firestore;
  let col: FirestoreModule.CollectionReference;

  const noReads = { BatchGetDocuments: 0, RunQuery: 0, RunAggregationQuery: 0 };

  before(async () => {
    proxy = await startReadCountingProxy({ targetHost: emulatorHost() });
    // The client reads FIRESTORE_EMULATOR_HOST (the global stack's) once, and it beats `host`.
    const saved = process.env.FIRESTORE_EMULATOR_HOST;
    delete process.env.FIRESTORE_EMULATOR_HOST;
    try {
      db = new Firestore({ projectId: "demo-read-proxy", host: proxy.host, ssl: false, preferRest: false });
    } finally {
      if (saved !== undefined) process.env.FIRESTORE_EMULATOR_HOST = saved;
    }
    col = db.collection(`read-proxy-${randomUUID()}`);
    const batch = db.batch();
    for (let i = 0; i < 5; i++) batch.set(col.doc(`d${i}`), { kind: "five", n: i });
    for (let i = 0; i < 3; i++) batch.set(col.doc(`t${i}`), { kind: "three", n: i });
    await batch.commit();
  });

  after(async () => {
    await db?.terminate();
    await proxy?.close();
  });

  beforeEach(() => proxy.reads.reset());

  it("counts one read for a get of an existing document", async () => {
    assert.equal((await col.doc("d0").get()).exists, true);
    assert.deepEqual(proxy.reads.byMethod(), { ...noReads, BatchGetDocuments: 1 });
    assert.equal(proxy.reads.total(), 1);
  });

  it("counts one read for a get of a missing document", async () => {
    assert.equal((await col.doc("missing").get()).exists, false);
    assert.equal(proxy.reads.total(), 1);
  });

  it("counts one read per document of a getAll, found or missing", async () => {
    const docs = await db.getAll(col.doc("d0"), col.doc("d1"), col.doc("missing"));
    assert.deepEqual(docs.map((d) => d.exists), [true, true, false]);
    assert.deepEqual(proxy.reads.byMethod(), { ...noReads, BatchGetDocuments: 3 });
  });

  it("counts one read per document a query returns", async () => {
    assert.equal((await col.where("kind", "==", "five").get()).size, 5);
    assert.deepEqual(proxy.reads.byMethod(), { ...noReads, RunQuery: 5 });
  });

  it("counts one read for a query that returns nothing", async () => {
    assert.equal((await col.where("kind", "==", "none").get()).size, 0);
    assert.deepEqual(proxy.reads.byMethod(), { ...noReads, RunQuery: 1 });
  });

  it("counts one read per 1,000 documents a sum aggregates", async () => {
    const many = db.collection(`read-proxy-sum-${randomUUID()}`);
    for (let start = 0; start < 1500; start += 500) {
      const batch = db.batch();
      for (let i = start; i < start + 500; i++) batch.set(many.doc(`m${i}`), { n: 1 });
      await batch.commit();
    }
    assert.equal(proxy.reads.total(), 0, "batched writes are not reads");
    const snapshot = await many.aggregate({ total: AggregateField.sum("n") }).get();
    assert.equal(snapshot.data().total, 1500);
    assert.deepEqual(proxy.reads.byMethod(), { ...noReads, RunAggregationQuery: 2 });
  });

  it("counts one read for a count of three documents", async () => {
    assert.equal((await col.where("kind", "==", "three").count().get()).data().count, 3);
    assert.deepEqual(proxy.reads.byMethod(), { ...noReads, RunAggregationQuery: 1 });
  });

  it("counts reads inside a transaction the same way, and not its commit", async () => {
    const ref = col.doc(`tx-${randomUUID()}`);
    await db.runTransaction(async (tx) => {
      await tx.get(col.doc("d0"));
      await tx.get(col.where("kind", "==", "three"));
      await tx.get(col.where("kind", "==", "five").count());
      tx.set(ref, { done: true });
    });
    assert.deepEqual(proxy.reads.byMethod(), { BatchGetDocuments: 1, RunQuery: 3, RunAggregationQuery: 1 });
    proxy.reads.reset();
    assert.equal((await ref.get()).get("done"), true, "the transaction committed through the proxy");
  });

  it("does not count writes", async () => {
    const ref = col.doc(`w-${randomUUID()}`);
    await ref.set({ a: 1 });
    await ref.update({ a: 2 });
    await ref.delete();
    await db.batch().set(col.doc(`w-${randomUUID()}`), { a: 1 }).commit();
    assert.equal(proxy.reads.total(), 0);
  });

  it("reset() zeroes every count", async () => {
    await col.doc("d0").get();
    await col.where("kind", "==", "five").get();
    assert.equal(proxy.reads.total(), 6);
    proxy.reads.reset();
    assert.equal(proxy.reads.total(), 0);
    assert.deepEqual(proxy.reads.byMethod(), noReads);
  });

  it("forwards a Listen stream: a snapshot listener sees the initial state and later changes", async () => {
    const ref = col.doc(`listen-${randomUUID()}`);
    const seen: unknown[] = [];
    let unsubscribe = () => {};
    const sawChange = new Promise<void>((resolve, reject) => {
      unsubscribe = ref.onSnapshot((snapshot) => {
        seen.push(snapshot.exists ? snapshot.get("v") : null);
        if (seen.length === 1) void ref.set({ v: 1 });
        if (snapshot.get("v") === 1) resolve();
      }, reject);
    });
    await sawChange;
    unsubscribe();
    assert.deepEqual(seen, [null, 1]);
    assert.equal(proxy.reads.total(), 0, "listens are not counted");
  });

  it("forwards an emulator error with its gRPC code", async () => {
    await assert.rejects(col.doc("d0").create({ again: true }), (error: { code?: number }) => {
      assert.equal(error.code, GrpcStatus.ALREADY_EXISTS);
      return true;
    });
  });
});
