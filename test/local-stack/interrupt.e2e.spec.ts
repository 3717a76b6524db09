/**
 * Every way `npm start` ends leaves nothing running, and the next start comes up on the same
 * ports. The launcher (scripts/stack/start.ts, its own process, as `npm start` runs it) is
 * ended the ways a developer ends it: Ctrl-C and a closed terminal (SIGINT, SIGHUP to its
 * whole process group, as a terminal sends them), `kill` (SIGTERM to the launcher alone) and
 * `kill -9` (SIGKILL: it runs no code, the reaper must act), after its banner and at each
 * stage of its start. Each run is told apart from everything else on the machine (this test
 * run's own stack included) by a variable in its environment, which every child inherits.
 * All runs use one set of ports, so each start also shows that the run before it freed them.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Ports, randomPorts, repoRoot } from "../../scripts/stack/emulator-config";
import { portHolders } from "../../scripts/stack/port-holders";
import { processesWithEnv } from "../../scripts/stack/stack-processes";

/** The bound: nothing of the stack runs 10 s after the signal. */
const cleanWithinMs = 10_000;

interface Ending {
  signal: NodeJS.Signals;
  /** A terminal signals the whole foreground group; `kill <pid>` the launcher alone. */
  to: "group" | "launcher";
}

/**
 * Starts the launcher on `ports`, waits for `stage` in its output, ends it with `ending`;
 * returns what is left `cleanWithinMs` after the signal (then killed, so one failure does not
 * break the next run).
 */
async function endAt(ports: Ports, stage: string, ending: Ending): Promise<{ exitCode: number | null; left: string[]; output: string }> {
  const [name, value] = ["INTERRUPT_SPEC_RUN", randomUUID()];
  const child = spawn(path.join(repoRoot, "node_modules", ".bin", "ts-node"), ["--transpile-only", "scripts/stack/start.ts"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      [name]: value,
      LOCAL_STACK_ISOLATED: "1",
      LOCAL_STACK_PORTS: JSON.stringify(ports),
      PATH: `${path.join(repoRoot, "node_modules", ".bin")}:${process.env.PATH}`,
    },
    detached: true, // its own process group, as a terminal's foreground job
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 150_000;
  while (!output.includes(stage) && Date.now() < deadline && child.exitCode === null) await sleep(50);
  assert.ok(output.includes(stage), `the launcher never printed "${stage}":\n${output.slice(-2_000)}`);
  const signalledAt = Date.now();
  process.kill(ending.to === "group" ? -child.pid! : child.pid!, ending.signal);
  const exitCode = await Promise.race([exited, sleep(cleanWithinMs).then(() => "still running" as const)]);
  let left = processesWithEnv(name, value);
  while (left.length > 0 && Date.now() - signalledAt < cleanWithinMs) {
    await sleep(200);
    left = processesWithEnv(name, value);
  }
  for (const line of left) process.kill(Number(line.split(" ")[0]), "SIGKILL");
  assert.notEqual(exitCode, "still running", `the launcher ended within ${cleanWithinMs} ms of ${ending.signal}`);
  return { exitCode: exitCode as number | null, left, output };
}

describe("npm start: every way it ends leaves nothing running, and the next start comes up on the same ports", function () {
  this.timeout(240_000);
  let ports: Ports;

  before(async () => {
    ports = await randomPorts();
  });

  // Each start after the first shows that the run before it freed the ports: it gets to its banner, or to "emulators ready".
  for (const [moment, stage, ending, exitCode] of [
    ["kill -9 (SIGKILL) after the banner: the reaper ends the stack", "Local stack for", { signal: "SIGKILL", to: "launcher" }, null],
    ["a closed terminal (SIGHUP) after the banner", "Local stack for", { signal: "SIGHUP", to: "group" }, 0],
    ["kill (SIGTERM) after the banner", "Local stack for", { signal: "SIGTERM", to: "launcher" }, 0],
    ["Ctrl-C after the banner", "Local stack for", { signal: "SIGINT", to: "group" }, 0],
    ["Ctrl-C while seeding (the emulators answer already)", "emulators ready", { signal: "SIGINT", to: "group" }, 130],
    ["Ctrl-C while building the functions", "building functions", { signal: "SIGINT", to: "group" }, 130],
    ["Ctrl-C while the emulators start", "starting emulators", { signal: "SIGINT", to: "group" }, 130],
  ] as const) {
    it(moment, async () => {
      const run = await endAt(ports, stage, ending);
      assert.deepEqual(run.left, [], `left running ${cleanWithinMs} ms after ${ending.signal}:\n${run.left.join("\n")}`);
      assert.equal(run.exitCode, exitCode, run.output.slice(-1_500));
      const held = await portHolders(Object.entries(ports).map(([key, port]) => ({ name: key, port, required: true })));
      assert.deepEqual(held, [], "every port of the stack is free");
    });
  }
});
