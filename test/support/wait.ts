import { setTimeout as sleep } from "node:timers/promises";

/** Polls `probe` until it returns true or `timeoutMs` passes; returns the elapsed ms. */
export async function waitUntil(probe: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<number> {
  const startedAt = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - startedAt;
    if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
