/**
 * Getting a trigger's CloudEvent to it: the `Deliver` contract, its implementation for the
 * Functions emulator, and the per-document queues that keep one document's deliveries in
 * commit order.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { FirestoreCloudEvent } from "./firestore-cloud-event";

/** Runs the trigger `triggerId` on `event`; rejects when it failed. */
export type Deliver = (triggerId: string, event: FirestoreCloudEvent) => Promise<void>;

/**
 * Delivery to the Functions emulator's background-trigger route
 * `POST <baseUrl>/functions/projects/<project>/triggers/<key>`. The emulator's key is
 * `<region>-<name>-<generation>` where the generation grows each time it reloads the
 * functions (e.g. after a rebuild of functions/lib), so the key is learnt from the 404's
 * "valid functions are: ..." list and re-learnt when it goes stale; while a reload has the
 * trigger missing, delivery retries for up to `reloadWaitMs`. The emulator answers
 * once the function has finished: 200 on success, 500 when it threw.
 */
export function deliverToFunctionsEmulator(baseUrl: string, projectId: string, reloadWaitMs = 10_000): Deliver {
  const keys = new Map<string, string>();
  const post = (key: string, body: string) =>
    fetch(`${baseUrl}/functions/projects/${encodeURIComponent(projectId)}/triggers/${encodeURIComponent(key)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(120_000),
    });
  return async (triggerId, event) => {
    const body = JSON.stringify(event);
    let response = await post(keys.get(triggerId) ?? `${triggerId}-0`, body);
    if (response.status === 204) {
      // A disabled record: background triggers are paused, or were and came back under a new
      // generation (enabling reloads the triggers). A key that exists in no generation gets the
      // list of current ones.
      await response.arrayBuffer();
      response = await post(`${triggerId}-none`, body);
    }
    // While the emulator reloads the functions, their triggers are briefly missing.
    const deadline = Date.now() + reloadWaitMs;
    while (response.status === 404) {
      const text = await response.text();
      const key = latestTriggerKey(text, triggerId);
      if (key) {
        keys.set(triggerId, key);
        response = await post(key, body);
        if (response.status !== 404) break;
      } else if (Date.now() > deadline) {
        throw new Error(`the Functions emulator has no trigger ${triggerId}: ${text.slice(0, 300)}`);
      } else {
        await sleep(250);
        response = await post(keys.get(triggerId) ?? `${triggerId}-0`, body);
      }
    }
    // 204 is the emulator's "Background triggers are currently disabled": the function did not run.
    if (!response.ok || response.status === 204) {
      const text = await response.text().catch(() => "");
      throw new Error(`the Functions emulator answered ${response.status}: ${text.slice(0, 300)}`);
    }
    await response.arrayBuffer();
  };
}

/** Picks `<triggerId>-<n>` with the highest n out of the emulator's 404 text. */
function latestTriggerKey(notFoundText: string, triggerId: string): string | undefined {
  const list = notFoundText.split("valid functions are:")[1] ?? "";
  let best: { key: string; generation: number } | undefined;
  for (const key of list.split(",").map((k) => k.trim())) {
    if (!key.startsWith(`${triggerId}-`)) continue;
    const generation = Number(key.slice(triggerId.length + 1));
    if (Number.isInteger(generation) && (!best || generation > best.generation)) best = { key, generation };
  }
  return best?.key;
}

/**
 * One queue per key (a document's full name): its tasks run one after another, in the order
 * queued; different keys run side by side. A task must not reject (it would skip the rest).
 */
export class SerialQueues {
  /** The tail of each key's chain; a key is dropped once its last task has settled. */
  private readonly tails = new Map<string, Promise<void>>();

  enqueue(key: string, task: () => Promise<void>): void {
    const tail = (this.tails.get(key) ?? Promise.resolve()).then(task);
    this.tails.set(key, tail);
    void tail.finally(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
  }

  get busy(): boolean {
    return this.tails.size > 0;
  }

  /** Settles once every task queued so far has. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.tails.values()]);
  }
}
