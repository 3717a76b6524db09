/**
 * The gate in front of the Functions emulator (scripts/stack/functions-gate.ts): per function,
 * at most `inFlightPerFunction` requests reach the emulator at once, the rest wait in order,
 * and a request whose client gave up while waiting never reaches it. The emulator here is a
 * plain HTTP server that holds each request until the spec releases it, so what the gate lets
 * through is counted exactly, on any machine. The launcher's spec covers the real emulator.
 */
import assert from "node:assert/strict";
import { createServer, IncomingMessage, request, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { calledFunction, FunctionsGate, startFunctionsGate } from "../../scripts/stack/functions-gate";
import { waitUntil } from "../support/wait";

interface Held {
  path: string;
  body: string;
  res: ServerResponse;
}

describe("the Functions emulator's gate (npm start)", () => {
  let upstream: Server;
  let held: Held[];
  let gate: FunctionsGate;

  beforeEach(async () => {
    held = [];
    upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => held.push({ path: req.url ?? "", body, res }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    gate = await startFunctionsGate({ port: 0, emulatorPort: (upstream.address() as AddressInfo).port, inFlightPerFunction: 2 });
  });

  afterEach(async () => {
    for (const { res } of held) res.end();
    await gate.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  /** A POST through the gate; `abort` gives up on it (a client timeout that closes the connection). */
  function post(path: string, body: string) {
    const controller = new AbortController();
    const answered = fetch(`${gate.url}${path}`, { method: "POST", body, signal: controller.signal }).then(async (r) => ({
      status: r.status,
      text: await r.text(),
    }));
    answered.catch(() => undefined);
    return { answered, abort: () => controller.abort() };
  }

  const release = (count: number) => {
    for (const { res, body } of held.splice(0, count)) res.end(`done ${body}`);
  };

  it("lets at most 2 requests of one function through at once; the rest follow in order as each answers", async () => {
    const calls = Array.from({ length: 5 }, (_, i) => post("/demo/us-central1/recordTranscriptionUsage", String(i)));
    await waitUntil(() => held.length === 2, "two requests at the emulator", 10_000);
    assert.equal(gate.stats()["us-central1/recordTranscriptionUsage"]?.maxQueued, 3);
    const reached: string[] = [];
    while (reached.length < 5) {
      await waitUntil(() => held.length > 0, "the next request at the emulator", 10_000);
      assert.ok(held.length <= 2, `${held.length} requests of one function at the emulator`);
      reached.push(held[0]!.body);
      release(1);
    }
    assert.deepEqual(reached.slice(2), ["2", "3", "4"], "the waiting ones went in the order they came");
    assert.deepEqual(
      (await Promise.all(calls.map((c) => c.answered))).map((a) => a.text),
      ["done 0", "done 1", "done 2", "done 3", "done 4"],
    );
  });

  it("queues each function on its own: a busy one does not hold up another", async () => {
    for (let i = 0; i < 3; i++) post("/demo/us-central1/getCredits", `c${i}`);
    await waitUntil(() => held.length === 2, "getCredits at its limit", 10_000);
    const other = post("/demo/us-central1/getAvailableApps", "a");
    await waitUntil(() => held.some((h) => h.body === "a"), "getAvailableApps past the busy getCredits", 10_000);
    release(held.length);
    assert.equal((await other.answered).status, 200);
  });

  it("a request whose client gave up while it waited never reaches the emulator", async () => {
    const first = [post("/demo/us-central1/getCredits", "0"), post("/demo/us-central1/getCredits", "1")];
    await waitUntil(() => held.length === 2, "two at the emulator", 10_000);
    const gaveUp = post("/demo/us-central1/getCredits", "gave-up");
    const kept = post("/demo/us-central1/getCredits", "kept");
    await waitUntil(() => gate.stats()["us-central1/getCredits"]?.maxQueued === 2, "two waiting", 10_000);
    gaveUp.abort();
    await waitUntil(() => gate.stats()["us-central1/getCredits"]?.abandoned === 1, "the gate to drop it", 10_000);
    release(2);
    await Promise.all(first.map((c) => c.answered));
    await waitUntil(() => held.length === 1, "the kept one at the emulator", 10_000);
    assert.equal(held[0]?.body, "kept");
    release(1);
    assert.equal((await kept.answered).text, "done kept");
    assert.equal(gate.stats()["us-central1/getCredits"]?.forwarded, 3);
  });

  it("passes the emulator's own paths (backends, trigger deliveries) straight through", async () => {
    assert.equal(calledFunction("/backends"), undefined);
    assert.equal(calledFunction("/functions/projects/demo/triggers/us-central1-onUserWritten-0"), undefined);
    assert.equal(calledFunction("/demo-voice-cache/us-central1/getCredits"), "us-central1/getCredits");
    const answered = new Promise<number>((resolve) => {
      const req = request(`${gate.url}/backends`, (res) => resolve(res.statusCode ?? 0));
      req.end();
    });
    await waitUntil(() => held.some((h) => h.path === "/backends"), "/backends at the emulator", 10_000);
    release(held.length);
    assert.equal(await answered, 200);
  });
});
