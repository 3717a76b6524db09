/**
 * Instance processes for the specs: the launcher is scripts/harness/instance.ts (shared with the
 * benchmark); this is its mocha fixture, and the clock moves specs make on instances.
 */
import { markerPollIntervalMsParam, upstashRedisUsdPer100kCommands } from "../../functions/src/config";
import { Instance, startInstance } from "../../scripts/harness/instance";

const declaredPollIntervalMs: unknown = markerPollIntervalMsParam.options.default;
if (typeof declaredPollIntervalMs !== "number") throw new Error(`${markerPollIntervalMsParam.name} declares no number default`);

/**
 * The marker poll interval of the spec instances: the product's default (MARKER_POLL_INTERVAL_MS
 * is set to it in their environment, whatever the shell running mocha says).
 */
export const pollIntervalMs: number = declaredPollIntervalMs;

/** The environment of a spec instance: `extraEnv` over the pinned poll interval. */
export function specInstanceEnv(extraEnv: Record<string, string> = {}): Record<string, string> {
  return { MARKER_POLL_INTERVAL_MS: String(pollIntervalMs), ...extraEnv };
}

/**
 * The environment of an instance priced as a fixed Upstash plan (no per-command charge): it
 * polls rather than read a source, and keeps credits in the fleet's Redis figure
 * (credits/credit-cache.ts); at list prices it does neither where the read is cheaper.
 */
export const fixedUpstashPlan: Readonly<Record<string, string>> = { [upstashRedisUsdPer100kCommands.name]: "0" };

/**
 * Two instance processes for the enclosing `describe`: started before its tests, stopped
 * after, handed to the spec's own variables: `useInstancePair((x, y) => ([a, b] = [x, y]))`.
 */
export function useInstancePair(assign: (a: Instance, b: Instance) => void, extraEnv: Record<string, string> = {}): void {
  let started: Instance[] = [];
  before(async () => {
    const [a, b] = await Promise.all([startInstance(specInstanceEnv(extraEnv)), startInstance(specInstanceEnv(extraEnv))]);
    started = [a, b];
    assign(a, b);
  });
  after(async () => {
    await Promise.all(started.map((instance) => instance.stop()));
  });
}

/**
 * Moves each instance's manual clock on by one marker poll interval: the next request on each
 * re-reads its markers (its last poll started at or before the clock's time before the move),
 * and until the next move no request does.
 */
export async function nextPoll(...instances: Instance[]): Promise<void> {
  await Promise.all(instances.map((instance) => instance.advanceClock(pollIntervalMs)));
}

/**
 * Runs `work` with `instances` on manual clocks, where the marker poll interval and the TTLs are
 * exact on any machine: a change is then shown to reach an instance by its next poll (`nextPoll`),
 * not by a wall-clock race. The clocks start one interval on, so each instance's next request
 * polls. Afterwards the instances are back on their system clocks (a cold start: empty caches).
 */
export async function onManualClocks<T>(instances: readonly Instance[], work: () => Promise<T>): Promise<T> {
  await Promise.all(instances.map((instance) => instance.useManualClock()));
  try {
    await nextPoll(...instances);
    return await work();
  } finally {
    await Promise.all(instances.map((instance) => instance.useSystemClock()));
  }
}
