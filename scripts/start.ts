/**
 * `npm start`: the whole suite on the Firebase emulator suite, offline, with demo data.
 *
 *  1. builds functions (the emulator loads functions/lib);
 *  2. starts redis-server (unless REDIS_URL is set; installs it from Debian when missing and
 *     root) and the Upstash REST gateway in front of it;
 *  3. finds the official Cloud Firestore emulator (lib/firestore-emulator.ts); only where
 *     none can run, starts the offline stand-in in this process;
 *  4. writes functions/.env.local and functions/.secret.local (git-ignored);
 *  5. runs `firebase emulators:start` (functions, auth, firestore): the Firestore emulator
 *     delivers the Firestore triggers to the Functions emulator itself;
 *  6. with the stand-in only, bridges its writes to the emulated Firestore triggers;
 *  7. seeds demo data (scripts/seed.ts), waits for the seed's triggers, prints every endpoint.
 *
 * Ctrl-C / SIGTERM stops everything it started. `startLocalStack({ isolated: true })` is the
 * same stack for tests and the bench (lib/suite-stack.ts): random ports and a private
 * functions directory (symlinks to functions/lib and node_modules) with its own env files,
 * so it can run next to `npm start` without touching its ports or its functions/.env.local.
 */
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { chooseFirestoreEmulator, firebaseToolsEnvFor, FirestoreEmulatorChoice } from "./lib/firestore-emulator";
import { FirestoreFallback, startFirestoreFallback } from "./lib/firestore-fallback";
import { FunctionRuns } from "./lib/function-runs";
import { freePort } from "./lib/ports";
import { requireProductionNode } from "./lib/project-node";
import { RunningRedis, startRedisServer } from "./lib/redis-server";
import {
  deliverToFunctionsEmulator,
  FirestoreTrigger,
  startTriggerBridge,
  TriggerBridge,
  triggersFromFunctionsEmulator,
} from "./lib/trigger-bridge";
import { seed, SeedUser } from "./seed";
import { startUpstashGateway, UpstashGateway } from "./upstash-gateway";

const repoRoot = path.resolve(__dirname, "..");
const functionsDir = path.join(repoRoot, "functions");
const localDir = path.join(repoRoot, ".local");
const firebaseBin = path.join(repoRoot, "node_modules", ".bin", "firebase");
const region = "us-central1";

/** A local dev value only (Stripe CLI's `stripe listen` prints a real one; put it in .secret.local). */
export const localStripeWebhookSecret = "whsec_local_dev_only_not_a_real_secret";
/** The demo's Stripe prices (send them with test/support/stripe.ts); production sets its own map. */
export const localStripePricePlans = { price_pro_monthly: "pro", price_unlimited_monthly: "unlimited" };
/** Preferred gateway port for `npm start` (the gateway's documented example); any free port if taken. */
const preferredGatewayPort = 8079;
const emulatorReadyTimeoutMs = 90_000;
const emulatorStopGraceMs = 10_000;

export interface LocalStackOptions {
  /** Random ports and a private functions directory (tests). Default: firebase.json's ports, functions/ env files. */
  isolated?: boolean;
  /** Default: the `default` project of .firebaserc. */
  projectId?: string;
  /** Use this Redis instead of starting redis-server. Default: process.env.REDIS_URL. */
  redisUrl?: string;
  /** `auto` (default): the official emulator when one is installed, else the offline stand-in. */
  firestore?: "auto" | "official" | "fallback";
  /**
   * Debug functions: firebase-tools' `--inspect-functions` (a Node inspector on this port, or
   * a free one for `true`). It serves every function from ONE worker, one request at a time,
   * unlike production (one service per function, concurrency 80): off by default.
   */
  inspectFunctions?: boolean | number;
  /** Build functions first (default true). */
  build?: boolean;
  /** Start the Auth emulator (default true; the test suite signs its own tokens and skips its ~10 s start). */
  auth?: boolean;
  /** Param values for the functions' .env.local, over the stack's own (e.g. a plan limit). */
  env?: Record<string, string>;
  /** Seed demo data (default true). */
  seed?: boolean;
  /** Progress lines; default console.log. */
  log?: (line: string) => void;
  /** Once ready, also copy the emulator's output (function logs) to stdout. It always goes to the log file. */
  echoEmulatorOutput?: boolean;
}

