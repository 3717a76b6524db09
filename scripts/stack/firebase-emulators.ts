/**
 * firebase-tools' `emulators:start`, run as a detached process group: readiness, its output
 * (to a log file, and line by line to whoever reads function runs), stop, and what the
 * Functions emulator serves.
 */
import { ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "./emulator-config";
import { readableLine } from "./emulator-output";
import { killGroup, waitForGroupExit } from "./processes";

const firebaseBin = path.join(repoRoot, "node_modules", ".bin", "firebase");
export const defaultRegion = "us-central1";
const emulatorReadyTimeoutMs = 90_000;
/** firebase-tools' own shutdown (it stops the Java emulator and its workers); then its group is killed. Nothing is kept. */
const emulatorStopGraceMs = 3_000;

export interface RunningEmulators {
  processGroup: number;
  exited: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The environment of firebase-tools, which passes its own to every function worker: the
 * values this stack owns come from the env files only, never from the caller's shell
 * (a test process has the test stack's Redis and Firestore there).
 */
export function emulatorEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of [
    "UPSTASH_REDIS_REST_URL",
    "UPSTASH_REDIS_REST_TOKEN",
    "STRIPE_WEBHOOK_SECRET",
    "FIRESTORE_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
    "GCLOUD_PROJECT",
    "GOOGLE_CLOUD_PROJECT",
  ]) {
    delete env[key];
  }
  return env;
}

/**
 * Runs firebase-tools detached (its own process group, so Ctrl-C reaches it only through
 * us, and its function workers can be killed with it) and resolves once it is ready.
 */
export async function startEmulators(options: {
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  echoAfterReady: boolean;
  /** Every line firebase-tools prints, --debug lines included. */
  onLine: (line: string) => void;
  /** Called at once with the stop of what was just spawned: the caller owns it from then on (a Ctrl-C while starting). */
  onSpawned?: (stop: () => Promise<void>) => void;
}): Promise<RunningEmulators> {
  const logStream = createWriteStream(options.logFile, { flags: "w" });
  const child: ChildProcess = spawn(firebaseBin, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const processGroup = child.pid;
  if (processGroup === undefined) throw new Error("could not start firebase-tools");
  // Last resort if this process dies without stop(): no emulator outlives it.
  const killOnExit = () => killGroup(processGroup, "SIGKILL");
  process.once("exit", killOnExit);

  // --debug lines (they start with "[<ISO time>Z]") go to the log file and onLine only.
  const isDebugLine = (line: string) => /^\[\d{4}-\d\d-\d\dT[^\]]*Z\]/.test(line);
  let output = "";
  let readyAt: number | undefined;
  let reloadsAfterReady = 0;
  let paramsWritten = false;
  const onLine = (text: string) => {
    options.onLine(text);
    if (isDebugLine(text)) return;
    const readable = readableLine(text);
    if (options.echoAfterReady && readyAt !== undefined && readable !== undefined) process.stdout.write(readable + "\n");
    // What a failed start reports: the lines as the terminal shows them (no JSON tails, no Java chatter).
    if (readable !== undefined) output = (output + readable + "\n").slice(-20_000);
    if (text.includes("Writing new parameter values to disk")) paramsWritten = true;
    if (readyAt !== undefined && text.includes("Loaded functions definitions from source")) reloadsAfterReady++;
    if (readyAt === undefined && text.includes("All emulators ready")) readyAt = Date.now();
  };
  // Each stream is split into lines of its own: chunks of stdout and stderr interleave.
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk: Buffer) => logStream.write(chunk));
    if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on("line", onLine);
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const stop = async () => {
    process.removeListener("exit", killOnExit);
    if (!hasExited) {
      // SIGTERM to firebase-tools alone: it shuts its emulators and workers down cleanly.
      try {
        process.kill(processGroup, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([exited, sleep(emulatorStopGraceMs)]);
    }
    // Whatever is left in its group (workers, a Java emulator): killed.
    killGroup(processGroup, "SIGKILL");
    await waitForGroupExit(processGroup, 5_000);
    logStream.end();
  };

  options.onSpawned?.(stop);
  const deadline = Date.now() + emulatorReadyTimeoutMs;
  for (;;) {
    if (hasExited) {
      await stop();
      throw new Error(`firebase emulators:start exited before it was ready:\n${output.slice(-4_000)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the emulators were not ready within ${emulatorReadyTimeoutMs} ms:\n${output.slice(-4_000)}`);
    }
    // firebase-tools reloads the functions once after writing resolved params to .env.local
    // (its own file watcher); until that reload is done, triggers can answer 404.
    const settled = readyAt !== undefined && (!paramsWritten || reloadsAfterReady > 0 || Date.now() - readyAt > 15_000);
    if (settled) return { processGroup, exited: exited.then(() => undefined), stop };
    await sleep(100);
  }
}

interface BackendTrigger {
  name?: string;
  region?: string;
  httpsTrigger?: unknown;
  labels?: Record<string, string>;
}

export async function listHttpFunctions(functionsEmulatorUrl: string, projectId: string) {
  const response = await fetch(`${functionsEmulatorUrl}/backends`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { backends?: { functionTriggers?: BackendTrigger[] }[] };
  const callables: Record<string, string> = {};
  const httpFunctions: Record<string, string> = {};
  for (const trigger of (body.backends ?? []).flatMap((b) => b.functionTriggers ?? [])) {
    if (!trigger.httpsTrigger || !trigger.name) continue;
    const url = `${functionsEmulatorUrl}/${projectId}/${trigger.region ?? defaultRegion}/${trigger.name}`;
    if (trigger.labels?.["deployment-callable"] === "true") callables[trigger.name] = url;
    else httpFunctions[trigger.name] = url;
  }
  return { callables, httpFunctions };
}
