/**
 * firebase.json and .firebaserc as the launcher reads them, the ports of a stack, and the
 * private copy of the project an isolated stack (tests, bench) runs from.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stablePort } from "./ports";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const functionsDir = path.join(repoRoot, "functions");

export interface Ports {
  functions: number;
  auth: number;
  firestore: number;
  firestoreWebsocket: number;
  hub: number;
  logging: number;
  eventarc: number;
  tasks: number;
  /** The Hosting emulator (the operator dashboard). */
  hosting: number;
}

export interface FirebaseJson {
  functions?: { source?: string; [key: string]: unknown }[] | { source?: string; [key: string]: unknown };
  firestore?: { rules?: string; indexes?: string };
  hosting?: { public?: string; [key: string]: unknown };
  emulators?: Record<string, { port?: number; host?: string } | unknown>;
}

export function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, "utf8"));
}

export function defaultProjectId(): string {
  const rc = readJson(path.join(repoRoot, ".firebaserc")) as { projects?: { default?: string } };
  return rc.projects?.default ?? "demo-voice-cache";
}

/** firebase.json's ports, with firebase-tools' defaults for the ones it does not name. */
export function configPorts(config: FirebaseJson): Ports {
  const port = (name: string, defaultPort: number) => {
    const entry = config.emulators?.[name] as { port?: number } | undefined;
    return typeof entry?.port === "number" ? entry.port : defaultPort;
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
    hosting: port("hosting", 5000),
  };
}

const portNames: Record<keyof Ports, string> = {
  functions: "Functions emulator",
  auth: "Auth emulator",
  firestore: "Firestore emulator",
  firestoreWebsocket: "Firestore emulator's websocket",
  hub: "emulator hub",
  logging: "logging emulator",
  eventarc: "Eventarc emulator",
  tasks: "Cloud Tasks emulator",
  hosting: "Hosting emulator (dashboard)",
};

/**
 * A stack's ports, each `required` where firebase-tools fails when it is taken: the ones a
 * config names (an isolated stack names them all). The others it moves to a free port itself.
 */
export function neededPorts(ports: Ports, config: FirebaseJson, isolated: boolean): { name: string; port: number; required: boolean }[] {
  const named = (key: keyof Ports) => isolated || (key === "firestoreWebsocket" ? false : config.emulators?.[key] !== undefined);
  return (Object.keys(portNames) as (keyof Ports)[]).map((key) => ({ name: portNames[key], port: ports[key], required: named(key) }));
}

/** Random free ports for an isolated stack, below the kernel's ephemeral range (see stablePort). */
export async function randomPorts(): Promise<Ports> {
  const ports = new Set<number>();
  while (ports.size < 9) ports.add(await stablePort(ports));
  const [functions = 0, auth = 0, firestore = 0, firestoreWebsocket = 0, hub = 0, logging = 0, eventarc = 0, tasks = 0, hosting = 0] = [...ports];
  return { functions, auth, firestore, firestoreWebsocket, hub, logging, eventarc, tasks, hosting };
}

/**
 * A firebase.json for an isolated stack: every emulator (also the ones firebase-tools starts
 * implicitly: hub, logging, eventarc, tasks) on its own random port.
 */
export function writeIsolatedConfig(runDir: string, config: FirebaseJson, ports: Ports, functionsSource: string): string {
  const entries = Array.isArray(config.functions) ? config.functions : config.functions ? [config.functions] : [{}];
  const functions = entries.map(({ predeploy: _predeploy, ...entry }) => ({ ...entry, source: functionsSource }));
  // firebase-tools refuses files outside the config's directory: the stack gets copies.
  const rebase = (file?: string) => {
    if (!file) return undefined;
    copyFileSync(path.join(repoRoot, file), path.join(runDir, path.basename(file)));
    return path.basename(file);
  };
  // The served directory as a link (the launcher builds the page into it); rewrites as they are.
  const { predeploy: _predeploy, ...hosting } = config.hosting ?? {};
  if (hosting.public) {
    symlinkSync(path.join(repoRoot, hosting.public), path.join(runDir, "hosting-public"));
    hosting.public = "hosting-public";
  }
  const host = "127.0.0.1";
  const isolatedConfig = {
    functions,
    ...(config.firestore ? { firestore: { rules: rebase(config.firestore.rules), indexes: rebase(config.firestore.indexes) } } : {}),
    ...(config.hosting ? { hosting } : {}),
    emulators: {
      functions: { host, port: ports.functions },
      auth: { host, port: ports.auth },
      firestore: { host, port: ports.firestore, websocketPort: ports.firestoreWebsocket },
      hub: { host, port: ports.hub },
      logging: { host, port: ports.logging },
      eventarc: { host, port: ports.eventarc },
      tasks: { host, port: ports.tasks },
      hosting: { host, port: ports.hosting },
      ui: { enabled: false },
      singleProjectMode: true,
    },
  };
  const file = path.join(runDir, "firebase.json");
  writeFileSync(file, JSON.stringify(isolatedConfig, null, 2));
  return file;
}

/**
 * firebase.json with the Functions emulator moved to `emulatorPort` (clients reach it on
 * firebase.json's port through the gate, functions-gate.ts), written beside it: firebase-tools
 * resolves every path from the config's directory. Git-ignored.
 */
export function writeLocalConfig(config: FirebaseJson, emulatorPort: number): string {
  const functionsEntry = (config.emulators?.functions ?? {}) as Record<string, unknown>;
  const file = path.join(repoRoot, "firebase.local.json");
  writeFileSync(file, JSON.stringify({ ...config, emulators: { ...config.emulators, functions: { ...functionsEntry, port: emulatorPort } } }, null, 2) + "\n");
  return file;
}

/**
 * functions/ seen through symlinks (package.json, lib, node_modules) plus env files of its
 * own: the emulator reads .env.local / .secret.local from the functions source directory
 * and reloads when they change, so a test stack must not write functions/'s files.
 */
export function makePrivateFunctionsDir(runDir: string): string {
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