export interface LocalStackEndpoints {
  projectId: string;
  region: string;
  /** `http://127.0.0.1:5001` */
  functionsEmulatorUrl: string;
  /** `http://127.0.0.1:5001/<project>/us-central1`: append a function name. */
  functionsBaseUrl: string;
  /** Callable name -> URL. */
  callables: Record<string, string>;
  /** onRequest function name -> URL. */
  httpFunctions: Record<string, string>;
  /** `127.0.0.1:9099` (FIREBASE_AUTH_EMULATOR_HOST) */
  authEmulatorHost: string;
  /** `127.0.0.1:8080` (FIRESTORE_EMULATOR_HOST) */
  firestoreHost: string;
  firestoreMode: "official" | "fallback";
  /** Which Firestore emulator runs, and why (printed at start and in the test output). */
  firestoreEmulator: FirestoreEmulatorChoice;
  gatewayUrl: string;
  /** The gateway's bearer token (UPSTASH_REDIS_REST_TOKEN). */
  gatewayToken: string;
  redisUrl: string;
  /** `http://127.0.0.1:4400` */
  hubUrl: string;
  emulatorLogFile: string;
}

export interface LocalStack extends LocalStackEndpoints {
  /** Seeded users by short name (`alice`, `bob`); empty without seeding. */
  users: Record<string, SeedUser>;
  /** The redis-server this stack started (none when given a Redis URL). */
  redis?: RunningRedis;
  /** Function executions reported by the Functions emulator. */
  functionRuns: FunctionRuns;
  /** The in-process Firestore and its trigger bridge (fallback mode only). */
  fallback?: FirestoreFallback;
  bridge?: TriggerBridge;
  /** Process group ids of the detached children (firebase-tools and its workers). */
  processGroups: number[];
  /** Settles when firebase-tools exits (after stop(), or on its own: then the stack is broken). */
  emulatorsExited: Promise<void>;
  stop(): Promise<void>;
}

interface Ports {
  functions: number;
  auth: number;
  firestore: number;
  firestoreWebsocket: number;
  hub: number;
  logging: number;
  eventarc: number;
  tasks: number;
}

