/**
 * The reaper: a small process that outlives a launcher killed before it could stop its stack
 * (SIGKILL, a crash, a terminal gone mid-stop) and ends that stack's processes for it.
 *
 * It runs in a session of its own (no terminal's SIGHUP or Ctrl-C reaches it) and holds the
 * read end of a pipe whose write end only the launcher has. However the launcher ends, the
 * kernel closes that end, and the reaper then ends every process of the run (found by its
 * environment, stack-processes.ts) and removes the run's private files. After a clean stop it
 * finds nothing and exits.
 */
import { ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { endProcesses, processesOfRun, stackCheckoutVar, StackRun, stackRunVar } from "./stack-processes";

/** SIGTERM first: firebase-tools and the Java emulator shut down in well under this, and nothing is kept. */
const reaperGraceMs = 2_000;

export interface Reaper {
  /** The stack stopped itself: the reaper checks once and exits (resolves when it has, or after 5 s). */
  release(): Promise<void>;
}

/** Starts the reaper of `run`; `privateDirs` are removed with the run's processes. */
export function startReaper(run: StackRun, privateDirs: string[] = []): Reaper {
  const env = { ...process.env };
  // Not a process of the run itself: the launcher's stop must not end it before it is released.
  delete env[stackRunVar];
  delete env[stackCheckoutVar];
  const child: ChildProcess = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", __filename, run.id, ...privateDirs], {
    detached: true,
    stdio: ["pipe", "ignore", "inherit"],
    env,
  });
  // Neither the reaper nor its pipe keeps this process alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  child.stdin?.on("error", () => undefined);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    release: async () => {
      child.stdin?.end();
      await Promise.race([exited, sleep(5_000)]);
    },
  };
}

async function reap(runId: string, privateDirs: string[]): Promise<void> {
  const left = await endProcesses(() => processesOfRun(runId), reaperGraceMs);
  for (const dir of privateDirs) rmSync(dir, { recursive: true, force: true });
  if (left.length > 0) console.error(`local stack reaper: could not end ${left.map((p) => `${p.pid} (${p.command})`).join(", ")}`);
}

if (require.main === module) {
  const [runId, ...privateDirs] = process.argv.slice(2);
  if (!runId) throw new Error("usage: reaper.ts <run id> [private dir ...]");
  // The launcher's end of the pipe closes however it ends.
  process.stdin.resume();
  process.stdin.once("end", () => void reap(runId, privateDirs).finally(() => process.exit(0)));
  for (const signal of ["SIGINT", "SIGHUP"] as const) process.on(signal, () => undefined);
}
