/**
 * `npm start`: the whole suite on the Firebase emulator suite, offline, with demo data.
 *
 *  1. claims its ports: an earlier stack of this checkout still holding them (a launcher
 *     killed before it stopped it) is ended; anything else holding one stops the start at once,
 *     naming the process and the command that frees the port (port-holders.ts);
 *  2. builds functions (the emulator loads functions/lib);
 *  3. starts redis-server (unless REDIS_URL is set; installs it from Debian when missing and
 *     root) and the Upstash REST gateway in front of it;
 *  4. picks the Firestore emulator (firestore-emulator.ts): the official Cloud Firestore
 *     emulator wherever one can run;
 *  5. writes functions/.env.local and functions/.secret.local (git-ignored);
 *  6. runs `firebase emulators:start` (functions, auth, firestore, hosting) behind a gate that
 *     queues each function's requests past a few in flight (functions-gate.ts): the Firestore
 *     emulator delivers the Firestore triggers to the Functions emulator itself, and Hosting
 *     serves the operator dashboard (hosting/, built in step 2 with the functions);
 *  7. connects Firestore's triggers (the official emulator delivers them itself);
 *  8. seeds demo data (scripts/stack/seed.ts), waits for the seed's triggers, prints every endpoint.
 *
 * Every way it ends stops everything it started: Ctrl-C, a closed terminal (SIGHUP) and
 * SIGTERM through its own stop; SIGKILL or a crash through the reaper (reaper.ts), which
 * outlives it. Every process it starts carries the run's id in its environment
 * (stack-processes.ts), however many process groups firebase-tools spreads them over.
 * `startLocalStack({ isolated: true })` is the
 * same stack for tests and the bench (../harness/suite-stack.ts): random ports and a private
 * functions directory (symlinks to functions/lib and node_modules) with its own env files,
 * so it can run next to `npm start` without touching its ports or its functions/.env.local.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { statsPublishIntervalMsParam } from "../../functions/src/config";
import { errorMessage } from "../../functions/src/error-message";
import { buildDashboard } from "../../hosting/build";
import { writeEnvFiles } from "./dotenv-files";
import {
  configPorts,
  defaultProjectId,
  FirebaseJson,
  functionsDir,
  makePrivateFunctionsDir,
  neededPorts,
  Ports,
  randomPorts,
  readJson,
  repoRoot,
  writeIsolatedConfig,
  writeLocalConfig,
} from "./emulator-config";
import { defaultRegion, emulatorEnv, listHttpFunctions, startEmulators } from "./firebase-emulators";
import { defaultInFlightPerFunction, FunctionsGate, startFunctionsGate } from "./functions-gate";
import { openLocalFirestore } from "./firestore-emulator";
import { FunctionRuns } from "./function-runs";
import { localStripePricePlans, localStripeWebhookSecret } from "./local-stripe";
import { claimStackPorts } from "./port-holders";
import { freePort, stablePort } from "./ports";
import { CommandInterrupted, killPid, run } from "./processes";
import { requireProductionNode } from "./project-node";
import { startReaper } from "./reaper";
import { RunningRedis, startRedisServer } from "./redis-server";
import { LocalFirestore } from "./local-firestore";
import { seed, SeedUser } from "./seed";
import { writeStackInfo } from "./stack-info";
import { endProcesses, newStackRun, processesOfRun, StackRun } from "./stack-processes";
import { startUpstashGateway, UpstashGateway, UpstashGatewayOptions } from "./upstash-gateway";

const localDir = path.join(repoRoot, ".local");
const region = defaultRegion;

/** What is left of the run once every step has stopped gets this long to end on SIGTERM before SIGKILL: nothing is kept. */
const straggleGraceMs = 1_000;

/** The local stack's STATS_PUBLISH_INTERVAL_MS (production: 60 s). */
const localStatsPublishIntervalMs = 5_000;

/** Preferred gateway port for `npm start` (the gateway's documented example); any free port if taken. */
const preferredGatewayPort = 8079;

