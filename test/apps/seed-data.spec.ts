/**
 * docs/apps-seed.json is what `npm start` seeds and what the README's sample calls show:
 * this spec loads it (under fresh ids) and checks that getAvailableApps serves exactly the
 * lists it promises, so the demo data can never drift from the code.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { firestore } from "../../functions/src/firestore";
import { Instance, startInstance } from "../../scripts/harness/instance";
import { testRedis } from "../support/redis";
import { triggersSettled } from "../support/stack";
import { waitUntil } from "../support/wait";

interface SeedApp {
  id: string;
  owner: string;
  [field: string]: unknown;
}

interface AppsSeed {
  apps: SeedApp[];
  testers: { user: string; apps: string[] }[];
  redis: { sets: Record<string, string[]>; counters: Record<string, number> };
  expected_getAvailableApps: Record<string, string[]>;
}

describe("docs/apps-seed.json", function () {
  // The seed's writes and their triggers, then an instance's first calls, on a busy 2-core machine.
  this.timeout(60_000);
  const seed = JSON.parse(readFileSync(path.join(__dirname, "../../docs/apps-seed.json"), "utf8")) as AppsSeed;
  const r = randomUUID().slice(0, 8);
  const uidOf = (user: string) => `seed-${user}-${r}`;
  const idOf = (id: string) => `${r}-${id}`;
  let instance: Instance;

  before(async () => {
    instance = await startInstance();
    for (const { id, owner, case: _case, ...fields } of seed.apps) {
      await firestore()
        .collection("apps")
        .doc(idOf(id))
        .set({ ...fields, id: idOf(id), uid: uidOf(owner), created_at: new Date() });
    }
    for (const tester of seed.testers) {
      await firestore()
        .collection("testers")
        .doc(uidOf(tester.user))
        .set({ uid: uidOf(tester.user), apps: tester.apps.map(idOf), added_at: new Date() });
    }
    // Keys name users as `{alice}` and apps by id: the same mapping as above.
    const mapKey = (key: string) =>
      key.replace(/\{(\w+)\}/, (_m, user: string) => uidOf(user)).replace(/^apps:([^:]+):/, (_m, id: string) => `apps:${idOf(id)}:`);
    for (const [key, members] of Object.entries(seed.redis.sets)) {
      const [first, ...rest] = members.map(idOf);
      if (first !== undefined) await testRedis().sadd(mapKey(key), first, ...rest);
    }
    for (const [key, count] of Object.entries(seed.redis.counters)) await testRedis().set(mapKey(key), String(count));
    await triggersSettled();
  });
  after(async () => {
    await instance?.stop();
  });

  it("serves each demo user exactly the apps the seed description promises", async () => {
    const ours = new Set(seed.apps.map((app) => idOf(app.id)));
    for (const [user, expected] of Object.entries(seed.expected_getAvailableApps)) {
      const want = expected.map(idOf).sort();
      let got: string[] = [];
      // The instance sees new markers at its next poll: wait for it (how soon is not this spec's point).
      await waitUntil(async () => {
        const { apps } = await instance.call<{ apps: { id: string }[] }>("getAvailableApps", {}, { uid: uidOf(user) });
        got = apps
          .map((app) => app.id)
          .filter((id) => ours.has(id))
          .sort();
        return JSON.stringify(got) === JSON.stringify(want);
      }, `${user}'s apps`).catch(() => assert.deepEqual(got, want, `${user}'s apps`));
    }
  });

  it("alice's enabled app and install count come from the seeded Redis keys; rejected is flagged", async () => {
    const { apps } = await instance.call<{ apps: { id: string; enabled: boolean; installs: number; rejected: boolean }[] }>(
      "getAvailableApps",
      {},
      { uid: uidOf("alice") },
    );
    const byId = new Map(apps.map((app) => [app.id, app]));
    assert.deepEqual(byId.get(idOf("daily-summary")), { ...byId.get(idOf("daily-summary")), enabled: true, installs: 1, rejected: false });
    assert.equal(byId.get(idOf("alice-spam-filter"))?.rejected, true);
    assert.equal(byId.get(idOf("focus-coach"))?.enabled, false);
  });
});