/** Starts the stack; on any failure, stops what was already started and rethrows. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const startedAt = Date.now();
  const userLog = options.log ?? ((line: string) => console.log(line));
  const log = (line: string) => userLog(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const isolated = options.isolated ?? false;
  const projectId = options.projectId ?? defaultProjectId();
  const firebaseConfig = readJson(path.join(repoRoot, "firebase.json")) as FirebaseJson;
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log(`stop: ${errorText(err)}`);
      }
    }
  };

  try {
    // (a) build
    if (options.build ?? true) {
      log("building functions ...");
      await run("npm", ["--prefix", functionsDir, "run", "build"], repoRoot);
    }

    // (b) Redis and the Upstash gateway
    const redisUrlOption = options.redisUrl ?? process.env.REDIS_URL;
    let redis: RunningRedis | undefined;
    if (!redisUrlOption) {
      redis = await startRedisServer({ log });
      cleanups.push(() => redis?.stop());
    }
    const redisUrl = redisUrlOption ?? redis?.url ?? "";
    const gatewayToken = randomBytes(24).toString("hex");
    const gateway = await startGateway(redisUrl, gatewayToken, isolated);
    cleanups.push(() => gateway.close());

    // (c) Firestore
    const ports = isolated ? await randomPorts() : configPorts(firebaseConfig);
    const mode = options.firestore ?? "auto";
    const firestoreEmulator: FirestoreEmulatorChoice =
      mode === "fallback"
        ? { kind: "stand-in", reason: "asked for", description: "OFFLINE STAND-IN Firestore (asked for), not the official emulator" }
        : chooseFirestoreEmulator();
    if (mode === "official" && firestoreEmulator.kind === "stand-in") {
      throw new Error(`the official Firestore emulator cannot run here: ${firestoreEmulator.reason}`);
    }
    log(`Firestore: ${firestoreEmulator.description}`);
    const firestoreMode: "official" | "fallback" = firestoreEmulator.kind === "stand-in" ? "fallback" : "official";
    let fallback: FirestoreFallback | undefined;
    if (firestoreMode === "fallback") {
      fallback = await startFirestoreFallback({ port: ports.firestore }).catch((err: unknown) => {
        throw new Error(`${errorText(err)} (is another local stack running? stop it, or free port ${ports.firestore})`);
      });
      cleanups.push(() => fallback?.close());
    }
    const firestoreHost = `127.0.0.1:${ports.firestore}`;

    // (d) env files, and (e) the emulators
    const runDir = isolated ? path.join(localDir, `stack-${process.pid}-${Date.now()}`) : repoRoot;
    const sourceDir = isolated ? makePrivateFunctionsDir(runDir) : functionsDir;
    if (isolated) cleanups.push(() => rmSync(runDir, { recursive: true, force: true }));
    writeEnvFiles(sourceDir, {
      env: {
        UPSTASH_REDIS_REST_URL: gateway.url,
        FIRESTORE_EMULATOR_HOST: firestoreMode === "fallback" ? firestoreHost : undefined,
        // Single-quoted: a dotenv value taken literally, JSON quotes included.
        STRIPE_PRICE_PLANS: `'${JSON.stringify(localStripePricePlans)}'`,
        ...options.env,
      },
      secrets: { UPSTASH_REDIS_REST_TOKEN: gatewayToken },
      secretDefaults: { STRIPE_WEBHOOK_SECRET: localStripeWebhookSecret },
    });
    const configPath = isolated
      ? writeIsolatedConfig(runDir, firebaseConfig, ports, path.relative(runDir, sourceDir))
      : path.join(repoRoot, "firebase.json");

    mkdirSync(localDir, { recursive: true });
    // An isolated stack's log lives in its run directory, removed on stop (a failed start
    // reports the log's tail in its error).
    const emulatorLogFile = path.join(isolated ? runDir : localDir, "emulators.log");
    const only = ["functions", ...(options.auth === false ? [] : ["auth"]), ...(firestoreMode === "official" ? ["firestore"] : [])].join(",");
    log(`starting emulators (${only}) ...`);
    const inspectArgs =
      options.inspectFunctions === undefined || options.inspectFunctions === false
        ? []
        : [`--inspect-functions=${options.inspectFunctions === true ? await freePort() : options.inspectFunctions}`];
    const functionRuns = new FunctionRuns();
    const emulators = await startEmulators({
      args: [
        "emulators:start",
        ...["--only", only, "--project", projectId, "--config", configPath],
        ...inspectArgs,
        // Its work-queue lines tell when every delivered trigger has run (functionRuns);
        // debug lines go to the log file only.
        "--debug",
      ],
      cwd: path.dirname(configPath),
      env: {
        ...emulatorEnv(fallback ? firestoreHost : undefined),
        ...firebaseToolsEnvFor(firestoreEmulator, path.join(localDir, "firestore-emulator")),
      },
      onLine: (line) => functionRuns.read(line),
      logFile: emulatorLogFile,
      echoAfterReady: options.echoEmulatorOutput ?? false,
    });
    cleanups.push(() => emulators.stop());

    log("emulators ready");
    const functionsEmulatorUrl = `http://127.0.0.1:${ports.functions}`;
    const { callables, httpFunctions } = await listHttpFunctions(functionsEmulatorUrl, projectId);

    // (f) the trigger bridge (the official emulator fires triggers itself)
    let bridge: TriggerBridge | undefined;
    if (fallback) {
      bridge = startTriggerBridge({
        state: fallback.state,
        projectId,
        triggers: cachedEmulatorTriggers(functionsEmulatorUrl),
        deliver: deliverToFunctionsEmulator(functionsEmulatorUrl, projectId),
        log: (message) => log(message),
      });
      const running = bridge;
      // Deliveries still running when we stop are the emulator's to finish or drop.
      cleanups.push(() => Promise.race([running.close(), delay(5_000)]).then(() => undefined));
    }

    // (g) demo data
    let users: Record<string, SeedUser> = {};
    const authEmulatorHost = `127.0.0.1:${ports.auth}`;
    if (options.seed ?? true) {
      users = await seed({ projectId, authEmulatorHost, firestoreHost, upstash: { url: gateway.url, token: gatewayToken }, log });
      await bridge?.waitForIdle();
      // The seed's markers are bumped by its writes' triggers: ready means they ran.
      await functionRuns.settled({ quietMs: 400, timeoutMs: 30_000 });
    }

    log("local stack ready");
    let stopping: Promise<void> | undefined;
    return {
      projectId,
      region,
      functionsEmulatorUrl,
      functionsBaseUrl: `${functionsEmulatorUrl}/${projectId}/${region}`,
      callables,
      httpFunctions,
      authEmulatorHost,
      firestoreHost,
      firestoreMode,
      firestoreEmulator,
      gatewayUrl: gateway.url,
      gatewayToken,
      redisUrl,
      hubUrl: `http://127.0.0.1:${ports.hub}`,
      emulatorLogFile,
      users,
      redis,
      functionRuns,
      fallback,
      bridge,
      processGroups: [emulators.processGroup],
      emulatorsExited: emulators.exited,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// Ports and configuration

interface FirebaseJson {
  functions?: { source?: string; [key: string]: unknown }[] | { source?: string; [key: string]: unknown };
  firestore?: { rules?: string; indexes?: string };
  emulators?: Record<string, { port?: number; host?: string } | unknown>;
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, "utf8"));
}

function defaultProjectId(): string {
  const rc = readJson(path.join(repoRoot, ".firebaserc")) as { projects?: { default?: string } };
  return rc.projects?.default ?? "demo-voice-cache";
}

/** firebase.json's ports, with firebase-tools' defaults for the ones it does not name. */
function configPorts(config: FirebaseJson): Ports {
  const port = (name: string, fallback: number) => {
    const entry = config.emulators?.[name] as { port?: number } | undefined;
    return typeof entry?.port === "number" ? entry.port : fallback;
  };
  return {
    functions: port("functions", 5001),
    auth: port("auth", 9099),
    firestore: port("firestore", 8080),
    firestoreWebsocket: (config.emulators?.firestore as { websocketPort?: number } | undefined)?.websocketPort ?? 9150,
    hub: port("hub", 4400),
    logging: port("logging", 4500),
    eventarc: port("eventarc", 9299),
    tasks: port("tasks", 9499),
  };
}