export interface LocalStackOptions {
  /** Random ports and a private functions directory (tests). Default: firebase.json's ports, functions/ env files. */
  isolated?: boolean;
  /** Default: the `default` project of .firebaserc. */
  projectId?: string;
  /** Use this Redis instead of starting redis-server. Default: process.env.REDIS_URL. */
  redisUrl?: string;
  /** Which Firestore emulator (firestore-emulator.ts); default `auto`. */
  firestore?: Parameters<typeof openLocalFirestore>[0]["want"];
  /**
   * Debug functions: firebase-tools' `--inspect-functions` (a Node inspector on this port, or
   * a free one for `true`). It serves every function from ONE worker, one request at a time,
   * unlike production (one service per function, concurrency 80): off by default.
   */
  inspectFunctions?: boolean | number;
  /** Build functions (and the dashboard) first (default true). */
  build?: boolean;
  /** Start the Auth emulator (default true; the test suite signs its own tokens and skips its ~10 s start). */
  auth?: boolean;
  /** Serve the operator dashboard from the Hosting emulator (default true; it signs in with the Auth emulator, so never without it). */
  hosting?: boolean;
  /** Param values for the functions' .env.local, over the stack's own (e.g. a plan limit). */
  env?: Record<string, string>;
  /** Seed demo data (default true). */
  seed?: boolean;
  /** Progress lines; default console.log. */
  log?: (line: string) => void;
  /** Once ready, also copy the emulator's output (function logs) to stdout. It always goes to the log file. */
  echoEmulatorOutput?: boolean;
  /** Options for the Upstash gateway (e.g. `onCommand`, to count what every client sends). */
  gateway?: Pick<UpstashGatewayOptions, "onCommand">;
  /** Aborted (Ctrl-C while starting): stop everything started so far, and reject. */
  signal?: AbortSignal;
  /**
   * Requests one function may have in the Functions emulator at once (its workers); more wait
   * in order, as behind a Cloud Run instance's `concurrency` (functions-gate.ts). Default 3.
   */
  inFlightPerFunction?: number;
  /** The ports to use (isolated stacks: default random ones). */
  ports?: Ports;
  /** The run every process of this stack is marked with (stack-processes.ts); default a new one. */
  run?: StackRun;
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
  gatewayUrl: string;
  /** The gateway's bearer token (UPSTASH_REDIS_REST_TOKEN). */
  gatewayToken: string;
  redisUrl: string;
  /** `http://127.0.0.1:4400` */
  hubUrl: string;
  /** The operator dashboard on the Hosting emulator, `http://127.0.0.1:5000/`; undefined without hosting. */
  dashboardUrl?: string;
  emulatorLogFile: string;
}

export interface LocalStack extends LocalStackEndpoints {
  /** Seeded users by short name (`alice`, `bob`); empty without seeding. */
  users: Record<string, SeedUser>;
  /** The redis-server this stack started (none when given a Redis URL). */
  redis?: RunningRedis;
  /** Function executions reported by the Functions emulator. */
  functionRuns: FunctionRuns;
  /** The Firestore emulator this stack runs against (its address is `firestoreHost`). */
  firestore: LocalFirestore;
  /** Process group ids of the detached children (firebase-tools and its workers). */
  processGroups: number[];
  /** Every process this stack started carries this run's id in its environment (stack-processes.ts). */
  run: StackRun;
  /** The queue in front of the Functions emulator, and what it held back. */
  functionsGate: FunctionsGate;
  /** Settles when firebase-tools exits (after stop(), or on its own: then the stack is broken). */
  emulatorsExited: Promise<void>;
  stop(): Promise<void>;
}

