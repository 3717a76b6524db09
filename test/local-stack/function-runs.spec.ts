import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { FunctionRuns } from "../../scripts/stack/function-runs";

const queueLine = (queued: number, running: number) =>
  `[2026-11-26T01:10:44.508Z] [work-queue] {"queuedWork":[],"queueLength":${queued},"runningWork":[],"workRunningCount":${running}} {"metadata":{}}`;

describe("FunctionRuns (the Functions emulator's work queue, from its --debug output)", () => {
  it("counts finished executions per function", () => {
    const runs = new FunctionRuns();
    runs.read('i  functions: Finished "us-central1-onTesterWritten" in 12.5ms {"metadata":{"message":"Finished \\"us-central1-onTesterWritten\\" in 12.5ms"}}');
    runs.read('i  functions: Finished "us-central1-onUserWritten" in 3ms');
    assert.equal(runs.finishedCount("us-central1-onTesterWritten"), 1);
    assert.equal(runs.finishedCount(), 2);
  });

  it("settles only after the queue is empty and quiet for quietMs", async () => {
    let nowMs = 0;
    const runs = new FunctionRuns(() => nowMs);
    runs.read(queueLine(1, 0));
    runs.read(queueLine(0, 1));
    let settled = false;
    const waiting = runs.settled({ quietMs: 400, timeoutMs: 10_000 }).then(() => (settled = true));
    await sleep(50);
    assert.equal(settled, false, "a running execution holds it");
    nowMs = 1_000;
    runs.read(queueLine(0, 0));
    nowMs = 1_300;
    await sleep(50);
    assert.equal(settled, false, "quiet for 300 ms only");
    nowMs = 1_400;
    await waiting;
    assert.equal(runs.running(), 0);
  });

  it("gives up after timeoutMs while something runs", async () => {
    let nowMs = 0;
    const runs = new FunctionRuns(() => nowMs);
    runs.read(queueLine(0, 1));
    const waiting = runs.settled({ quietMs: 10, timeoutMs: 100 });
    nowMs = 200;
    await assert.rejects(waiting, /did not settle within 100 ms \(1 queued or running\)/);
  });
});
