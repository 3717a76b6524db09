/**
 * Function instances as separate local processes (each with its own module-scope caches),
 * sharing the Firestore and Redis this process's environment points at (the test stack's,
 * the benchmark's), called over HTTP. Each serves functions/src/index.ts through the real
 * wrappers (instance-main.ts). Used by the specs (test/support/instance.ts) and `npm run bench`.
 */
import { ChildProcess, fork } from "node:child_process";
import path from "node:path";
import type { InstanceCacheStats } from "../../functions/src/telemetry/cache-telemetry";
import { emulatorDebugEnv, unsignedIdToken } from "./id-tokens";

export interface CallAs {
  uid?: string;
  claims?: Record<string, unknown>;
}

export class CallableError extends Error {
  constructor(
    readonly status: string,
    message: string,
    readonly httpStatus: number,
  ) {
    super(`${status}: ${message}`);
  }
}

export interface Instance {
  url: string;
  /** Calls a callable; resolves with `result`, rejects with a CallableError carrying the code. */
  call<T = unknown>(name: string, data: unknown, as?: CallAs): Promise<T>;
  /** Raw HTTP to an onRequest function. */
  request(name: string, init: RequestInit): Promise<Response>;
  trigger(name: string, cloudEvent: unknown): Promise<void>;
  /** This process's figures (functions/src/instance/runtime.ts `InstanceRuntime.stats`). */
  stats(): Promise<InstanceCacheStats>;
  useManualClock(): Promise<void>;
  useSystemClock(): Promise<void>;
  advanceClock(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export async function callCallable<T>(url: string, name: string, data: unknown, as: CallAs = {}): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (as.uid) headers.authorization = `Bearer ${unsignedIdToken(as.uid, as.claims)}`;
  const response = await fetch(`${url}/${name}`, { method: "POST", headers, body: JSON.stringify({ data }) });
  const body = (await response.json()) as { result?: T; error?: { status: string; message: string } };
  if (body.error) throw new CallableError(body.error.status, body.error.message, response.status);
  return body.result as T;
}

/**
 * Forks one instance process; `extraEnv` over this process's environment. `preload` modules
 * run before the functions load (the benchmark injects its comparison policies this way).
 */
export async function startInstance(extraEnv: Record<string, string> = {}, options: { preload?: string[] } = {}): Promise<Instance> {
  const child: ChildProcess = fork(path.join(__dirname, "instance-main.ts"), [], {
    execArgv: ["-r", "ts-node/register/transpile-only", ...(options.preload ?? []).flatMap((module) => ["-r", module])],
    env: { ...process.env, ...emulatorDebugEnv, ...extraEnv },
    // Debug and info logs (stdout) would drown the test report; warnings and errors stay.
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (message) => resolve((message as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`instance exited with ${code} before listening`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const post = async (route: string, body: unknown) => {
    const response = await fetch(`${url}/${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`);
  };
  return {
    url,
    call: (name, data, as) => callCallable(url, name, data, as),
    request: (name, init) => fetch(`${url}/${name}`, init),
    trigger: (name, cloudEvent) => post(`__trigger/${name}`, cloudEvent),
    stats: async () => (await fetch(`${url}/__stats`)).json() as never,
    useManualClock: () => post("__clock", { manual: true }),
    useSystemClock: () => post("__clock", { manual: false }),
    advanceClock: (ms) => post("__clock", { advanceMs: ms }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