/** Starts the stack; on any failure, stops what was already started and rethrows. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const startedAt = Date.now();
  const userLog = options.log ?? ((line: string) => console.log(line));
  const log = (line: string) => userLog(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const isolated = options.isolated ?? false;
  const projectId = options.projectId ?? defaultProjectId();
  const firebaseConfig = readJson(path.join(repoRoot, "firebase.json")) as FirebaseJson;
  const hosting = (options.hosting ?? true) && options.auth !== false && firebaseConfig.hosting !== undefined;
  const stackRun = options.run ?? newStackRun();
  const runDir = isolated ? path.join(localDir, `stack-${process.pid}-${Date.now()}`) : repoRoot;
  // However this process ends (a SIGKILL included), the reaper ends what it started.
  const reaper = startReaper(stackRun, isolated ? [runDir] : []);
  const cleanups: (() => Promise<void> | void)[] = [];
  let stopping: Promise<void> | undefined;
  // Once: a Ctrl-C during the start, the start's own failure and stop() share one run.
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          await cleanup();
        } catch (err) {
          log(`stop: ${errorMessage(err)}`);
        }
      }
      // What the steps above did not stop (the Java emulator is in a process group of its own).
      const left = await endProcesses(() => processesOfRun(stackRun.id), straggleGraceMs);
      if (left.length > 0) log(`stop: could not end ${left.map((p) => `${p.pid} (${p.command})`).join(", ")}`);
      await reaper.release();
    })());
  // Interrupted while starting: stop what runs now, and fail the step in flight (it may be
  // waiting on a server just stopped, as the seed's writes would, for minutes).
  const interrupted = new Promise<never>((_resolve, reject) => {
    const abort = () => {
      void stopAll();
      reject(new Error("interrupted while starting"));
    };
    if (options.signal?.aborted) abort();
    else options.signal?.addEventListener("abort", abort, { once: true });
  });
  interrupted.catch(() => undefined);
  const step = <T>(work: Promise<T>): Promise<T> => Promise.race([work, interrupted]);

  try {
    // (a) The ports, first: an earlier stack of this checkout that holds them is ended; anything else holding one stops the start at once.
    const ports = options.ports ?? (isolated ? await randomPorts() : configPorts(firebaseConfig));
    await step(claimStackPorts(neededPorts(ports, firebaseConfig, isolated), log));

    // (b) build
    if (options.build ?? true) {
      log("building functions ...");
      await step(run("npm", ["--prefix", functionsDir, "run", "build"], repoRoot, { ...process.env, ...stackRun.env }));
      if (hosting) {
        log("building the dashboard ...");
        await step(buildDashboard());
      }
    }

    // (c) Redis and the Upstash gateway
    const redisUrlOption = options.redisUrl ?? process.env.REDIS_URL;
    let redis: RunningRedis | undefined;
    if (!redisUrlOption) {
      const started = startRedisServer({ log, env: { ...process.env, ...stackRun.env } });
      cleanups.push(() =>
        started.then(
          (r) => r.stop(),
          () => undefined,
        ),
      );
      redis = await step(started);
    }
    const redisUrl = redisUrlOption ?? redis?.url ?? "";
    const gatewayToken = randomBytes(24).toString("hex");
    const startingGateway = startGateway(redisUrl, gatewayToken, isolated, options.gateway);
    cleanups.push(() =>
      startingGateway.then(
        (g) => g.close(),
        () => undefined,
      ),
    );
    const gateway = await step(startingGateway);

    // (d) Firestore
    const firestore = await step(
      openLocalFirestore({ want: options.firestore, port: ports.firestore, projectId, workDir: path.join(localDir, "firestore-emulator") }),
    );
    cleanups.push(() => firestore.close());
    log(`Firestore: ${firestore.description}`);
    const firestoreHost = firestore.host;

    // (e) env files, and (f) the emulators, with the Functions emulator behind its gate
    const sourceDir = isolated ? makePrivateFunctionsDir(runDir) : functionsDir;
    if (isolated) cleanups.push(() => rmSync(runDir, { recursive: true, force: true }));
    writeEnvFiles(sourceDir, {
      env: {
        UPSTASH_REDIS_REST_URL: gateway.url,
        FIRESTORE_EMULATOR_HOST: firestore.firebaseToolsEnv.FIRESTORE_EMULATOR_HOST,
        // Single-quoted: a dotenv value taken literally, JSON quotes included.
        STRIPE_PRICE_PLANS: `'${JSON.stringify(localStripePricePlans)}'`,
        // Production publishes each instance's cache figures once a minute; here a few seconds,
        // so the demo and the dashboard show a call's figures at once.
        [statsPublishIntervalMsParam.name]: String(localStatsPublishIntervalMs),
        ...options.env,
      },
      secrets: { UPSTASH_REDIS_REST_TOKEN: gatewayToken },
      secretDefaults: { STRIPE_WEBHOOK_SECRET: localStripeWebhookSecret },
    });
    const emulatorPorts = { ...ports, functions: await stablePort(new Set(Object.values(ports))) };
    const configPath = isolated
      ? writeIsolatedConfig(runDir, firebaseConfig, emulatorPorts, path.relative(runDir, sourceDir))
      : writeLocalConfig(firebaseConfig, emulatorPorts.functions);
    const startingGate = startFunctionsGate({
      port: ports.functions,
      emulatorPort: emulatorPorts.functions,
      inFlightPerFunction: options.inFlightPerFunction ?? defaultInFlightPerFunction,
    });
    cleanups.push(() =>
      startingGate.then(
        (g) => g.close(),
        () => undefined,
      ),
    );
    const functionsGate = await step(startingGate);

    mkdirSync(localDir, { recursive: true });
    // An isolated stack's log lives in its run directory, removed on stop (a failed start
    // reports the log's tail in its error).
    const emulatorLogFile = path.join(isolated ? runDir : localDir, "emulators.log");
    const only = ["functions", ...(options.auth === false ? [] : ["auth"]), ...firestore.firebaseToolsEmulators, ...(hosting ? ["hosting"] : [])].join(",");
    log(`starting emulators (${only}) ...`);
    const inspectArgs =
      options.inspectFunctions === undefined || options.inspectFunctions === false
        ? []
        : [`--inspect-functions=${options.inspectFunctions === true ? await freePort() : options.inspectFunctions}`];
    const functionRuns = new FunctionRuns();
    const emulators = await step(
      startEmulators({
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
          ...emulatorEnv(),
          ...firestore.firebaseToolsEnv,
          ...stackRun.env,
        },
        onLine: (line) => functionRuns.read(line),
        logFile: emulatorLogFile,
        echoAfterReady: options.echoEmulatorOutput ?? false,
        // Stopped with the rest from the moment it is spawned, not once it is ready.
        onSpawned: (stop) => cleanups.push(stop),
      }),
    );

    log("emulators ready");
    const functionsEmulatorUrl = `http://127.0.0.1:${ports.functions}`;
    const { callables, httpFunctions } = await step(listHttpFunctions(functionsEmulatorUrl, projectId));
    const hubUrl = `http://127.0.0.1:${ports.hub}`;
    const dashboardUrl = hosting ? await step(hostingUrl(hubUrl)) : undefined;

    // (g) Firestore's triggers
    firestore.connectTriggers(functionsEmulatorUrl, log);

    // (h) demo data
    let users: Record<string, SeedUser> = {};
    const authEmulatorHost = `127.0.0.1:${ports.auth}`;
    if (options.seed ?? true) {
      users = await step(seed({ projectId, authEmulatorHost, firestoreHost, upstash: { url: gateway.url, token: gatewayToken }, log }));
      await step(firestore.handedOff());
      // The seed's markers are bumped by its writes' triggers: ready means they ran.
      await step(functionRuns.settled({ quietMs: 400, timeoutMs: 30_000 }));
    }

    log("local stack ready");
    return {
      projectId,
      region,
      functionsEmulatorUrl,
      functionsBaseUrl: `${functionsEmulatorUrl}/${projectId}/${region}`,
      callables,
      httpFunctions,
      authEmulatorHost,
      firestoreHost,
      gatewayUrl: gateway.url,
      gatewayToken,
      redisUrl,
      hubUrl,
      dashboardUrl,
      emulatorLogFile,
      users,
      redis,
      functionRuns,
      firestore,
      processGroups: [emulators.processGroup],
      run: stackRun,
      functionsGate,
      emulatorsExited: emulators.exited,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function startGateway(redisUrl: string, token: string, isolated: boolean, extra: LocalStackOptions["gateway"] = {}): Promise<UpstashGateway> {
  if (!isolated) {
    try {
      return await startUpstashGateway({ ...extra, port: preferredGatewayPort, redisUrl, token });
    } catch {
      // taken: any free port will do, the URL is printed and written to .env.local
    }
  }
  return startUpstashGateway({ ...extra, port: 0, redisUrl, token });
}

/** Where the Hosting emulator listens: firebase-tools moves it to the next free port when firebase.json's is taken. */
async function hostingUrl(hubUrl: string): Promise<string> {
  const response = await fetch(`${hubUrl}/emulators`, { signal: AbortSignal.timeout(5_000) });
  const { hosting } = (await response.json()) as { hosting?: { host: string; port: number } };
  if (!hosting) throw new Error("the emulator hub lists no Hosting emulator");
  return `http://${hosting.host}:${hosting.port}/`;
}

