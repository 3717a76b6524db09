/** Child processes of the launcher: one-shot commands, and detached process groups. */
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A command ended by SIGINT or SIGTERM: the terminal's Ctrl-C reaches every process of the
 * foreground group, so the child may die of it before the launcher's own handler runs.
 */
export class CommandInterrupted extends Error {
  constructor(command: string, signal: NodeJS.Signals) {
    super(`${command} stopped by ${signal}`);
    this.name = "CommandInterrupted";
  }
}

/** Runs a command to completion; its output is shown only if it fails. */
export function run(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const output: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else if (signal === "SIGINT" || signal === "SIGTERM") reject(new CommandInterrupted(command, signal));
      else reject(new Error(`${command} ${args.join(" ")} failed (exit ${code}):\n${Buffer.concat(output).toString()}`));
    });
  });
}

export function killGroup(processGroup: number, signal: NodeJS.Signals) {
  killPid(-processGroup, signal);
}

/** `process.kill` for a process (or, negative, a group) that may be gone already. */
export function killPid(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export async function waitForGroupExit(processGroup: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-processGroup, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
}
