/**
 * The one place `npm run deploy:check` touches firebase-tools' internals (its `lib/` modules, no
 * public API): the runtime table and guard, .env loading, discovery and offline validation.
 * Written against firebase-tools WRITTEN_FOR: another installed version is a problem
 * (`versionProblem`) until someone re-reads the modules below and updates WRITTEN_FOR.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const WRITTEN_FOR = "15.34.2";

export interface RuntimeInfo { friendly: string; status: string; deprecationDate: string; decommissionDate: string }
export interface ManifestParam { name: string; type: string; default?: unknown; description?: string }
export interface ManifestEndpoint {
  platform?: string;
  region?: unknown;
  callableTrigger?: object;
  httpsTrigger?: object;
  eventTrigger?: { eventType: string; eventFilters?: Record<string, unknown>; eventFilterPathPatterns?: Record<string, unknown> };
  scheduleTrigger?: object; taskQueueTrigger?: object; blockingTrigger?: { eventType?: string };
  secretEnvironmentVariables?: { key: string; secret?: string }[];
}
/** The discovered build (firebase-tools' `Build`, parsed from firebase-functions' manifest). */
export interface Manifest { params?: ManifestParam[]; endpoints: Record<string, ManifestEndpoint> }

/** firebase-tools' runtime rules (`deploy/functions/runtimes/supported`), as they are. */
export interface RuntimeRules {
  version: string;
  runtimes: Readonly<Record<string, RuntimeInfo>>;
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

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A stand-in value for a param during offline validation (never a secret). */
function placeholderFor(param: ManifestParam): string {
  if (param.default !== undefined) return typeof param.default === "string" ? param.default : JSON.stringify(param.default);
  return param.type === "int" || param.type === "float" ? "1" : param.type === "boolean" ? "false" : "placeholder";
}

const LEVELS = ["debug", "info", "warn", "error"] as const;

/** firebase-tools from the project's node_modules (the CLI `firebase deploy` runs). */
export function loadFirebaseTools(projectDir: string) {
  const packageJson = require.resolve("firebase-tools/package.json", { paths: [projectDir] });
  const version = (JSON.parse(fs.readFileSync(packageJson, "utf8")) as { version: string }).version;
  const lib = <T>(p: string): T => {
    try {
      return require(path.join(path.dirname(packageJson), "lib", p)) as T;
    } catch (error) {
      throw new Error(`${versionProblem(version) ?? `firebase-tools ${version}`}; cannot load lib/${p}: ${message(error)}`);
    }
  };
  type Supported = Pick<RuntimeRules, "isRuntime" | "latest" | "isDecommissioned"> & { RUNTIMES: RuntimeRules["runtimes"]; guardVersionSupport(runtime: string, now: Date): void };
  const supported = lib<Supported>("deploy/functions/runtimes/supported");
  const { logger } = lib<{ logger: Record<(typeof LEVELS)[number], (...args: unknown[]) => unknown> }>("logger");
  const env = lib<{ loadUserEnvs(opts: object): Record<string, string>; loadFirebaseEnvs(config: object, projectId: string): Record<string, string> }>("functions/env");

  /** firebase-tools' logger (silent here) recorded until `done()`: each call's string arguments. */
  const capture = () => {
    const calls: string[][] = [];
    const saved = LEVELS.map((level) => logger[level]);
    for (const level of LEVELS) logger[level] = (...args: unknown[]) => calls.push(args.filter((a): a is string => typeof a === "string"));
    return { calls, done: () => LEVELS.forEach((level, i) => (logger[level] = saved[i]!)) };
  };
  const captured = async <T>(fn: () => Promise<T>): Promise<{ value?: T; error?: string; logs: string[] }> => {
    const logs = capture();
    try {
      return { value: await fn(), logs: [] };
    } catch (error) {
      return { error: message(error), logs: logs.calls.map((args) => args.join(" ").trim()) };
    } finally {
      logs.done();
    }
  };

  const rules: RuntimeRules = {
    version,
    runtimes: supported.RUNTIMES,
    isRuntime: supported.isRuntime, latest: supported.latest, isDecommissioned: supported.isDecommissioned,
    guard(runtime, now) {
      // It throws to refuse, and warns through utils.logLabeledWarning: logger.warn(label, message).
      const logs = capture();
      try {
        supported.guardVersionSupport(runtime, now);
        return { warnings: logs.calls.map((args) => args.at(-1) ?? "") };
      } catch (error) {
        return { error: message(error), warnings: [] };
      } finally {
        logs.done();
      }
    },
  };

  /** What `firebase deploy` discovers (firebase-functions' discovery, run by firebase-tools), and firebase-tools' offline validation of it. */
  async function discover(opts: { projectId: string; projectDir: string; functionsDir: string; runtime?: string; codebase: string; userEnvs: Record<string, string> }) {
    const runtimes = lib<{ getRuntimeDelegate(context: object): Promise<{ discoverBuild(config: object, envs: object): Promise<Manifest> }> }>("deploy/functions/runtimes");
    const build = lib<{ resolveBackend(opts: object): Promise<{ backend: unknown }> }>("deploy/functions/build");
    const backend = lib<{ empty(): unknown }>("deploy/functions/backend");
    const validate = lib<{ endpointsAreValid(want: unknown, have: unknown): void }>("deploy/functions/validate");
    const { projectId, userEnvs } = opts;
    const firebaseConfig = { projectId, storageBucket: `${projectId}.appspot.com`, locationId: "us-central1" };
    // Discovery does not depend on the runtime; an unusable one is checkRuntime's to report.
    const runtime = opts.runtime && supported.isRuntime(opts.runtime) ? opts.runtime : supported.latest("nodejs");
    const discovered = await captured(async () => {
      const delegate = await runtimes.getRuntimeDelegate({ projectId, sourceDir: opts.functionsDir, projectDir: opts.projectDir, runtime });
      return delegate.discoverBuild({ firebase: firebaseConfig }, { ...userEnvs, ...env.loadFirebaseEnvs(firebaseConfig, projectId), GOOGLE_CLOUD_QUOTA_PROJECT: projectId });
    });
    if (!discovered.value) {
      const details = discovered.logs.filter((l) => l && !/^Serving at port|Using node@|^Could not find functions\.yaml|^Found firebase-functions binary/.test(l));
      return { discoveryError: [discovered.error ?? "no manifest", ...details.slice(-20)].join("\n    ") };
    }
    const manifest = discovered.value;
    // The resolved backend (ids, CPU/concurrency, timeouts, trigger shapes) with the params' values or stand-ins.
    const values = Object.fromEntries((manifest.params ?? []).filter((p) => p.type !== "secret").map((p) => [p.name, userEnvs[p.name] ?? placeholderFor(p)]));
    const validated = await captured(async () => {
      const resolved = await build.resolveBackend({ build: structuredClone(manifest), firebaseConfig, userEnvs: values, codebase: opts.codebase, nonInteractive: true, isEmulator: true });
      validate.endpointsAreValid(resolved.backend, backend.empty());
    });
    return { manifest, validationError: validated.error };
  }

  return { ...rules, loadUserEnvs: (opts: { functionsSource: string; projectId: string; projectAlias?: string; projectDir: string }) => env.loadUserEnvs(opts), discover };
}