// ---------------------------------------------------------------------------------------
// npm start

function describeStack(stack: LocalStack): string {
  const alice = stack.users.alice?.email ?? "alice@example.com";
  const lines = [
    "",
    `Local stack for ${stack.projectId} (Ctrl-C stops everything):`,
    ...(stack.dashboardUrl ? [`  Dashboard            ${stack.dashboardUrl}   (cacheStats drawn; sign in as bob@example.com, the admin)`] : []),
    `  Functions emulator   ${stack.functionsEmulatorUrl}   (at most ${stack.functionsGate.inFlightPerFunction} requests per function at once, the rest queue;`,
    `                       firebase-tools' table shows the emulator itself, behind that queue, on ${stack.functionsGate.emulatorPort})`,
    `  Functions base URL   ${stack.functionsBaseUrl}/<name>`,
    ...Object.entries(stack.callables).map(([name, url]) => `    callable  ${name.padEnd(32)} ${url}`),
    ...Object.entries(stack.httpFunctions).map(([name, url]) => `    https     ${name.padEnd(32)} ${url}`),
    `  Auth emulator        http://${stack.authEmulatorHost}   (FIREBASE_AUTH_EMULATOR_HOST=${stack.authEmulatorHost})`,
    `  Firestore            ${stack.firestoreHost}   (FIRESTORE_EMULATOR_HOST=${stack.firestoreHost}; ${stack.firestore.bannerNote})`,
    `                       ${stack.firestore.description}`,
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

/**
 * One worker of each function, started before the banner (a request without a token, answered
 * 401), two at a time: a worker takes about 0.8 s of CPU to load, and the first calls a
 * developer or `npm run demo` makes would otherwise each wait for one.
 */
async function warmFunctions(stack: LocalStack): Promise<void> {
  const urls = [...Object.values(stack.callables), ...Object.values(stack.httpFunctions)];
  const warmOne = async () => {
    for (let url = urls.shift(); url !== undefined; url = urls.shift()) {
      await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"data":{}}', signal: AbortSignal.timeout(60_000) }).catch(
        () => undefined,
      );
    }
  };
  await Promise.all([warmOne(), warmOne()]);
}

