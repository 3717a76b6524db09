/**
 * The cache core across processes: two instances with their own module scope, the real
 * Redis behind the Upstash gateway, the real Firestore gRPC server.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { firestore } from "../../functions/src/firestore";
import { MarkerWatcher } from "../../functions/src/cache/marker-watcher";
import { bumpMarkers, decodeMarkerReadings, markerLogLength, markerReadKeys } from "../../functions/src/redis/markers";
import { Instance } from "../../scripts/harness/instance";
import { useInstancePair } from "../support/instance";
import { stack } from "../support/stack";
import { unsignedIdToken } from "../../scripts/harness/id-tokens";
import { testRedis } from "../support/redis";
import { waitUntil } from "../support/wait";

const probeModule = path.join(__dirname, "../support/probe-functions.ts");

describe("coherent cache across instances (real Redis, real Firestore)", function () {
  this.timeout(60_000);
  let a: Instance;
  let b: Instance;
  const as = { uid: "probe-user" };

  useInstancePair((x, y) => ([a, b] = [x, y]), { INSTANCE_EXTRA_MODULE: probeModule });

  const probeDoc = (id: string) => firestore().collection("probes").doc(id);
  const read = async (instance: Instance, kind: "probeSensitive" | "probeOpen", id: string) =>
    (await instance.call<{ value: unknown }>(kind, { id }, as)).value;

  it("both instances cache; a bumped marker makes both refetch within the bound", async () => {
    const id = randomUUID();
    await probeDoc(id).set({ value: "v1" });
    assert.equal(await read(a, "probeOpen", id), "v1");
    assert.equal(await read(b, "probeOpen", id), "v1");
    // Change the source without a marker: both keep serving their cached copy.
    await probeDoc(id).set({ value: "v2" });
    assert.equal(await read(a, "probeOpen", id), "v1");
    assert.equal(await read(b, "probeOpen", id), "v1");
    await bumpMarkers([`probe:${id}`]);
    const bumpedAt = Date.now();
    await Promise.all([a, b].map((instance) => waitUntil(async () => (await read(instance, "probeOpen", id)) === "v2", 5_000, "the refetch")));
    const elapsedMs = Date.now() - bumpedAt;
    assert.ok(elapsedMs <= 2_000, `stale for ${elapsedMs} ms after the marker write`);
  });

  it("serves hits with no Firestore read and amortized marker checks", async () => {
    const id = randomUUID();
    await probeDoc(id).set({ value: 1 });
    await read(a, "probeOpen", id);
    const before = await a.stats();
    stack().reads.reset();
    for (let i = 0; i < 50; i++) await read(a, "probeOpen", id);
    const after = await a.stats();
    assert.equal(stack().reads.total(), 0);
    assert.ok(after.markers.markerChecks - before.markers.markerChecks <= 2, "one marker read per second, not per request");
  });

  it("Redis stopped: tester-derived reads fall through to Firestore, others serve within TTL, nothing throws; Redis back: markers resume", async () => {
    const id = randomUUID();
    await probeDoc(id).set({ value: "before" });
    assert.equal(await read(a, "probeSensitive", id), "before");
    assert.equal(await read(a, "probeOpen", id), "before");
    await probeDoc(id).set({ value: "during" });
    await stack().redis.stop();
    try {
      // Past one poll interval, the instance notices that markers cannot be read.
      await new Promise((r) => setTimeout(r, 1_100));
      assert.equal(await read(a, "probeSensitive", id), "during", "fail closed: read from Firestore");
      assert.equal(await read(a, "probeOpen", id), "before", "fail open: the cached value within its TTL");
    } finally {
      await stack().redis.restart();
    }
    // The gateway reconnects to the restarted Redis by itself, within a second.
    await waitUntil(
      () =>
        bumpMarkers([`probe:${id}`]).then(
          () => true,
          () => false,
        ),
      5_000,
      "Redis to be reachable again",
    );
    await waitUntil(async () => (await read(a, "probeOpen", id)) === "during", 5_000, "markers to resume");
    const stats = await a.stats();
    const sensitive = stats.caches.find((c) => c.name === "probeSensitive");
    assert.ok(sensitive && sensitive.bypassedWhileMarkersUnreadable >= 1);
    assert.equal(stats.markers.markersHealthy, true);
  });

  describe("cacheStats", () => {
    it("answers an admin with the fleet's figures (this instance's included), and refuses everyone else", async () => {
      const admin = await a.request("cacheStats", { headers: { authorization: `Bearer ${unsignedIdToken("boss", { admin: true })}` } });
      assert.equal(admin.status, 200);
      const body = (await admin.json()) as {
        caches: Record<string, { hits: number; hitRate: number; entries: number; bytes: number }>;
        markers: { markerChecks: number };
      };
      const probe = body.caches.probeOpen;
      assert.ok(probe && probe.hits > 0 && probe.entries > 0 && probe.bytes > 0 && probe.hitRate > 0);
      assert.ok(body.markers.markerChecks > 0);
      assert.equal((await a.request("cacheStats", { headers: { authorization: `Bearer ${unsignedIdToken("joe")}` } })).status, 403);
      assert.equal((await a.request("cacheStats", {})).status, 401);
      assert.equal((await a.request("cacheStats", { method: "POST" })).status, 405);
    });
  });
  describe("marker change logs (the bump script on the real Redis)", () => {
    /** Reads markers the way a deployed instance does: version and time key in one MGET, decoded by the codec. */
    const readMarkers = async (scopes: readonly string[]) => decodeMarkerReadings(scopes, await testRedis().mget<unknown[]>(...markerReadKeys(scopes)));
    const reading = async (scope: string) => (await readMarkers([scope]))[0]!;

    it("a new marker starts at Redis's time in ms, and its log names each bump's id from the first version", async () => {
      const scope = `log-probe:${randomUUID()}`;
      const watcher = new MarkerWatcher({ read: readMarkers, pollIntervalMs: 0 });
      const before = await watcher.view([scope]);
      const startedAtMs = Date.now();
      await bumpMarkers([scope], { changedId: "pub,1" });
      await bumpMarkers([scope], { changedId: "pub=2|x" });
      const first = await reading(scope);
      assert.ok(Math.abs(Number(first.version) - 1 - startedAtMs) < 5_000, `version ${first.version} is not a time in ms near ${startedAtMs}`);
      assert.equal(first.firstVersion, Number(first.version) - 1);
      assert.deepEqual([...(first.changedIds ?? []).values()], ["pub,1", "pub=2|x"]);
      await watcher.view([scope]);
      assert.deepEqual(watcher.changedIdsSince([scope], before.tag), ["pub,1", "pub=2|x"], "followed from before the marker existed");

      await bumpMarkers([scope]);
      assert.equal((await reading(scope)).changedIds, undefined, "a bump that names nothing clears the log");
    });

    it(`keeps the last ${markerLogLength} ids; then a reader from further back must refetch in full`, async () => {
      const scope = `log-probe:${randomUUID()}`;
      const watcher = new MarkerWatcher({ read: readMarkers, pollIntervalMs: 0 });
      await bumpMarkers([scope], { changedId: "start" });
      const start = await watcher.view([scope]);
      for (let i = 0; i < markerLogLength; i++) await bumpMarkers([scope], { changedId: `app-${i}` });
      await watcher.view([scope]);
      assert.equal(watcher.changedIdsSince([scope], start.tag)?.length, markerLogLength, "exactly covered");
      await bumpMarkers([scope], { changedId: "one-more" });
      await watcher.view([scope]);
      assert.equal(watcher.changedIdsSince([scope], start.tag), undefined);
      const last = await reading(scope);
      assert.equal(last.changedIds?.size, markerLogLength);
      assert.equal(last.firstVersion, undefined, "the log no longer reaches the first version");
    });
  });
});
