/**
 * The offline stand-in Firestore's gaps that scripts/offline-firestore/server-fixes.ts closes:
 * these behaviours are what the webhook's idempotency and the admin callables rely on. The
 * stand-in runs only where no official emulator can (scripts/stack/firestore-emulator.ts), so
 * this spec starts one of its own: the global stack runs the official emulator.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Firestore } from "firebase-admin/firestore";
import { FirestoreFallback, startFirestoreFallback } from "../../scripts/offline-firestore/server";
import { firestoreOn } from "../../scripts/stack/firestore-on";

describe("offline stand-in Firestore: transactions and commits", function () {
  this.timeout(30_000);
  let fallback: FirestoreFallback;
  let db: Firestore;
  const firestore = () => db;

  before(async () => {
    fallback = await startFirestoreFallback();
    ({ db } = firestoreOn(fallback.host, "demo-stand-in-spec", "stand-in-spec"));
  });

  after(async () => {
    await db.terminate();
    await fallback.close();
  });

  it("isolates concurrent read-modify-write transactions: 10 increments leave 10", async () => {
    const ref = firestore().collection("fallback-gaps").doc(randomUUID());
    await ref.set({ n: 0 });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        firestore().runTransaction(async (tx) => {
          const n = ((await tx.get(ref)).get("n") as number) ?? 0;
          await sleep(5); // let the others try to interleave
          tx.set(ref, { n: n + 1 });
        }),
      ),
    );
    assert.equal((await ref.get()).get("n"), 10);
  });

  it("isolates transactions that start with a query", async () => {
    const col = firestore().collection(`fallback-gaps-${randomUUID()}`);
    await col.doc("counter").set({ n: 0, kind: "counter" });
    await Promise.all(
      Array.from({ length: 5 }, () =>
        firestore().runTransaction(async (tx) => {
          const [doc] = (await tx.get(col.where("kind", "==", "counter"))).docs;
          tx.set(col.doc("counter"), { n: ((doc?.get("n") as number) ?? 0) + 1, kind: "counter" });
        }),
      ),
    );
    assert.equal((await col.doc("counter").get()).get("n"), 5);
  });

  it("a transaction that fails releases its turn (rollback), and the next one runs", async () => {
    const ref = firestore().collection("fallback-gaps").doc(randomUUID());
    await assert.rejects(
      firestore().runTransaction(async (tx) => {
        await tx.get(ref);
        throw new Error("handler failed");
      }),
      /handler failed/,
    );
    await firestore().runTransaction(async (tx) => {
      await tx.get(ref);
      tx.set(ref, { ok: true });
    });
    assert.equal((await ref.get()).get("ok"), true);
  });

  it("a commit whose create fails applies none of its writes", async () => {
    const col = firestore().collection("fallback-gaps");
    const existing = col.doc(randomUUID());
    const sibling = col.doc(randomUUID());
    await existing.set({ v: 1 });
    const batch = firestore().batch();
    batch.set(sibling, { v: "half-written" });
    batch.create(existing, { v: 2 });
    await assert.rejects(batch.commit(), (error: { code?: number }) => error.code === 6);
    assert.equal((await sibling.get()).exists, false, "the sibling write was not applied");
    assert.equal((await existing.get()).get("v"), 1);
  });

  it("a commit whose update of a missing document fails applies none of its writes", async () => {
    const col = firestore().collection("fallback-gaps");
    const sibling = col.doc(randomUUID());
    const batch = firestore().batch();
    batch.set(sibling, { v: 1 });
    batch.update(col.doc(randomUUID()), { v: 2 });
    await assert.rejects(batch.commit(), (error: { code?: number }) => error.code === 5);
    assert.equal((await sibling.get()).exists, false);
  });

  it("preconditions see the commit's own earlier writes (create then update of one document)", async () => {
    const ref = firestore().collection("fallback-gaps").doc(randomUUID());
    const batch = firestore().batch();
    batch.create(ref, { v: 1 });
    batch.update(ref, { w: 2 });
    await batch.commit();
    assert.deepEqual((await ref.get()).data(), { v: 1, w: 2 });
  });
});
