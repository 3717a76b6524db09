/**
 * Ctrl-C at any moment of `npm start` leaves nothing running: the launcher (scripts/stack/start.ts,
 * its own process, as `npm start` runs it) is interrupted at each stage of its start and after
 * its banner, the way a terminal's Ctrl-C does it (SIGINT to its whole process group), and no
 * process of that run is left 30 s later. A run's processes are told apart from everything
 * else on the machine (this test run's own emulators included) by a variable in their
 * environment, which every child inherits.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "../../scripts/stack/emulator-config";

/** The processes whose environment carries `marker` (`NAME=value`), as their command lines. */
function processesMarked(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(marker)) {
        found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").slice(0, 160)}`);
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Starts the launcher, waits for `stage` in its output, interrupts it; what is left 30 s later. */
async function interruptAt(stage: string): Promise<{ exitCode: number | null; left: string[]; output: string }> {
  const marker = `INTERRUPT_SPEC_RUN=${randomUUID()}`;
  const [name, value] = marker.split("=") as [string, string];
  const child = spawn(path.join(repoRoot, "node_modules", ".bin", "ts-node"), ["--transpile-only", "scripts/stack/start.ts"], {
    cwd: repoRoot,
    env: { ...process.env, [name]: value, LOCAL_STACK_ISOLATED: "1", PATH: `${path.join(repoRoot, "node_modules", ".bin")}:${process.env.PATH}` },
    detached: true, // its own process group, as a terminal's foreground job
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 120_000;
  while (!output.includes(stage) && Date.now() < deadline && child.exitCode === null) await sleep(50);
  assert.ok(output.includes(stage), `the launcher never printed "${stage}":\n${output.slice(-2_000)}`);
  process.kill(-child.pid!, "SIGINT");
  const exitCode = await Promise.race([exited, sleep(30_000).then(() => "still running" as const)]);
  assert.notEqual(exitCode, "still running", "the launcher stopped within 30 s of Ctrl-C");
  let left = processesMarked(marker);
  for (let waited = 0; left.length > 0 && waited < 30_000; waited += 500) {
    await sleep(500);
    left = processesMarked(marker);
  }
  if (left.length > 0) for (const line of left) process.kill(Number(line.split(" ")[0]), "SIGKILL");
  return { exitCode: exitCode as number | null, left, output };
}

describe("npm start: Ctrl-C at any moment leaves nothing running", function () {
  this.timeout(240_000);

  for (const [moment, stage, exitCode] of [
    ["while building the functions", "building functions", 130],
    ["while the emulators start", "starting emulators", 130],
    ["while seeding (the emulators answer already)", "emulators ready", 130],
    ["after the banner", "Local stack for", 0],
  ] as const) {
    it(moment, async () => {
      const run = await interruptAt(stage);
      assert.deepEqual(run.left, [], `left running 30 s after Ctrl-C:\n${run.left.join("\n")}`);
      assert.equal(run.exitCode, exitCode, run.output.slice(-1_500));
    });
  }
});
