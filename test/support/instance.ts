/**
 * Instance processes for the specs: the launcher is scripts/harness/instance.ts (shared with the
 * benchmark); this is its mocha fixture.
 */
import { Instance, startInstance } from "../../scripts/harness/instance";

/**
 * Two instance processes for the enclosing `describe`: started before its tests, stopped
 * after, handed to the spec's own variables: `useInstancePair((x, y) => ([a, b] = [x, y]))`.
 */
export function useInstancePair(assign: (a: Instance, b: Instance) => void, extraEnv: Record<string, string> = {}): void {
  let started: Instance[] = [];
  before(async () => {
    const [a, b] = await Promise.all([startInstance(extraEnv), startInstance(extraEnv)]);
    started = [a, b];
    assign(a, b);
  });
  after(async () => {
    await Promise.all(started.map((instance) => instance.stop()));
  });
}
