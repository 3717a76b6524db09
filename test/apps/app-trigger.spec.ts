import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { staleAppScopes } from "../../functions/src/apps/triggers";
import { firestore } from "../../functions/src/firestore";
import { markerKey, scopes } from "../../functions/src/redis/markers";
import { markerVersion, testRedis } from "../support/redis";
import { triggersSettled } from "../support/stack";

describe("apps/{appId} trigger", () => {
  const app = (fields: Record<string, unknown>) => ({ uid: "dev", private: false, approved: true, status: "approved", disabled: false, name: "n", ...fields });

  describe("staleAppScopes", () => {
    it("a public approved app created or deleted: the public list and the owner", () => {
      assert.deepEqual(staleAppScopes(undefined, app({})).sort(), [scopes.appOwner("dev"), scopes.publicApps]);
      assert.deepEqual(staleAppScopes(app({}), undefined).sort(), [scopes.appOwner("dev"), scopes.publicApps]);
    });

    it("public -> private: the public list (it was public) and the owner, not testers' views", () => {
      assert.deepEqual(staleAppScopes(app({}), app({ private: true })).sort(), [scopes.appOwner("dev"), scopes.publicApps]);
    });

    it("approved -> unapproved, or an edit of an unapproved app: testers' views too", () => {
      assert.deepEqual(staleAppScopes(app({}), app({ approved: false })).sort(), [scopes.appOwner("dev"), scopes.publicApps, scopes.unapprovedApps]);
      assert.deepEqual(staleAppScopes(app({ approved: false, private: true }), app({ approved: false, private: true, name: "m" })).sort(), [
        scopes.appOwner("dev"),
        scopes.unapprovedApps,
      ]);
    });

    it("a disabled flip of a public approved app refreshes the public list", () => {
      assert.ok(staleAppScopes(app({}), app({ disabled: true })).includes(scopes.publicApps));
    });

    it("an owner transfer refreshes both owners", () => {
      assert.deepEqual(staleAppScopes(app({ private: true }), app({ private: true, uid: "new" })).sort(), [scopes.appOwner("dev"), scopes.appOwner("new")]);
    });

    it("a missing or non-boolean flag reads as private / unapproved, like the read path", () => {
      assert.deepEqual(staleAppScopes(undefined, { uid: "dev", approved: "yes" }).sort(), [scopes.appOwner("dev"), scopes.unapprovedApps]);
    });

    it("a write that changes no field bumps nothing", () => {
      assert.deepEqual(staleAppScopes(app({}), app({})), []);
    });
  });

  it("a committed write bumps the markers of the views it touches, and only those", async () => {
    const dev = `trigger-dev-${randomUUID()}`;
    const ref = firestore().collection("apps").doc(`trigger-${randomUUID()}`);
    const versions = async () => ({
      public: Number(await markerVersion(scopes.publicApps)),
      unapproved: Number(await markerVersion(scopes.unapprovedApps)),
      owner: Number(await markerVersion(scopes.appOwner(dev))),
    });
    // A new marker starts at Redis's time in ms; one that exists counts up by one per bump.
    await testRedis().set(markerKey(scopes.appOwner(dev)), "0");
    for (const shared of [scopes.publicApps, scopes.unapprovedApps]) await testRedis().set(markerKey(shared), "0", { nx: true });
    await ref.set({ uid: dev, private: true, approved: false, status: "under-review", name: "x" });
    await triggersSettled();
    const v1 = await versions();
    assert.equal(v1.owner, 1, "the owner's marker was bumped once on create");

    await ref.update({ approved: true, private: false, status: "approved" });
    await triggersSettled();
    const v2 = await versions();
    assert.deepEqual(v2, { public: v1.public + 1, unapproved: v1.unapproved + 1, owner: v1.owner + 1 });

    await ref.update({ name: "renamed" });
    await triggersSettled();
    const v3 = await versions();
    assert.deepEqual(v3, { public: v2.public + 1, unapproved: v2.unapproved, owner: v2.owner + 1 }, "an approved app's edit does not touch testers' views");
  });
});