async function randomPorts(): Promise<Ports> {
  const ports = new Set<number>();
  while (ports.size < 8) ports.add(await freePort());
  const [functions = 0, auth = 0, firestore = 0, firestoreWebsocket = 0, hub = 0, logging = 0, eventarc = 0, tasks = 0] = [...ports];
  return { functions, auth, firestore, firestoreWebsocket, hub, logging, eventarc, tasks };
}

/**
 * A firebase.json for an isolated stack: every emulator (also the ones firebase-tools starts
 * implicitly: hub, logging, eventarc, tasks) on its own random port.
 */
function writeIsolatedConfig(runDir: string, config: FirebaseJson, ports: Ports, functionsSource: string): string {
  const entries = Array.isArray(config.functions) ? config.functions : config.functions ? [config.functions] : [{}];
  const functions = entries.map(({ predeploy: _predeploy, ...entry }) => ({ ...entry, source: functionsSource }));
  // firebase-tools refuses files outside the config's directory: the stack gets copies.
  const rebase = (file?: string) => {
    if (!file) return undefined;
    copyFileSync(path.join(repoRoot, file), path.join(runDir, path.basename(file)));
    return path.basename(file);
  };
  const host = "127.0.0.1";
  const isolatedConfig = {
    functions,
    ...(config.firestore
      ? { firestore: { rules: rebase(config.firestore.rules), indexes: rebase(config.firestore.indexes) } }
      : {}),
    emulators: {
      functions: { host, port: ports.functions },
      auth: { host, port: ports.auth },
      firestore: { host, port: ports.firestore, websocketPort: ports.firestoreWebsocket },
      hub: { host, port: ports.hub },
      logging: { host, port: ports.logging },
      eventarc: { host, port: ports.eventarc },
      tasks: { host, port: ports.tasks },
      ui: { enabled: false },
      singleProjectMode: true,
    },
  };
  const file = path.join(runDir, "firebase.json");
  writeFileSync(file, JSON.stringify(isolatedConfig, null, 2));
  return file;
}

/**
 * functions/ seen through symlinks (package.json, lib, node_modules) plus env files of its
 * own: the emulator reads .env.local / .secret.local from the functions source directory
 * and reloads when they change, so a test stack must not write functions/'s files.
 */
function makePrivateFunctionsDir(runDir: string): string {
  const dir = path.join(runDir, "functions");
  mkdirSync(dir, { recursive: true });
  for (const entry of ["package.json", "lib", "node_modules"]) {
    symlinkSync(path.join(functionsDir, entry), path.join(dir, entry));
  }
  // The developer's values, and param values firebase-tools already resolved (carrying them
  // over spares the reload it does after writing them back); the stack's keys are set later.
  for (const file of [".env.local", ".secret.local"]) {
    const shared = path.join(functionsDir, file);
    if (existsSync(shared)) writeFileSync(path.join(dir, file), readFileSync(shared), { mode: 0o600 });
  }
  return dir;
}

