/**
 * Which processes belong to a local stack, however they were started. firebase-tools, the Java
 * Firestore emulator it starts and every function worker each sit in a process group of their
 * own, and a killed launcher leaves them to init; what they all keep is their environment,
 * which every child inherits. So each process a stack starts carries two variables: the
 * checkout it runs from and the run it belongs to. The launcher's stop, the reaper that
 * outlives a killed launcher (reaper.ts) and a start that finds an earlier stack's ports held
 * all find a stack's processes by them (Linux /proc; elsewhere nothing is found).
 */
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "./emulator-config";
import { killPid } from "./processes";

/** The checkout a stack process runs from (its repository root). */
export const stackCheckoutVar = "VOICE_CACHE_STACK_CHECKOUT";
/** The one start of a stack a process belongs to. */
export const stackRunVar = "VOICE_CACHE_STACK_RUN";

export interface StackRun {
  id: string;
  /** The variables every process of this run carries (add them to each spawn's env). */
  env: Record<string, string>;
}

export function newStackRun(): StackRun {
  const id = randomUUID();
  return { id, env: { [stackCheckoutVar]: repoRoot, [stackRunVar]: id } };
}

export interface StackProcess {
  pid: number;
  /** The command line, cut to 160 characters. */
  command: string;
  /** The run it belongs to. */
  runId: string;
  checkout: string;
}

function environOf(pid: number): Map<string, string> | undefined {
  try {
    const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    return new Map(entries.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .replace(/[\0\s]+/g, " ")
      .trim()
      .slice(0, 160);
  } catch {
    return "";
  }
}

/** Every live process (not a zombie) on this machine but this one, with its environment; none where there is no /proc. */
function liveProcesses(): { pid: number; environ: Map<string, string> }[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const found: { pid: number; environ: Map<string, string> }[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!/^\d+$/.test(entry) || pid === process.pid) continue;
    const environ = environOf(pid);
    if (environ !== undefined && !isZombie(pid)) found.push({ pid, environ });
  }
  return found;
}

/** The live processes whose environment has `name` set to `value`, as "pid command" (a spec marks its runs this way). */
export function processesWithEnv(name: string, value: string): string[] {
  return liveProcesses()
    .filter(({ environ }) => environ.get(name) === value)
    .map(({ pid }) => `${pid} ${commandLineOf(pid)}`);
}

/** Every live stack process on this machine that `select` keeps, except this process. */
export function stackProcesses(select: (process: StackProcess) => boolean): StackProcess[] {
  const found: StackProcess[] = [];
  for (const { pid, environ } of liveProcesses()) {
    const runId = environ.get(stackRunVar);
    const checkout = environ.get(stackCheckoutVar);
    if (runId === undefined || checkout === undefined) continue;
    const candidate = { pid, command: commandLineOf(pid), runId, checkout };
    if (select(candidate)) found.push(candidate);
  }
  return found;
}

/** An exited process its parent has not reaped yet holds nothing (no port, no memory): not running. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

export const processesOfRun = (runId: string) => stackProcesses((p) => p.runId === runId);

/**
 * Ends `processes`: SIGTERM, then SIGKILL to whatever is left after `graceMs`. Resolves once
 * none is running, or after another 5 s. A local stack keeps nothing worth a long shutdown
 * (no persistence), so the grace is short.
 */
export async function endProcesses(find: () => StackProcess[], graceMs: number): Promise<StackProcess[]> {
  const signalAll = (signal: NodeJS.Signals) => {
    for (const { pid } of find()) killPid(pid, signal);
  };
  signalAll("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (find().length > 0 && Date.now() < deadline) await sleep(100);
  signalAll("SIGKILL");
  const killDeadline = Date.now() + 5_000;
  let left = find();
  while (left.length > 0 && Date.now() < killDeadline) {
    await sleep(100);
    left = find();
  }
  return left;
}
