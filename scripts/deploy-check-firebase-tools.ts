/**
 * The one place `npm run deploy:check` touches firebase-tools' internals (its `lib/` modules, no
 * public API): the runtime table and guard, .env loading, discovery and offline validation.
 * Written against firebase-tools WRITTEN_FOR: another installed version is a problem
 * (`versionProblem`) until someone re-reads the modules below and updates WRITTEN_FOR.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import { errorMessage } from "../functions/src/error-message";

export const WRITTEN_FOR = "15.34.2";

export type RuntimeInfo = { friendly: string; status: string; deprecationDate: string; decommissionDate: string };
export type ManifestParam = { name: string; type: string; default?: unknown };
export interface ManifestEndpoint {
  platform?: string;
  region?: unknown;
  callableTrigger?: object;
  httpsTrigger?: object;
  eventTrigger?: { eventType: string; eventFilters?: Record<string, unknown>; eventFilterPathPatterns?: Record<string, unknown> };
  secretEnvironmentVariables?: { key: string; secret?: string }[];
}
/** The discovered build (firebase-tools' `Build`, parsed from firebase-functions' manifest). */
export type Manifest = { params?: ManifestParam[]; endpoints: Record<string, ManifestEndpoint> };

/** firebase-tools' runtime rules, as they are (`deploy/functions/runtimes/supported`), and its version. */
export interface RuntimeRules {
  version: string;
  RUNTIMES: Readonly<Record<string, RuntimeInfo>>;
  isRuntime(runtime: string): boolean;
  latest(language: string): string;
  isDecommissioned(runtime: string, now: Date): boolean;
  /** `guardVersionSupport`: what it throws (decommissioned) and the warnings it logs (deprecated, or within 90 days of it). */
  guard(runtime: string, now: Date): { error?: string; warnings: string[] };
}

export function versionProblem(installed: string): string | undefined {
  if (installed === WRITTEN_FOR) return undefined;
  return `firebase-tools ${installed} is installed but scripts/deploy-check-firebase-tools.ts was written for ${WRITTEN_FOR}: it uses firebase-tools' internal modules, so re-check it against ${installed} and update WRITTEN_FOR`;
}

/** A placeholder value for a param during offline validation (never a secret). */
function placeholderFor(param: ManifestParam): string {
  if (param.default !== undefined) return typeof param.default === "string" ? param.default : JSON.stringify(param.default);
  return param.type === "int" || param.type === "float" ? "1" : param.type === "boolean" ? "false" : "placeholder";
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
type Logger = Record<(typeof LEVELS)[number], (...args: unknown[]) => unknown>;
type Envs = Record<string, string>;
type Supported = Omit<RuntimeRules, "version" | "guard"> & { guardVersionSupport(runtime: string, now: Date): void };
type Delegate = { discoverBuild(config: object, envs: Envs): Promise<Manifest> };

/** firebase-tools from the project's node_modules (the CLI `firebase deploy` runs). */
export function loadFirebaseTools(projectDir: string) {
  const packageJson = createRequire(`${projectDir}/`).resolve("firebase-tools/package.json");
  const version = (JSON.parse(fs.readFileSync(packageJson, "utf8")) as { version: string }).version;
  const load = createRequire(packageJson);
  const lib = <T>(p: string): T => {
    try {
      return load(`./lib/${p}`) as T;
    } catch (error) {
      throw new Error(`${versionProblem(version) ?? `firebase-tools ${version}`}; cannot load lib/${p}: ${errorMessage(error)}`);
    }
  };
  const supported = lib<Supported>("deploy/functions/runtimes/supported");
  const { logger } = lib<{ logger: Logger }>("logger");
  const env = lib<{ loadUserEnvs(opts: object): Envs; loadFirebaseEnvs(config: object, projectId: string): Envs }>("functions/env");
  const runtimes = lib<{ getRuntimeDelegate(context: object): Promise<Delegate> }>("deploy/functions/runtimes");
  const build = lib<{ resolveBackend(opts: object): Promise<{ backend: unknown }> }>("deploy/functions/build");
  const backend = lib<{ empty(): unknown }>("deploy/functions/backend");
  const validate = lib<{ endpointsAreValid(want: unknown, have: unknown): void }>("deploy/functions/validate");

  /** firebase-tools' logger (silent here) recorded until `done()`: each call's string arguments. */
  const capture = () => {
    const calls: string[][] = [];
    const saved = LEVELS.map((level) => logger[level]);
    for (const level of LEVELS) logger[level] = (...args: unknown[]) => calls.push(args.filter((a): a is string => typeof a === "string"));
    return { calls, done: () => LEVELS.forEach((level, i) => (logger[level] = saved[i]!)) };
  };

  const guard: RuntimeRules["guard"] = (runtime, now) => {
    // It throws to refuse, and warns through utils.logLabeledWarning: logger.warn(label, message).
    const logs = capture();
    try {
      supported.guardVersionSupport(runtime, now);
      return { warnings: logs.calls.map((args) => args.at(-1) ?? "") };
    } catch (error) {
      return { error: errorMessage(error), warnings: [] };
    } finally {
      logs.done();
    }
  };

  /** What `firebase deploy` discovers (firebase-functions' discovery, run by firebase-tools), and firebase-tools' offline validation of it. */
  async function discover(opts: { functionsDir: string; projectId: string; runtime?: string; codebase: string; userEnvs: Envs }) {
    const { projectId, userEnvs } = opts;
    const firebaseConfig = { projectId, storageBucket: `${projectId}.appspot.com`, locationId: "us-central1" };
    // Discovery does not depend on the runtime; an unusable one is checkRuntime's to report.
    const runtime = opts.runtime && supported.isRuntime(opts.runtime) ? opts.runtime : supported.latest("nodejs");
    const logs = capture();
    let manifest: Manifest | undefined;
    try {
      const delegate = await runtimes.getRuntimeDelegate({ projectId, sourceDir: opts.functionsDir, projectDir, runtime });
      manifest = await delegate.discoverBuild(
        { firebase: firebaseConfig },
        { ...userEnvs, ...env.loadFirebaseEnvs(firebaseConfig, projectId), GOOGLE_CLOUD_QUOTA_PROJECT: projectId },
      );
      // The resolved backend (ids, CPU/concurrency, timeouts, trigger shapes), with the params' values or placeholders.
      const values = (manifest.params ?? []).filter((p) => p.type !== "secret").map((p) => [p.name, userEnvs[p.name] ?? placeholderFor(p)]);
      const resolved = await build.resolveBackend({
        build: structuredClone(manifest),
        firebaseConfig,
        userEnvs: Object.fromEntries(values),
        codebase: opts.codebase,
        nonInteractive: true,
        isEmulator: true,
      });
      validate.endpointsAreValid(resolved.backend, backend.empty());
      return { manifest };
    } catch (error) {
      if (manifest) return { manifest, validationError: errorMessage(error) };
      const details = logs.calls
        .map((args) => args.join(" ").trim())
        .filter((l) => l && !/^Serving at port|Using node@|^Could not find functions\.yaml/.test(l));
      return { discoveryError: [errorMessage(error), ...details.slice(-20)].join("\n    ") };
    } finally {
      logs.done();
    }
  }

  const loadUserEnvs = (opts: { functionsSource: string; projectId: string; projectAlias?: string }) => env.loadUserEnvs({ ...opts, projectDir });
  const rules: RuntimeRules = { ...supported, version, guard };
  return { ...rules, loadUserEnvs, discover };
}