/**
 * Sets the stack's keys in the dotenv files, keeping every other line (firebase-tools writes
 * resolved param defaults into .env.local; a developer may keep their own values there).
 */
function writeEnvFiles(
  dir: string,
  values: {
    env: Record<string, string | undefined>;
    secrets: Record<string, string>;
    secretDefaults: Record<string, string>;
  },
) {
  upsertDotenv(path.join(dir, ".env.local"), values.env, {});
  upsertDotenv(path.join(dir, ".secret.local"), values.secrets, values.secretDefaults);
}

/** `set`: written (undefined: removed); `defaults`: written only when the key is absent. */
function upsertDotenv(file: string, set: Record<string, string | undefined>, defaults: Record<string, string>) {
  const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
  const keyOf = (line: string) => /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
  const present = new Set(lines.map(keyOf).filter((k): k is string => k !== undefined));
  const kept = lines.filter((line) => {
    const key = keyOf(line);
    return key === undefined || !(key in set);
  });
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
  for (const [key, value] of Object.entries(set)) if (value !== undefined) kept.push(`${key}=${value}`);
  for (const [key, value] of Object.entries(defaults)) if (!present.has(key)) kept.push(`${key}=${value}`);
  writeFileSync(file, kept.join("\n") + "\n", { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------
// Processes

/** Runs a command to completion; its output is shown only if it fails. */
function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const output: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} failed (exit ${code}):\n${Buffer.concat(output).toString()}`));
    });
  });
}

async function startGateway(redisUrl: string, token: string, isolated: boolean): Promise<UpstashGateway> {
  if (!isolated) {
    try {
      return await startUpstashGateway({ port: preferredGatewayPort, redisUrl, token });
    } catch {
      // taken: any free port will do, the URL is printed and written to .env.local
    }
  }
  return startUpstashGateway({ port: 0, redisUrl, token });
}

interface RunningEmulators {
  processGroup: number;
  exited: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The environment of firebase-tools, which passes its own to every function worker: the
 * values this stack owns come from the env files only, never from the caller's shell
 * (a test process has the test stack's Redis and Firestore there).
 */
function emulatorEnv(fallbackFirestoreHost: string | undefined): NodeJS.ProcessEnv {
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
  if (fallbackFirestoreHost) env.FIRESTORE_EMULATOR_HOST = fallbackFirestoreHost;
  return env;
}

/**
 * Runs firebase-tools detached (its own process group, so Ctrl-C reaches it only through
 * us, and its function workers can be killed with it) and resolves once it is ready.
 */
async function startEmulators(options: {
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  echoAfterReady: boolean;
  /** Every line firebase-tools prints, --debug lines included. */
  onLine: (line: string) => void;
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
    if (options.echoAfterReady && readyAt !== undefined) process.stdout.write(text + "\n");
    output = (output + text + "\n").slice(-20_000);
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
      await Promise.race([exited, delay(emulatorStopGraceMs)]);
    }
    // Whatever is left in its group (workers, a Java emulator): killed.
    killGroup(processGroup, "SIGKILL");
    await waitForGroupExit(processGroup, 5_000);
    logStream.end();
  };

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
    await delay(100);
  }
}

function killGroup(processGroup: number, signal: NodeJS.Signals) {
  try {
    process.kill(-processGroup, signal);
  } catch {
    // no process left in the group
  }
}

async function waitForGroupExit(processGroup: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-processGroup, 0);
    } catch {
      return;
    }
    await delay(50);
  }
}

function delay(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------
// What the Functions emulator serves

interface BackendTrigger {
  name?: string;
  region?: string;
  httpsTrigger?: unknown;
  labels?: Record<string, string>;
}

async function listHttpFunctions(functionsEmulatorUrl: string, projectId: string) {
  const response = await fetch(`${functionsEmulatorUrl}/backends`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { backends?: { functionTriggers?: BackendTrigger[] }[] };
  const callables: Record<string, string> = {};
  const httpFunctions: Record<string, string> = {};
  for (const trigger of (body.backends ?? []).flatMap((b) => b.functionTriggers ?? [])) {
    if (!trigger.httpsTrigger || !trigger.name) continue;
    const url = `${functionsEmulatorUrl}/${projectId}/${trigger.region ?? region}/${trigger.name}`;
    if (trigger.labels?.["deployment-callable"] === "true") callables[trigger.name] = url;
    else httpFunctions[trigger.name] = url;
  }
  return { callables, httpFunctions };
}

/** The emulator's Firestore triggers, re-read at most every 2 s (they change on reload). */
function cachedEmulatorTriggers(functionsEmulatorUrl: string): () => Promise<FirestoreTrigger[]> {
  let cached: { at: number; triggers: Promise<FirestoreTrigger[]> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > 2_000) {
      const triggers = triggersFromFunctionsEmulator(functionsEmulatorUrl);
      cached = { at: Date.now(), triggers };
      triggers.catch(() => (cached = undefined));
    }
    return cached.triggers;
  };
}

// ---------------------------------------------------------------------------------------
// npm start

function describeStack(stack: LocalStack): string {
  const alice = stack.users.alice?.email ?? "alice@example.com";
  const lines = [
    "",
    `Local stack for ${stack.projectId} (Ctrl-C stops everything):`,
    `  Functions emulator   ${stack.functionsEmulatorUrl}`,
    `  Functions base URL   ${stack.functionsBaseUrl}/<name>`,
    ...Object.entries(stack.callables).map(([name, url]) => `    callable  ${name.padEnd(32)} ${url}`),
    ...Object.entries(stack.httpFunctions).map(([name, url]) => `    https     ${name.padEnd(32)} ${url}`),
    `  Auth emulator        http://${stack.authEmulatorHost}   (FIREBASE_AUTH_EMULATOR_HOST=${stack.authEmulatorHost})`,
    `  Firestore            ${stack.firestoreHost}   (FIRESTORE_EMULATOR_HOST=${stack.firestoreHost}; ${
      stack.firestoreMode === "official" ? "rules from firestore.rules" : "triggers delivered by the bridge; clear data by restarting"
    })`,
    `                       ${stack.firestoreEmulator.description}`,
    `  Upstash gateway      ${stack.gatewayUrl}   (token in functions/.secret.local)`,
    `  Redis                ${stack.redisUrl}`,
    `  Emulator hub         ${stack.hubUrl}`,
    `  Emulator log         ${path.relative(repoRoot, stack.emulatorLogFile)}`,
    `  Demo users           alice@example.com, bob@example.com (admin: true); password "password"`,
    "",
    "Call ping as Alice:",
    `  TOKEN=$(curl -s -X POST 'http://${stack.authEmulatorHost}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=any' \\`,
    `    -H 'content-type: application/json' -d '{"email":"${alice}","password":"password","returnSecureToken":true}' \\`,
    `    | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).idToken')`,
    `  curl -s -X POST ${stack.functionsBaseUrl}/ping -H "authorization: Bearer $TOKEN" \\`,
    `    -H 'content-type: application/json' -d '{"data":{}}'`,
    "",
    "See every callable, a tester flip, a Stripe upgrade and the live cache figures: npm run demo",
    "Rebuild functions (npm run build) and the emulator reloads them.",
    "",
  ];
  return lines.join("\n");
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function main() {
  requireProductionNode();
  // `npm start -- --inspect-functions`: debug the functions (one shared worker; firebase-tools prints the port).
  const { values } = parseArgs({ options: { "inspect-functions": { type: "boolean", default: false } }, strict: true });
  // Offline: the Google auth library would otherwise probe for a metadata server (and warn).
  process.env.METADATA_SERVER_DETECTION ??= "none";
  const stack = await startLocalStack({
    echoEmulatorOutput: true,
    inspectFunctions: values["inspect-functions"],
  });
  // Where `npm run demo` finds the running stack.
  writeFileSync(
    path.join(localDir, "stack.json"),
    JSON.stringify({ functionsBaseUrl: stack.functionsBaseUrl, authEmulatorHost: stack.authEmulatorHost }, null, 2) + "\n",
  );
  console.log(describeStack(stack));
  let stopping = false;
  void stack.emulatorsExited.then(() => {
    if (stopping) return;
    console.error("firebase emulators:start exited unexpectedly (see the emulator log); stopping.");
    void stack.stop().finally(() => process.exit(1));
  });
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals++;
    stopping = true;
    if (signals > 1) {
      // A second Ctrl-C: no more waiting.
      for (const group of stack.processGroups) killGroup(group, "SIGKILL");
      process.exit(130);
    }
    console.log(`\n${signal}: stopping the local stack ...`);
    stack.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(errorText(err));
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(errorText(err));
    process.exit(1);
  });
}