/** What ends `npm start`: Ctrl-C, `kill`, and the terminal closing (SIGHUP). */
const stopSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

async function main() {
  requireProductionNode();
  const { values } = parseArgs({
    options: {
      // Debug the functions (one shared worker; firebase-tools prints the port).
      "inspect-functions": { type: "boolean", default: false },
      // Requests one function may have in the emulator at once (its worker processes).
      "in-flight-per-function": { type: "string", default: String(defaultInFlightPerFunction) },
    },
    strict: true,
  });
  const inFlightPerFunction = Number(values["in-flight-per-function"]);
  if (!Number.isInteger(inFlightPerFunction) || inFlightPerFunction < 1) throw new Error("--in-flight-per-function must be a whole number ≥ 1");
  // Offline: the Google auth library would otherwise probe for a metadata server (and warn).
  process.env.METADATA_SERVER_DETECTION ??= "none";
  // The launcher is a process of its run too: a later start that finds this stack's ports held ends it with the rest.
  const stackRun = newStackRun();
  Object.assign(process.env, stackRun.env);
  // A closed terminal turns every write to it into EIO: the stop must go on regardless.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  // Ctrl-C from the first moment: while starting, it stops what already runs (a signal with no
  // handler would end this process at once and leave firebase-tools' emulators running).
  const starting = new AbortController();
  const interruptStart = (signal: NodeJS.Signals) => {
    if (starting.signal.aborted) return;
    console.log(`\n${signal}: stopping what has started ...`);
    starting.abort();
  };
  for (const signal of stopSignals) process.on(signal, interruptStart);
  const isolated = process.env.LOCAL_STACK_ISOLATED === "1";
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      echoEmulatorOutput: true,
      inspectFunctions: values["inspect-functions"],
      inFlightPerFunction,
      signal: starting.signal,
      run: stackRun,
      // Random ports (or the given ones) and private files: the interrupt spec runs this next to a developer's own stack.
      isolated,
      ports: process.env.LOCAL_STACK_PORTS ? (JSON.parse(process.env.LOCAL_STACK_PORTS) as Ports) : undefined,
    });
  } catch (err) {
    if (starting.signal.aborted || err instanceof CommandInterrupted) process.exit(130);
    throw err;
  }
  // A developer's stack answers its first calls warm (the test runs' isolated stacks skip it).
  if (!isolated) {
    const warmingSince = Date.now();
    console.log("warming one worker of each function ...");
    await Promise.race([warmFunctions(stack), new Promise((resolve) => starting.signal.addEventListener("abort", resolve, { once: true }))]);
    console.log(`warmed in ${((Date.now() - warmingSince) / 1000).toFixed(1)} s`);
    if (starting.signal.aborted) {
      await stack.stop();
      process.exit(130);
    }
  }
  for (const signal of stopSignals) process.off(signal, interruptStart);
  // Where `npm run demo` finds the running stack.
  if (!isolated) writeStackInfo(stack);
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
      // A second Ctrl-C: no more waiting (the reaper sweeps whatever this leaves).
      for (const { pid } of processesOfRun(stack.run.id)) killPid(pid, "SIGKILL");
      process.exit(130);
    }
    console.log(`\n${signal}: stopping the local stack ...`);
    stack.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(errorMessage(err));
        process.exit(1);
      },
    );
  };
  for (const signal of stopSignals) process.on(signal, shutdown);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(errorMessage(err));
    process.exit(1);
  });
}
