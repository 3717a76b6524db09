/**
 * Function executions as the Functions emulator reports them, read line by line from
 * `firebase emulators:start --debug`: `Finished "<id>" in <ms>ms` per execution, and its
 * work queue's state (`[work-queue] {..."queueLength":N,..."workRunningCount":N}`), logged
 * when a request arrives and when one ends, so a delivery still waiting for a cold worker
 * counts as running.
 *
 * The emulators have no API that says when the triggers of past writes have run: the
 * Firestore emulator delivers them asynchronously, a few ms after the commit. So "settled"
 * is: the queue is empty, nothing runs, and nothing has arrived for a quiet period long
 * enough for a delivery still in flight to arrive.
 */
import { setTimeout as sleep } from "node:timers/promises";

const finishPattern = /Finished "([^"]+)" in /;
const workQueuePattern = /\[work-queue\] \{.*?"queueLength":(\d+).*?"workRunningCount":(\d+)/;
const pollMs = 20;

export class FunctionRuns {
  private readonly finished = new Map<string, number>();
  private queuedOrRunning = 0;
  private lastActivityMs = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** One line of the emulator's output. */
  read(line: string): void {
    const queueState = workQueuePattern.exec(line);
    if (queueState) {
      this.queuedOrRunning = Number(queueState[1]) + Number(queueState[2]);
      this.lastActivityMs = this.now();
      return;
    }
    const finished = finishPattern.exec(line)?.[1];
    if (finished) this.finished.set(finished, (this.finished.get(finished) ?? 0) + 1);
  }

  /** Executions finished of `functionId` (e.g. `us-central1-onTesterWritten`), or of all. */
  finishedCount(functionId?: string): number {
    if (functionId) return this.finished.get(functionId) ?? 0;
    let total = 0;
    for (const n of this.finished.values()) total += n;
    return total;
  }

  /** Requests queued or running in the Functions emulator. */
  running(): number {
    return this.queuedOrRunning;
  }

  /**
   * Resolves once nothing is queued or running and nothing has arrived for `quietMs`
   * (counted from this call at the earliest); rejects after `timeoutMs`.
   */
  async settled(options: { quietMs: number; timeoutMs: number }): Promise<void> {
    const calledAt = this.now();
    const deadline = calledAt + options.timeoutMs;
    for (;;) {
      const quietSince = Math.max(calledAt, this.lastActivityMs);
      if (this.queuedOrRunning === 0 && this.now() - quietSince >= options.quietMs) return;
      if (this.now() > deadline) {
        throw new Error(`function executions did not settle within ${options.timeoutMs} ms (${this.queuedOrRunning} queued or running)`);
      }
      await sleep(pollMs);
    }
  }
}
