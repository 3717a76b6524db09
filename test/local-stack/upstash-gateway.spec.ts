/**
 * Conformance of the local Upstash REST gateway, driven by the official @upstash/redis client
 * against a real redis-server, plus raw HTTP checks of the protocol edges the client hides.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import IORedis from "ioredis";
import { Redis } from "@upstash/redis";
import { RunningRedis, startRedisServer } from "../../scripts/stack/redis-server";
import { startUpstashGateway, UpstashGateway } from "../../scripts/stack/upstash-gateway";
import { waitUntil } from "../support/wait";

const TOKEN = `test-token-${randomUUID()}`;

describe("local Upstash REST gateway", function () {
  let redisServer: RunningRedis;
  let gateway: UpstashGateway;
  /** Default options: base64 response encoding and automatic deserialization on. */
  let redis: Redis;
  let rawRedis: Redis;
  let utf8Redis: Redis;
  let keyCounter = 0;
  const key = (name: string) => `gw:${process.pid}:${++keyCounter}:${name}`;

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
      body,
    });

  before(async function () {
    redisServer = await startRedisServer();
    gateway = await startUpstashGateway({ port: 0, redisUrl: redisServer.url, token: TOKEN });
    redis = new Redis({ url: gateway.url, token: TOKEN, enableTelemetry: false });
    rawRedis = new Redis({ url: gateway.url, token: TOKEN, automaticDeserialization: false, enableTelemetry: false });
    utf8Redis = new Redis({ url: gateway.url, token: TOKEN, responseEncoding: false, enableTelemetry: false });
  });

  after(async function () {
    await gateway?.close();
    await redisServer?.stop();
  });

  describe("values through the official client", function () {
    const tricky = [
      "plain ascii",
      "emoji 😀🎉👩‍👩‍👧",
      "CJK 中文字符 日本語 한국어",
      "\u0000\u00ff",
      "T0s=",
      "aGVsbG8gd29ybGQ=",
      "OK",
      "",
      "12345678901234567890",
      'line\nbreak "quoted" \\ backslash',
    ];

    for (const [label, client] of [
      ["default options", () => redis],
      ["automaticDeserialization: false", () => rawRedis],
      ["responseEncoding: false", () => utf8Redis],
    ] as const) {
      it(`round-trips UTF-8 and binary-looking strings (${label})`, async function () {
        for (const value of tricky) {
          const k = key("str");
          assert.equal(await client().set(k, value), "OK");
          assert.equal(await client().get<string>(k), value, `value ${JSON.stringify(value)}`);
        }
      });
    }

    it("deserializes numbers and JSON by default and leaves them as text when asked", async function () {
      const numberKey = key("num");
      const numericStringKey = key("numeric-string");
      const floatKey = key("float");
      const objectKey = key("obj");
      const object = { a: 1, nested: { list: [1, "x", null], emoji: "😀" }, flag: true, none: null };
      await redis.set(numberKey, 42);
      await redis.set(numericStringKey, "42");
      await redis.set(floatKey, 3.5);
      await redis.set(objectKey, object);

      assert.equal(await redis.get(numberKey), 42);
      // Documented client behaviour: a numeric string comes back as a number.
      assert.equal(await redis.get(numericStringKey), 42);
      assert.equal(await redis.get(floatKey), 3.5);
      assert.deepEqual(await redis.get(objectKey), object);

      assert.equal(await rawRedis.get(numberKey), "42");
      assert.equal(await rawRedis.get(floatKey), "3.5");
      const rawObject = await rawRedis.get<string>(objectKey);
      assert.equal(typeof rawObject, "string");
      assert.deepEqual(JSON.parse(rawObject ?? "null"), object);
    });

    it("returns null for missing keys and fields", async function () {
      assert.equal(await redis.get(key("missing")), null);
      assert.equal(await rawRedis.get(key("missing")), null);
      assert.equal(await redis.hget(key("missing-hash"), "field"), null);
    });

    it("handles lists (LPUSH/LRANGE)", async function () {
      const k = key("list");
      assert.equal(await redis.lpush(k, "a", "b", "ü😀"), 3);
      assert.deepEqual(await redis.lrange(k, 0, -1), ["ü😀", "b", "a"]);
      assert.deepEqual(await rawRedis.lrange(k, 1, 1), ["b"]);
      assert.deepEqual(await redis.lrange(key("missing-list"), 0, -1), []);
    });

    it("handles hashes (HSET/HGETALL)", async function () {
      const k = key("hash");
      assert.equal(await redis.hset(k, { name: "Ada", age: 36, rocket: "🚀" }), 3);
      assert.deepEqual(await redis.hgetall(k), { name: "Ada", age: 36, rocket: "🚀" });
      // Without deserialization the client hands back Redis' flat field/value array.
      const flat = (await rawRedis.hgetall(k)) as unknown as string[];
      assert.ok(Array.isArray(flat));
      const pairs = new Map<string, string>();
      for (let i = 0; i < flat.length; i += 2) pairs.set(String(flat[i]), String(flat[i + 1]));
      assert.deepEqual(Object.fromEntries(pairs), { name: "Ada", age: "36", rocket: "🚀" });
      assert.equal(await redis.hgetall(key("missing-hash")), null);
    });

    it("handles sets (SADD/SMEMBERS/SISMEMBER)", async function () {
      const k = key("set");
      assert.equal(await redis.sadd(k, "x", "y", "中"), 3);
      assert.equal(await redis.sadd(k, "x"), 0);
      assert.deepEqual(((await redis.smembers(k)) as string[]).sort(), ["x", "y", "中"].sort());
      assert.equal(await redis.sismember(k, "中"), 1);
      assert.equal(await redis.sismember(k, "nope"), 0);
    });

    it("handles sorted sets (ZADD/ZRANGE WITHSCORES)", async function () {
      const k = key("zset");
      assert.equal(await redis.zadd(k, { score: 2.5, member: "b" }, { score: 1, member: "a" }, { score: 10, member: "ç" }), 3);
      assert.deepEqual(await redis.zrange(k, 0, -1), ["a", "b", "ç"]);
      assert.deepEqual(await redis.zrange(k, 0, -1, { withScores: true }), ["a", 1, "b", 2.5, "ç", 10]);
      assert.deepEqual(await rawRedis.zrange(k, 0, 0, { withScores: true }), ["a", "1"]);
      assert.equal(await redis.zscore(k, "b"), 2.5);
    });

    it("applies SET EX, TTL and EXPIRE, and really expires keys", async function () {
      const withEx = key("ex");
      const persistent = key("persistent");
      const shortLived = key("px");
      // TTLs of days, so the few seconds between a command and the TTL read are not what decides.
      assert.equal(await redis.set(withEx, "v", { ex: 100_000 }), "OK");
      const ttlSeconds = await redis.ttl(withEx);
      assert.ok(ttlSeconds > 90_000 && ttlSeconds <= 100_000, `ttl was ${ttlSeconds}`);

      await redis.set(persistent, "v");
      assert.equal(await redis.ttl(persistent), -1);
      assert.equal(await redis.expire(persistent, 50_000), 1);
      const afterExpire = await redis.ttl(persistent);
      assert.ok(afterExpire > 40_000 && afterExpire <= 50_000, `ttl was ${afterExpire}`);
      assert.equal(await redis.ttl(key("missing")), -2);
      assert.equal(await redis.expire(key("missing"), 50), 0);

      await redis.set(shortLived, "v", { px: 100 });
      await sleep(250);
      assert.equal(await redis.get(shortLived), null);
    });

    it("counts with INCR/INCRBY/DECR", async function () {
      const k = key("counter");
      assert.equal(await redis.incr(k), 1);
      assert.equal(await redis.incrby(k, 41), 42);
      assert.equal(await redis.decr(k), 41);
      assert.equal(await redis.incrbyfloat(k, 0.5), 41.5);
    });

    it("answers MGET with nulls for missing keys, keeping nested strings intact", async function () {
      const a = key("a");
      const ok = key("ok");
      const b = key("b");
      await redis.set(a, "alpha");
      // "OK" nested in an array must still be base64 ("T0s="): the client decodes "OK" there.
      await redis.set(ok, "OK");
      await redis.set(b, { n: 1 });
      assert.deepEqual(await redis.mget(a, key("missing"), ok, b), ["alpha", null, "OK", { n: 1 }]);
      assert.deepEqual(await rawRedis.mget(a, key("missing"), ok), ["alpha", null, "OK"]);
    });

    it("honours SET NX", async function () {
      const k = key("nx");
      assert.equal(await redis.set(k, "first", { nx: true }), "OK");
      assert.equal(await redis.set(k, "second", { nx: true }), null);
      assert.equal(await redis.get(k), "first");
    });
  });

  describe("pipelines and transactions", function () {
    it("runs a pipeline and returns results in order", async function () {
      const k = key("pipe");
      const results = await redis.pipeline().set(k, 5).incr(k).get(k).del(k).exec();
      assert.deepEqual(results, ["OK", 6, 6, 1]);
    });

    it("reports a failing pipeline entry without failing the others", async function () {
      const k = key("pipe-err");
      const after = key("pipe-after");
      await assert.rejects(
        redis.pipeline().set(k, "not a number").incr(k).set(after, "ran").exec(),
        (err: Error) => err.name === "UpstashError" && /Command 2 \[ incr \] failed: ERR value is not an integer/.test(err.message),
      );
      // The other entries were still executed (a pipeline is not atomic).
      assert.equal(await redis.get(after), "ran");

      const kept = await redis.pipeline().set(k, "still text").incr(k).get(k).exec({ keepErrors: true });
      assert.equal(kept.length, 3);
      assert.deepEqual(kept[0], { error: undefined, result: "OK" });
      assert.match(String(kept[1]?.error), /ERR value is not an integer or out of range/);
      assert.deepEqual(kept[2], { error: undefined, result: "still text" });
    });

    it("answers the raw pipeline endpoint with per-entry results and errors", async function () {
      const k = key("raw-pipe");
      const res = await post("/pipeline", JSON.stringify([["SET", k, "x"], ["INCR", k], ["GET", k], ["NOSUCHCMD"]]));
      assert.equal(res.status, 200);
      const body = (await res.json()) as { result?: unknown; error?: string }[];
      assert.deepEqual(body[0], { result: "OK" });
      assert.match(String(body[1]?.error), /not an integer/);
      assert.deepEqual(body[2], { result: "x" });
      assert.match(String(body[3]?.error), /unknown command/i);
      assert.equal(body.length, 4);
    });

    it("runs MULTI/EXEC transactions through redis.multi()", async function () {
      const k = key("tx");
      const results = await redis.multi().set(k, 1).incr(k).incrby(k, 10).get(k).exec();
      assert.deepEqual(results, ["OK", 2, 12, 12]);
    });

    it("really wraps /multi-exec in MULTI/EXEC, isolated from concurrent requests", async function () {
      const direct = new IORedis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      await direct.connect();
      try {
        const execCalls = async () => Number(/cmdstat_exec:calls=(\d+)/.exec(await direct.info("commandstats"))?.[1] ?? 0);
        const k = key("tx-isolated");
        const execBefore = await execCalls();
        const transactions = Array.from({ length: 50 }, () => redis.multi().incr(k).incr(k).incr(k).exec());
        const interleaved = Array.from({ length: 50 }, () => redis.incr(k));
        const [txResults] = await Promise.all([Promise.all(transactions), Promise.all(interleaved)]);
        for (const [first, second, third] of txResults) {
          assert.equal(second, Number(first) + 1);
          assert.equal(third, Number(first) + 2);
        }
        assert.equal(await redis.get(k), 200);
        assert.equal((await execCalls()) - execBefore, 50);
      } finally {
        direct.disconnect();
      }
    });

    it("keeps per-command errors inside a transaction and discards it when a command is refused", async function () {
      const k = key("tx-err");
      const untouched = key("tx-untouched");
      const runtime = await post(
        "/multi-exec",
        JSON.stringify([
          ["SET", k, "text"],
          ["INCR", k],
          ["SET", untouched, "set"],
        ]),
      );
      assert.equal(runtime.status, 200);
      const entries = (await runtime.json()) as { result?: unknown; error?: string }[];
      assert.deepEqual(entries[0], { result: "OK" });
      assert.match(String(entries[1]?.error), /not an integer/);
      assert.deepEqual(entries[2], { result: "OK" });
      assert.equal(entries.length, 3);
      await redis.del(untouched);

      // Wrong arity is refused at queue time: EXECABORT, and nothing of the transaction applies.
      const aborted = await post(
        "/multi-exec",
        JSON.stringify([
          ["SET", untouched, "v"],
          ["SET", k],
        ]),
      );
      assert.equal(aborted.status, 400);
      const abortBody = (await aborted.json()) as { error?: string };
      assert.match(String(abortBody.error), /EXECABORT/);
      assert.match(String(abortBody.error), /wrong number of arguments/);
      assert.equal(await redis.get(untouched), null);

      await assert.rejects(redis.multi().set(k, "a").lpush(k, "b").exec(), /WRONGTYPE/);
    });

    it("answers 1,000 concurrent auto-pipelined INCR/GET calls correctly", async function () {
      const auto = new Redis({ url: gateway.url, token: TOKEN, enableAutoPipelining: true, enableTelemetry: false });
      const counter = key("auto-counter");
      const valueKeys = Array.from({ length: 1000 }, (_, i) => key(`auto-${i}`));
      const seed = redis.pipeline();
      valueKeys.forEach((k, i) => seed.set(k, `value-${i}-😀`));
      await seed.exec();

      const increments = Array.from({ length: 1000 }, () => auto.incr(counter));
      const reads = valueKeys.map((k) => auto.get<string>(k));
      const [counts, values] = await Promise.all([Promise.all(increments), Promise.all(reads)]);

      assert.deepEqual(
        [...counts].sort((x, y) => x - y),
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
      values.forEach((value, i) => assert.equal(value, `value-${i}-😀`));
      const batches = (auto as unknown as { pipelineCounter: number }).pipelineCounter;
      assert.ok(batches > 0 && batches <= 10, `expected batched requests, got ${batches} pipelines`);
    });
  });

  describe("HTTP protocol edges", function () {
    it("rejects a wrong or missing token with 401", async function () {
      const intruder = new Redis({ url: gateway.url, token: "wrong-token", retry: { retries: 0 }, enableTelemetry: false });
      await assert.rejects(intruder.get(key("x")), (err: Error) => err.name === "UpstashError" && /Unauthorized/.test(err.message));

      const noAuth = await fetch(`${gateway.url}/`, { method: "POST", body: JSON.stringify(["PING"]) });
      assert.equal(noAuth.status, 401);
      assert.equal(typeof ((await noAuth.json()) as { error?: unknown }).error, "string");
    });

    it("rejects malformed bodies with 400 and keeps serving", async function () {
      for (const body of ["{not json", '{"cmd":"GET"}', "[]", '"PING"', '[["nested"]]', "[null]"]) {
        const res = await post("/", body);
        assert.equal(res.status, 400, `body ${body}`);
        assert.equal(typeof ((await res.json()) as { error?: unknown }).error, "string");
      }
      for (const body of ["{oops", "[]", '["GET","k"]', "[[]]"]) {
        const res = await post("/pipeline", body);
        assert.equal(res.status, 400, `pipeline body ${body}`);
        await res.arrayBuffer();
      }
      const ping = await post("/", JSON.stringify(["PING"]));
      assert.equal(ping.status, 200);
      assert.deepEqual(await ping.json(), { result: "PONG" });
      assert.equal(await redis.echo("still up"), "still up");
    });

    it("answers 404 for unknown routes and 405 for unsupported methods", async function () {
      const pipelineChild = await post("/pipeline/extra", "[]");
      assert.equal(pipelineChild.status, 404);
      assert.equal(typeof ((await pipelineChild.json()) as { error?: unknown }).error, "string");
      const monitor = await post("/monitor", "");
      assert.equal(monitor.status, 404);
      await monitor.arrayBuffer();
      const del = await fetch(`${gateway.url}/get/x`, { method: "DELETE", headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(del.status, 405);
      await del.arrayBuffer();
    });

    it("returns a Redis error as 400 with an error message", async function () {
      const res = await post("/", JSON.stringify(["GET"]));
      assert.equal(res.status, 400);
      assert.match(String(((await res.json()) as { error?: string }).error), /wrong number of arguments/);
      const s = key("wrongtype");
      await redis.set(s, "v");
      await assert.rejects(redis.lpush(s, "x"), (err: Error) => err.name === "UpstashError" && /WRONGTYPE/.test(err.message));
    });

    it("refuses connection-state commands that would leak into other requests", async function () {
      const res = await post("/", JSON.stringify(["MULTI"]));
      assert.equal(res.status, 400);
      await res.arrayBuffer();
      const res2 = await post("/", JSON.stringify(["SELECT", "1"]));
      assert.equal(res2.status, 400);
      await res2.arrayBuffer();
      // The shared connection is still on db 0 and not inside a transaction.
      const k = key("after-refusal");
      assert.equal(await redis.set(k, "v"), "OK");
      assert.equal(await redis.get(k), "v");
    });

    it("base64-encodes every string at any depth, and only strings, when asked", async function () {
      const script = "return {1, {2, 'x', {'OK'}}, redis.status_reply('OK'), false}";
      const encoded = await post("/", JSON.stringify(["EVAL", script, 0]), { "upstash-encoding": "base64" });
      assert.deepEqual(await encoded.json(), { result: [1, [2, "eA==", ["T0s="]], "T0s=", null] });
      const plain = await post("/", JSON.stringify(["EVAL", script, 0]));
      assert.deepEqual(await plain.json(), { result: [1, [2, "x", ["OK"]], "OK", null] });

      const k = key("b64");
      const set = await post("/", JSON.stringify(["SET", k, "bar"]), { "upstash-encoding": "base64" });
      assert.deepEqual(await set.json(), { result: "OK" });
      const get = await post("/", JSON.stringify(["GET", k]), { "upstash-encoding": "base64" });
      assert.deepEqual(await get.json(), { result: "YmFy" });
      const pipe = await post(
        "/pipeline",
        JSON.stringify([
          ["SET", k, "bar"],
          ["GET", k],
          ["STRLEN", k],
        ]),
        { "upstash-encoding": "base64" },
      );
      assert.deepEqual(await pipe.json(), [{ result: "OK" }, { result: "YmFy" }, { result: 3 }]);
    });

    it("is binary-safe in both directions (path form with a raw POST body)", async function () {
      const k = key("binary");
      const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41]);
      const set = await fetch(`${gateway.url}/set/${encodeURIComponent(k)}?EX=100000`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: bytes,
      });
      assert.deepEqual(await set.json(), { result: "OK" });
      const get = await fetch(`${gateway.url}/get/${encodeURIComponent(k)}?_token=${TOKEN}`, { headers: { "upstash-encoding": "base64" } });
      assert.deepEqual(await get.json(), { result: bytes.toString("base64") });
      const ttl = await fetch(`${gateway.url}/ttl/${encodeURIComponent(k)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const ttlSeconds = ((await ttl.json()) as { result: number }).result;
      assert.ok(ttlSeconds > 90_000 && ttlSeconds <= 100_000, `ttl was ${ttlSeconds}`);
      // Without base64 the invalid UTF-8 bytes become U+FFFD, as Upstash documents.
      const lossy = await fetch(`${gateway.url}/get/${encodeURIComponent(k)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.deepEqual(await lossy.json(), { result: "\ufffd\ufffd\u0000\ufffdA" });
    });

    it("sends an upstash-sync-token header that moves forward", async function () {
      const first = await post("/", JSON.stringify(["PING"]));
      const second = await post("/", JSON.stringify(["PING"]));
      await Promise.all([first.arrayBuffer(), second.arrayBuffer()]);
      const a = Number(first.headers.get("upstash-sync-token"));
      const b = Number(second.headers.get("upstash-sync-token"));
      assert.ok(Number.isFinite(a) && a > 0, `token ${first.headers.get("upstash-sync-token")}`);
      assert.ok(b > a, `tokens ${a} then ${b}`);
    });
  });

  describe("Redis outage", function () {
    it("fails fast while Redis is down and recovers by itself after a restart", async function () {
      const k = key("outage");
      const fastFail = new Redis({ url: gateway.url, token: TOKEN, retry: { retries: 0 }, enableTelemetry: false });
      assert.equal(await fastFail.set(k, "before"), "OK");

      await redisServer.stop();
      // Fast means refused at once (nothing queued for a Redis that is away), not given up on
      // after the gateway's command timeout: told by the error, whatever this machine's speed.
      for (const attempt of [() => fastFail.get(k), () => fastFail.pipeline().get(k).exec(), () => fastFail.multi().get(k).exec()]) {
        await assert.rejects(attempt(), (err: Error) => {
          assert.equal(err.name, "UpstashError", err.message);
          assert.match(err.message, /unreachable/i);
          assert.doesNotMatch(err.message, /timed out/i, "failed by the command timeout, not at once");
          return true;
        });
      }
      const raw = await post("/", JSON.stringify(["PING"]));
      assert.ok(raw.status >= 500, `status ${raw.status}`);
      await raw.arrayBuffer();

      await redisServer.restart();
      await waitUntil(
        () =>
          fastFail.set(k, "after").then(
            () => true,
            () => false,
          ),
        "the gateway to reconnect by itself",
      );
      assert.equal(await fastFail.get(k), "after");
      assert.equal(await redis.incr(key("after-outage")), 1);
    });
  });
});
