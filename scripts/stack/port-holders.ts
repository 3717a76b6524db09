/**
 * Ports a local stack needs, and who holds them. A start that finds its ports held by an
 * earlier stack of this checkout (a launcher killed before it could stop it) ends that stack;
 * held by anything else, it stops at once and names the process and the command that frees
 * the port, instead of firebase-tools' "port taken" minutes later.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { repoRoot } from "./emulator-config";
import { portTaken } from "./ports";
import { commandLineOf, endProcesses, stackProcesses } from "./stack-processes";

export interface NeededPort {
  /** What listens there, as the message names it (e.g. "Firestore emulator"). */
  name: string;
  port: number;
  /** Whether the stack fails without it (firebase-tools moves the others to a free port itself). */
  required: boolean;
}

export interface PortHolder {
  port: number;
  name: string;
  /** Undefined when the socket's owner cannot be seen (another user's process). */
  pid?: number;
  command?: string;
}

/** Socket inode of every TCP socket listening on `port` (any address), from /proc/net/tcp{,6}. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let lines: string[];
    try {
      lines = readFileSync(table, "utf8").trim().split("\n").slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      // State 0A is LISTEN; the port is the hex after the address's colon.
      if (state === "0A" && local !== undefined && inode !== undefined && parseInt(local.split(":")[1] ?? "", 16) === port) inodes.add(inode);
    }
  }
  return inodes;
}

/** The process that owns one of `inodes` (an open `socket:[inode]`), if this user can see it. */
function ownerOf(inodes: Set<string>): number | undefined {
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (target.startsWith("socket:[") && inodes.has(target.slice(8, -1))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** Who holds each of `ports` that is taken. */
export async function portHolders(ports: NeededPort[]): Promise<PortHolder[]> {
  const held: PortHolder[] = [];
  for (const { name, port } of ports) {
    if (!(await portTaken(port))) continue;
    const pid = ownerOf(listeningInodes(port));
    held.push({ port, name, pid, command: pid === undefined ? undefined : commandLineOf(pid) });
  }
  return held;
}

/** Thrown when a needed port is held by something other than an earlier stack of this checkout. */
export class PortsHeldError extends Error {
  constructor(readonly holders: PortHolder[]) {
    const pids = [...new Set(holders.flatMap((h) => (h.pid === undefined ? [] : [h.pid])))];
    super(
      [
        "ports this stack needs are taken:",
        ...holders.map((h) => `  ${h.port} (${h.name}): ${h.pid === undefined ? "held by a process this user cannot see" : `pid ${h.pid}: ${h.command}`}`),
        pids.length > 0 ? `Free them with: kill ${pids.join(" ")}` : "Free them, or change the ports in firebase.json.",
      ].join("\n"),
    );
    this.name = "PortsHeldError";
  }
}

/**
 * Makes `ports` free for a new stack: an earlier stack of this checkout that holds any of them
 * is ended (every process of its run, not just the holder); anything else holding a required
 * one is a PortsHeldError. Returns the pids it ended.
 */
export async function claimStackPorts(ports: NeededPort[], log: (line: string) => void): Promise<number[]> {
  const holders = await portHolders(ports);
  if (holders.length === 0) return [];
  const holderPids = new Set(holders.flatMap((h) => (h.pid === undefined ? [] : [h.pid])));
  const earlierRuns = new Set(stackProcesses((p) => p.checkout === repoRoot && holderPids.has(p.pid)).map((p) => p.runId));
  const ended: number[] = [];
  if (earlierRuns.size > 0) {
    const ofEarlierRuns = () => stackProcesses((p) => earlierRuns.has(p.runId));
    const pids = ofEarlierRuns().map((p) => p.pid);
    log(`an earlier local stack of this checkout holds ${holders.map((h) => h.port).join(", ")}: ending it (pids ${pids.join(" ")}) ...`);
    const left = await endProcesses(ofEarlierRuns, 3_000);
    ended.push(...pids.filter((pid) => !left.some((p) => p.pid === pid)));
  }
  const stillHeld = await portHolders(ports.filter((p) => p.required));
  if (stillHeld.length > 0) throw new PortsHeldError(stillHeld);
  return ended;
}
