/**
 * The read-counting proxy (scripts/harness/firestore-read-proxy.ts) in front of the official
 * Firestore emulator: exact billable reads per kind of call, exact billed writes per commit
 * (what applied, not what was asked), nothing counted for listens, and every call (streams and
 * errors included) forwarded unchanged.
 *
 * The spec runs its own proxy and client, so the counts are not disturbed by other specs.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type * as FirestoreModule from "@google-cloud/firestore";
import { startReadCountingProxy, ReadCountingProxy } from "../../scripts/harness/firestore-read-proxy";
import { googleCloudFirestore } from "../../scripts/stack/functions-deps";
import { stack } from "../support/stack";

/** The emulator the proxy fronts: the global stack's, unless a developer points at their own. */
function emulatorHost(): string {
  return process.env.READ_PROXY_SPEC_EMULATOR_HOST ?? stack().firestore.host;
}

const { Firestore, AggregateField, FieldValue, GrpcStatus } = googleCloudFirestore();

describe("Firestore read-counting proxy", function () {
  this.timeout(60_000);

  let proxy: ReadCountingProxy;
  let db: FirestoreModule.Firestore;
  let col: FirestoreModule.CollectionReference;

  const noReads = { BatchGetDocuments: 0, RunQuery: 0, RunAggregationQuery: 0 };
  const noWrites = { Commit: 0, BatchWrite: 0 };

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

  beforeEach(() => {
    proxy.reads.reset();
    proxy.writes.reset();
  });

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
    assert.deepEqual(
      docs.map((d) => d.exists),
      [true, true, false],
    );
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
    await db
      .batch()
      .set(col.doc(`w-${randomUUID()}`), { a: 1 })
      .commit();
    assert.equal(proxy.reads.total(), 0);
  });

  it("counts reads by target: each document got, each query by its collection and filters", async () => {
    const id = col.id;
    await db.getAll(col.doc("d0"), col.doc("d1"), col.doc("missing"));
    await col.doc("d0").get();
    await col.where("kind", "==", "five").where("n", ">=", 3).get();
    await col.where("kind", "in", ["three", "none"]).get();
    await col.where("kind", "==", "none").get();
    await col.where("kind", "==", "three").count().get();
    await db.collectionGroup(id).where("missing", "==", null).get();
    await col.doc("d0").collection("sub").where("flag", "==", true).get();
    assert.deepEqual(proxy.reads.byTarget(), {
      [`${id}/d0`]: 2,
      [`${id}/d1`]: 1,
      [`${id}/missing`]: 1,
      [`${id} where kind == "five" and n >= 3`]: 2,
      [`${id} where kind in ["three", "none"]`]: 3,
      [`${id} where kind == "none"`]: 1,
      [`count of ${id} where kind == "three"`]: 1,
      [`**/${id} where missing is null`]: 1,
      [`${id}/d0/sub where flag == true`]: 1,
    });
    assert.equal(
      Object.values(proxy.reads.byTarget()).reduce((sum, n) => sum + n, 0),
      proxy.reads.total(),
      "every read has a target",
    );
  });

  it("reset() zeroes every count", async () => {
    await col.doc("d0").get();
    await col.where("kind", "==", "five").get();
    assert.equal(proxy.reads.total(), 6);
    proxy.reads.reset();
    assert.equal(proxy.reads.total(), 0);
    assert.deepEqual(proxy.reads.byMethod(), noReads);
    assert.deepEqual(proxy.reads.byTarget(), {});
  });

  describe("billed writes", () => {
    it("counts one write for a set", async () => {
      await col.doc(`w-${randomUUID()}`).set({ a: 1 });
      assert.deepEqual(proxy.writes.byMethod(), { ...noWrites, Commit: 1 });
      assert.equal(proxy.writes.total(), 1);
      assert.equal(proxy.reads.total(), 0, "a write is not a read");
    });

    it("counts one write per document of a batch of three", async () => {
      const batch = db.batch();
      for (let i = 0; i < 3; i++) batch.set(col.doc(`wb-${randomUUID()}`), { i });
      await batch.commit();
      assert.deepEqual(proxy.writes.byMethod(), { ...noWrites, Commit: 3 });
    });

    it("counts a set with two increments as one write, and applies both increments", async () => {
      const ref = col.doc(`wi-${randomUUID()}`);
      await ref.set({ seconds: FieldValue.increment(60), words: FieldValue.increment(150), label: "x" }, { merge: true });
      assert.equal(proxy.writes.total(), 1);
      assert.deepEqual((await ref.get()).data(), { seconds: 60, words: 150, label: "x" }, "the transforms reached the emulator");
    });

    it("counts nothing for a create that fails because the document exists", async () => {
      const ref = col.doc(`wc-${randomUUID()}`);
      await ref.create({ first: true });
      assert.equal(proxy.writes.total(), 1, "the first create applied");
      proxy.writes.reset();
      await assert.rejects(ref.create({ again: true }), (error: { code?: number }) => error.code === GrpcStatus.ALREADY_EXISTS);
      assert.equal(proxy.writes.total(), 0);
    });

    it("counts nothing for a batch that fails on its create precondition, though its other write was valid", async () => {
      const existing = col.doc(`wf-${randomUUID()}`);
      await existing.set({ v: 1 });
      proxy.writes.reset();
      const batch = db
        .batch()
        .set(col.doc(`wf-${randomUUID()}`), { v: 1 })
        .create(existing, { v: 2 });
      await assert.rejects(batch.commit(), (error: { code?: number }) => error.code === GrpcStatus.ALREADY_EXISTS);
      assert.equal(proxy.writes.total(), 0);
    });

    it("counts an update and a delete as one write each", async () => {
      const ref = col.doc(`wu-${randomUUID()}`);
      await ref.set({ a: 1 });
      proxy.writes.reset();
      await ref.update({ a: 2 });
      assert.equal(proxy.writes.total(), 1);
      await ref.delete();
      assert.equal(proxy.writes.total(), 2);
    });

    it("counts a transaction's committed writes, and its reads as reads", async () => {
      const ref = col.doc(`wt-${randomUUID()}`);
      const counter = col.doc(`wt-${randomUUID()}`);
      await db.runTransaction(async (tx) => {
        await tx.get(col.doc("d0"));
        tx.set(ref, { done: true });
        tx.set(counter, { n: FieldValue.increment(1) }, { merge: true });
      });
      assert.deepEqual(proxy.writes.byMethod(), { ...noWrites, Commit: 2 });
      assert.equal(proxy.reads.total(), 1);
    });

    it("counts the writes a BatchWrite (BulkWriter) applies, not those it rejects", async () => {
      const existing = col.doc(`wbw-${randomUUID()}`);
      await existing.set({ v: 1 });
      proxy.writes.reset();
      const writer = db.bulkWriter();
      writer.onWriteError(() => false); // no retry
      const writes = [
        writer.set(col.doc(`wbw-${randomUUID()}`), { v: 1 }),
        writer.set(col.doc(`wbw-${randomUUID()}`), { v: 1 }),
        writer.create(existing, { v: 2 }),
      ];
      await writer.close(); // sends the batch and waits for every write's outcome
      const outcomes = await Promise.allSettled(writes);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ["fulfilled", "fulfilled", "rejected"],
      );
      assert.deepEqual(proxy.writes.byMethod(), { ...noWrites, BatchWrite: 2 });
    });

    it("counts no writes for reads", async () => {
      await col.doc("d0").get();
      await col.where("kind", "==", "five").get();
      assert.equal(proxy.writes.total(), 0);
    });

    it("reset() zeroes every write count", async () => {
      await col.doc(`wr-${randomUUID()}`).set({ a: 1 });
      assert.equal(proxy.writes.total(), 1);
      proxy.writes.reset();
      assert.deepEqual(proxy.writes.byMethod(), noWrites);
    });
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
