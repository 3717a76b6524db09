import { setTimeout as sleep } from "node:timers/promises";

/**
 * How long a spec waits for something that happens by itself (a trigger's marker bump, a
 * server back after a restart): a bound a cold worker on a busy 2-core CI machine can meet,
 * not a figure the spec asserts. How fast it happens is the benchmark's (docs/bench.md).
 */
export const conditionTimeoutMs = 30_000;

const firstDelayMs = 20;
const maxDelayMs = 500;

/**
 * Polls `probe` until it returns true, backing off exponentially with jitter between tries
 * (as a good client does); throws once `timeoutMs` has passed (a generous default). The timeout is only a bound on
 * the wait, never the assertion: how long the wait took is deliberately not returned.
 */
export async function waitUntil(probe: () => Promise<boolean> | boolean, what: string, timeoutMs = conditionTimeoutMs): Promise<void> {
  const startedAt = Date.now();
  for (let delayMs = firstDelayMs; ; delayMs = Math.min(delayMs * 2, maxDelayMs)) {
    if (await probe()) return;
    if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(delayMs / 2 + Math.random() * (delayMs / 2));
  }
}
