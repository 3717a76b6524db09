/**
 * Starts a throwaway `redis-server` (Debian package) on loopback with no persistence.
 * The process is a child of ours and is killed with it.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { createConnection } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../../functions/src/error-message";
import { aptInstall, aptInstallPossible } from "./debian-packages";
import { freePort } from "./ports";

export interface RunningRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Start again on the same port (after `stop`), for outage tests. */
  restart(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * A fresh machine of this kind has no redis-server: as root on Debian, install the package
 * (the only download allowed besides npm); anywhere else, stop with the exact command.
 */
export async function installRedisServerIfMissing(log: (line: string) => void = console.log): Promise<void> {
  if (redisServerAvailable()) return;
  const { isRoot, hasApt } = aptInstallPossible();
  if (!isRoot || !hasApt) {
    const command = hasApt
      ? "sudo apt-get update && sudo apt-get install -y redis-server"
      : process.platform === "darwin"
        ? "brew install redis"
        : "install redis-server 7 with your OS's package manager";
    throw new Error(`redis-server is not installed: run \`${command}\`, then start again`);
  }
  log("redis-server is not installed: installing the Debian package (apt-get install -y redis-server) ...");
  await aptInstall("redis-server").catch((error: unknown) => {
    throw new Error(`${errorMessage(error)}: install redis-server yourself, then start again`);
  });
  if (!redisServerAvailable()) throw new Error("apt-get installed redis-server, but `redis-server --version` still fails");
}

export async function startRedisServer(options: { port?: number; log?: (line: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<RunningRedis> {
  await installRedisServerIfMissing(options.log);
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const launch = async () => {
    // set-proc-title no: a new title overwrites the process's environment in memory, where
    // /proc/<pid>/environ reads it, and that is how a stack finds its processes (stack-processes.ts).
    const args = ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--loglevel", "warning", "--set-proc-title", "no"];
    child = spawn("redis-server", args, {
      stdio: ["ignore", "ignore", "inherit"],
      env: options.env,
    });
    await waitForPong(port, 10_000);
  };
  await launch();

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGKILL");
    });
  };
  process.once("exit", () => child?.kill("SIGKILL"));
  return { port, url: `redis://127.0.0.1:${port}`, stop, restart: launch };
}

async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}
