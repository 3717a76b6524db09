/**
 * `npm run bench:cache`: the cache core's own figures (not a test; nothing here asserts time).
 * 1. Cache-hit `get` throughput of our layer vs bare lru-cache on the same keys and options.
 * 2. Freeze-once vs copy-per-read for an app list (why cached values are frozen).
 * 3. Redis commands per request for a steady mixed workload at 1,000 requests/s on one
 *    instance, against the real Redis behind the Upstash gateway (time compressed with an
 *    injected clock: the same code, one simulated millisecond per request).
 */
import { randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";
import { Redis } from "@upstash/redis";
import { ManualClock } from "../functions/src/common/clock";
import { CoherentCache } from "../functions/src/cache/coherent-cache";
import { LocalCache } from "../functions/src/cache/local-cache";
import { MarkerWatcher } from "../functions/src/cache/marker-watcher";
import { deepFreeze } from "../functions/src/cache/values";
import { decodeMarkerReadings, markerKey, markerReadKeys, scopes as markerScopes } from "../functions/src/redis/markers";
import { startRedisServer } from "../scripts/stack/redis-server";
import { startUpstashGateway } from "../scripts/stack/upstash-gateway";

const keyCount = 10_000;
const lookups = 2_000_000;

function opsPerSecond(run: () => void, operations: number): number {
  run(); // warm up the JIT
  const startedAt = process.hrtime.bigint();
  run();
  const elapsedNs = Number(process.hrtime.bigint() - startedAt);
  return operations / (elapsedNs / 1e9);
}

function hitThroughput() {
  const keys = Array.from({ length: keyCount }, (_, i) => `mentor:user-${i}`);
  const order = Array.from({ length: lookups }, (_, i) => keys[(i * 7919) % keyCount]!);
  const options = { max: 100_000, maxSize: 64 * 1024 * 1024, ttl: 30_000, ttlResolution: 0, sizeCalculation: () => 1 };
  const bare = new LRUCache<string, { value: number }>(options);
  const ours = new LocalCache<number>({ name: "bench", ttlMs: 30_000, maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 });
  keys.forEach((key, i) => {
    bare.set(key, { value: i });
    ours.set(key, i);
  });
  let sink = 0;
  const bareOps = opsPerSecond(() => {
    for (const key of order) sink += bare.get(key)!.value;
  }, lookups);
  const ourOps = opsPerSecond(() => {
    for (const key of order) sink += ours.get(key)!.value;
  }, lookups);
  if (sink === 42) console.log(""); // keep the loops from being optimized away
  return { bareOps, ourOps, ratio: ourOps / bareOps };
}

async function coherentHitThroughput() {
  const clock = new ManualClock();
  const watcher = new MarkerWatcher({ read: async (scopes) => scopes.map(() => ({ version: "1" })), clock, pollIntervalMs: 1000 });
  const cache = new CoherentCache<number>({ name: "bench", ttlMs: 30_000, maxEntries: 100_000, maxBytes: 64 * 1024 * 1024, clock }, () => watcher);
  const scopes = Array.from({ length: 1000 }, (_, i) => [markerScopes.mentor(`user-${i}`)]);
  for (let i = 0; i < 1000; i++) await cache.get(`mentor:user-${i}`, scopes[i]!, async () => i);
  const calls = 500_000;
  const run = async () => {
    for (let i = 0; i < calls; i++) await cache.get(`mentor:user-${i % 1000}`, scopes[i % 1000]!, async () => -1);
  };
  await run();
  const startedAt = process.hrtime.bigint();
  await run();
  return calls / (Number(process.hrtime.bigint() - startedAt) / 1e9);
}

function freezeVersusCopy() {
  const appList = Array.from({ length: 300 }, (_, i) => ({
    id: `app-${i}`,
    name: `App ${i}`,
    uid: `owner-${i % 40}`,
    private: false,
    approved: true,
    status: "approved",
    disabled: false,
    category: "productivity",
    description: "x".repeat(200),
    image: `https://example.invalid/${i}.png`,
    capabilities: ["chat", "memories"],
    created_at: "2026-01-01T00:00:00Z",
  }));
  const reads = 2_000;
  const freezeStartedAt = process.hrtime.bigint();
  const frozen = deepFreeze(structuredClone(appList));
  const freezeOnceMs = Number(process.hrtime.bigint() - freezeStartedAt) / 1e6;
  let sink = 0;
  const frozenReadOps = opsPerSecond(() => {
    for (let i = 0; i < reads; i++) sink += frozen.length;
  }, reads);
  const copyReadOps = opsPerSecond(() => {
    for (let i = 0; i < reads; i++) sink += structuredClone(appList).length;
  }, reads);
  if (sink === 42) console.log("");
  return { freezeOnceMs, frozenReadOps, copyReadOps };
}

async function redisCommandsPerRequest() {
  const redisServer = await startRedisServer();
  const token = randomBytes(8).toString("hex");
  const gateway = await startUpstashGateway({ redisUrl: redisServer.url, token });
  try {
    const redis = new Redis({ url: gateway.url, token, automaticDeserialization: false });
    let commands = 0;
    const clock = new ManualClock();
    const watcher = new MarkerWatcher({
      clock,
      pollIntervalMs: 1000,
      read: async (scopes) => {
        commands++;
        return decodeMarkerReadings(scopes, await redis.mget<unknown[]>(...markerReadKeys(scopes)));
      },
    });
    const mentor = new CoherentCache<number>({ name: "mentor", ttlMs: 30_000, maxEntries: 100_000, maxBytes: 64 << 20, clock }, () => watcher);
    const tester = new CoherentCache<boolean>(
      { name: "tester", ttlMs: 30_000, maxEntries: 100_000, maxBytes: 64 << 20, clock, securitySensitive: true },
      () => watcher,
    );
    const users = 500;
    const requests = 60_000; // one simulated minute at 1,000 requests/s
    for (let i = 0; i < requests; i++) {
      const uid = `u${(i * 31) % users}`;
      if (i % 2 === 0) await mentor.get(`mentor:${uid}`, [markerScopes.mentor(uid)], async () => 0);
      else await tester.get(`tester:${uid}`, [markerScopes.tester(uid)], async () => false);
      if (i % 5_000 === 0) await redis.incr(markerKey(markerScopes.mentor(`u${i % users}`))); // a change now and then
      clock.advance(1);
    }
    return { requests, commands, perRequest: commands / requests, markerChecks: watcher.stats().markerChecks };
  } finally {
    await gateway.close();
    await redisServer.stop();
  }
}

async function main() {
  const hits = hitThroughput();
  const coherentOps = await coherentHitThroughput();
  const copies = freezeVersusCopy();
  const redisFigures = await redisCommandsPerRequest();
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log("Cache core benchmark (node " + process.version + ")");
  console.log("");
  console.log("1. Cache-hit get, same keys and options (" + keyCount.toLocaleString() + " keys, " + lookups.toLocaleString() + " lookups)");
  console.log(`   bare lru-cache        ${fmt(hits.bareOps)} gets/s`);
  console.log(`   LocalCache.get        ${fmt(hits.ourOps)} gets/s`);
  console.log(`   ratio ours/bare       ${hits.ratio.toFixed(2)}   (goal >= 0.50: ${hits.ratio >= 0.5 ? "met" : "NOT met"})`);
  console.log(`   CoherentCache.get     ${fmt(coherentOps)} awaited hits/s (marker view + tag check, async)`);
  console.log("");
  console.log("2. A 300-app list served 2,000 times");
  console.log(`   deep freeze once      ${copies.freezeOnceMs.toFixed(2)} ms, then ${fmt(copies.frozenReadOps)} reads/s`);
  console.log(`   structuredClone/read  ${fmt(copies.copyReadOps)} reads/s`);
  console.log("");
  console.log("3. Redis commands per request, steady mix at 1,000 requests/s on one instance (real Redis via the gateway)");
  console.log(
    `   ${redisFigures.requests.toLocaleString()} requests, ${redisFigures.commands} marker MGETs: ${redisFigures.perRequest.toFixed(4)} per request (goal <= 0.1: ${redisFigures.perRequest <= 0.1 ? "met" : "NOT met"})`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
