/**
 * `npm run deploy:check`: offline, what `firebase deploy --only functions` would refuse, or
 * would deploy broken, found before deploying.
 *
 * 1. Builds the functions codebase (`npm --prefix functions run build`).
 * 2. Discovers the deploy manifest exactly as `firebase deploy` does: firebase-tools' own Node
 *    runtime delegate (`runtimes.getRuntimeDelegate(...).discoverBuild(...)`), which spawns
 *    firebase-functions' `firebase-functions` bin with the same environment (user .env files,
 *    FIREBASE_CONFIG, GCLOUD_PROJECT, FUNCTIONS_CONTROL_API=true) and reads `/__/functions.yaml`
 *    (or the manifest file when FIREBASE_FUNCTIONS_DISCOVERY_OUTPUT_PATH is set), then runs
 *    firebase-tools' own offline endpoint validation on the resolved backend.
 * 3. Checks the runtime against firebase-tools' runtime table as of today, the params and
 *    secrets against `functions/src/config.ts` and the source's `process.env` reads, and the
 *    endpoints against the product contract (`CONTRACT_ENDPOINTS` below).
 *
 * Secrets without a value are not an offline error (they live in Secret Manager): the check
 * lists the secrets and params the deploy will need instead.
 *
 * The checks themselves are pure (`checkDeploy` and the functions it calls) so a spec can run
 * them on a modified config; `collectInputs` does the I/O.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import * as ts from "typescript";
import { maxMarkerPollIntervalMs, minMarkerPollIntervalMs } from "../functions/src/cache/instance";
import { markerPollIntervalMsParam } from "../functions/src/config";
import { errorMessage } from "../functions/src/error-message";

export const REPO_ROOT = path.resolve(__dirname, "..");

// ---------------------------------------------------------------------------------------------
// What the product contract names. ONE list: callables (onCall), HTTPS functions (onRequest)
// and Firestore triggers with their documents. A deployed function id is public surface: an
// export missing here, or a name here that is not exported, fails the check.
// ---------------------------------------------------------------------------------------------

export type ContractEndpoint =
  | { kind: "callable"; note?: string }
  | { kind: "https"; note?: string }
  | { kind: "firestore"; event: "written" | "created" | "updated" | "deleted"; document: string; note?: string };

export const CONTRACT_ENDPOINTS: Readonly<Record<string, ContractEndpoint>> = {
  // Callables (signed-in user; the tester ones admin only)
  getAvailableApps: { kind: "callable" },
  enableApp: { kind: "callable" },
  disableApp: { kind: "callable" },
  getMentorNotificationFrequency: { kind: "callable" },
  setMentorNotificationFrequency: { kind: "callable" },
  recordTranscriptionUsage: { kind: "callable" },
  getCredits: { kind: "callable" },
  addTester: { kind: "callable" },
  removeTester: { kind: "callable" },
  grantTesterAppAccess: { kind: "callable" },
  revokeTesterAppAccess: { kind: "callable" },
  // HTTPS functions
  stripeWebhook: { kind: "https" },
  cacheStats: { kind: "https" },
  // Firestore triggers: the contract names the documents; these ids are the deployed names
  // (renaming one makes `firebase deploy` delete the old function).
  onAppWritten: { kind: "firestore", event: "written", document: "apps/{appId}" },
  onTesterWritten: { kind: "firestore", event: "written", document: "testers/{uid}" },
  onUserWritten: { kind: "firestore", event: "written", document: "users/{uid}" },
  // Beyond the contract's tables, deliberately public:
  ping: { kind: "callable", note: "not in the contract's tables: the smallest end-to-end check (docs/deploy.md smoke test)" },
};

/**
 * `process.env` names the platform sets, never declared as params (firebase-tools reserves the
 * deploy-time ones: a param with such a name fails the deploy). Kept small on purpose.
 */
export const PLATFORM_ENV: Readonly<Record<string, string>> = {
  GCLOUD_PROJECT: "project id: set by the Firebase CLI on deploy and by the emulator",
  GOOGLE_CLOUD_PROJECT: "project id: set by Cloud Run functions",
  FIREBASE_CONFIG: "Admin SDK defaults: set by the Firebase CLI on deploy and by the emulator",
  K_SERVICE: "Cloud Run service (= function) name: set by Cloud Run",
  K_REVISION: "Cloud Run revision: set by Cloud Run",
  FUNCTION_TARGET: "entry point: set by Cloud Run functions",
  FUNCTIONS_EMULATOR: '"true" only under the Functions emulator',
  FIREBASE_DEBUG_MODE: "set only by the Functions emulator (debug features on)",
  FIREBASE_DEBUG_FEATURES: "set only by the Functions emulator (e.g. skipTokenVerification)",
  FIRESTORE_EMULATOR_HOST: "set by the emulator suite: the Admin SDK then talks to the Firestore emulator",
  FIREBASE_AUTH_EMULATOR_HOST: "set by the emulator suite: the Admin SDK then talks to the Auth emulator",
};

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

export interface RuntimeInfo {
  friendly: string;
  status: string;
  deprecationDate: string;
  decommissionDate: string;
}
export type RuntimeTable = Readonly<Record<string, RuntimeInfo>>;

export interface PackageJson {
  engines?: { node?: string };
  devDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
}

/** firebase.json's `functions` entry, as far as this check reads it. */
export interface FunctionsConfig {
  source?: string;
  codebase?: string;
  runtime?: string;
}

export interface ManifestParam {
  name: string;
  type: string;
  default?: unknown;
  description?: string;
}

export interface ManifestEndpoint {
  platform?: string;
  region?: unknown;
  entryPoint?: string;
  callableTrigger?: object;
  httpsTrigger?: object;
  eventTrigger?: {
    eventType: string;
    retry?: unknown;
    eventFilters?: Record<string, unknown>;
    eventFilterPathPatterns?: Record<string, unknown>;
  };
  scheduleTrigger?: object;
  taskQueueTrigger?: object;
  blockingTrigger?: { eventType?: string };
  secretEnvironmentVariables?: { key: string; secret?: string }[];
}

/** The discovered build (firebase-tools' `Build`, parsed from firebase-functions' manifest). */
export interface Manifest {
  params?: ManifestParam[];
  endpoints: Record<string, ManifestEndpoint>;
}

export interface DeclaredParam {
  name: string;
  /** "secret", or the define* suffix in lower case: "string", "int", "boolean", ... */
  kind: string;
  variable?: string;
  /** `functions/src/...:line` */
  location: string;
}

export type EnvRead =
  | { kind: "name"; name: string; location: string }
  /** `process.env[p.name]` where `p` is a firebase-functions param handle not traced to a declaration */
  | { kind: "handle"; text: string; location: string }
  | { kind: "computed"; text: string; location: string }
  | { kind: "whole"; text: string; location: string };

export interface SecretUse {
  secret: string;
  /** How the endpoint reaches it: declarations from the export to the secret. */
  via: string[];
}

export interface SourceScan {
  /** define* calls in functions/src/config.ts */
  declared: DeclaredParam[];
  /** define* calls anywhere else in functions/src */
  declaredElsewhere: DeclaredParam[];
  envReads: EnvRead[];
  /** Per export of index.ts: the secrets its handler can reach (static, declaration level). */
  endpointSecretUses: Record<string, SecretUse[]>;
}

export interface CheckInput {
  now: Date;
  /** firebase-tools' own runtime table (`supported.RUNTIMES`). */
  runtimes: RuntimeTable;
  firebaseToolsVersion: string;
  firebaseJson: unknown;
  functionsPackageJson: PackageJson;
  rootPackageJson: PackageJson;
  /** The Node running this check, and the `node` on PATH that discovery runs under. */
  nodeVersions: { check: string; discovery?: string };
  /** Undefined when discovery failed (then `discoveryError` says why). */
  manifest?: Manifest;
  discoveryError?: string;
  /** firebase-tools' own offline endpoint validation, or the .env loading error. */
  toolProblems: string[];
  source: SourceScan;
  /** Values the deploy would read from functions/.env and functions/.env.<project>. */
  userEnvs: Record<string, string>;
  envFiles: string[];
  projectId: string;
  contract?: Readonly<Record<string, ContractEndpoint>>;
}

export interface CheckResult {
  problems: string[];
  notes: string[];
  report: string[];
  runtime?: string;
}

// ---------------------------------------------------------------------------------------------
// Pure checks
// ---------------------------------------------------------------------------------------------

const FUNCTIONS_SOURCE = "functions";
const DAY_MS = 24 * 60 * 60 * 1000;

function majorOf(version: string | undefined): number | undefined {
  const match = /^\D*(\d+)/.exec(version ?? "");
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** firebase.json's `functions` entries (an object or an array of them). */
export function functionsConfigs(firebaseJson: unknown): FunctionsConfig[] {
  const functions = (firebaseJson as { functions?: unknown } | null)?.functions;
  if (functions === undefined || functions === null) return [];
  return (Array.isArray(functions) ? functions : [functions]) as FunctionsConfig[];
}

export interface RuntimeCheck {
  problems: string[];
  notes: string[];
  runtime?: string;
  info?: RuntimeInfo;
}

/**
 * The runtime firebase-tools would deploy (firebase.json `runtime`, else `nodejs<engines.node>`),
 * judged by firebase-tools' own table at `now`, and the Node majors around it.
 */
export function checkRuntime(input: Pick<CheckInput, "now" | "runtimes" | "firebaseToolsVersion" | "firebaseJson" | "functionsPackageJson" | "rootPackageJson" | "nodeVersions">): RuntimeCheck {
  const problems: string[] = [];
  const notes: string[] = [];
  const { now, runtimes } = input;
  const nodeRuntimes = Object.keys(runtimes).filter((r) => r.startsWith("nodejs"));
  const deployable = nodeRuntimes.filter((r) => now < new Date(runtimes[r]!.deprecationDate) && runtimes[r]!.status === "GA");
  const newest = deployable.sort((a, b) => Number(a.slice(6)) - Number(b.slice(6))).at(-1);
  const upgrade = newest ? ` Use ${newest} (firebase.json "runtime" and functions/package.json "engines.node").` : "";

  const configs = functionsConfigs(input.firebaseJson);
  const codebase = configs.find((c) => (c.source ?? FUNCTIONS_SOURCE) === FUNCTIONS_SOURCE);
  if (!codebase) problems.push(`firebase.json has no "functions" entry with "source": "${FUNCTIONS_SOURCE}"`);
  const fromFirebaseJson = codebase?.runtime;
  const engines = input.functionsPackageJson.engines?.node;

  let runtime: string | undefined;
  if (fromFirebaseJson !== undefined) runtime = fromFirebaseJson;
  else if (engines !== undefined) runtime = `nodejs${engines}`;
  else problems.push('no runtime: set "runtime" in firebase.json\'s functions entry or "engines.node" in functions/package.json');

  let info: RuntimeInfo | undefined;
  if (runtime !== undefined) {
    info = runtimes[runtime];
    if (!runtime.startsWith("nodejs")) {
      problems.push(`runtime "${runtime}" is not a Node.js runtime, but the functions codebase is Node`);
    } else if (!info) {
      const known = nodeRuntimes.filter((r) => now < new Date(runtimes[r]!.decommissionDate)).join(", ");
      problems.push(`runtime "${runtime}" is not in firebase-tools ${input.firebaseToolsVersion}'s runtime table (deployable Node runtimes: ${known}).${upgrade}`);
    } else {
      const deprecation = new Date(info.deprecationDate);
      const decommission = new Date(info.decommissionDate);
      if (now >= decommission) {
        problems.push(`runtime ${runtime} (${info.friendly}) was decommissioned on ${info.decommissionDate}: firebase deploy refuses it.${upgrade}`);
      } else if (now >= deprecation) {
        problems.push(`runtime ${runtime} (${info.friendly}) was deprecated on ${info.deprecationDate} and is decommissioned on ${info.decommissionDate}.${upgrade}`);
      } else if (info.status !== "GA") {
        problems.push(`runtime ${runtime} (${info.friendly}) has status "${info.status}" in firebase-tools' runtime table.${upgrade}`);
      } else if (now.getTime() >= deprecation.getTime() - 90 * DAY_MS) {
        notes.push(`runtime ${runtime} is deprecated on ${info.deprecationDate} (less than 90 days): plan the upgrade`);
      }
    }
  }

  if (fromFirebaseJson !== undefined && engines !== undefined && `nodejs${engines}` !== fromFirebaseJson) {
    problems.push(`firebase.json runtime "${fromFirebaseJson}" and functions/package.json engines.node "${engines}" disagree: they must name the same Node major`);
  }

  // The same Node major locally as in production: one problem naming every local Node that differs.
  const runtimeMajor = runtime?.startsWith("nodejs") ? majorOf(runtime) : undefined;
  if (runtimeMajor !== undefined) {
    const local: [string, string | undefined][] = [
      ["this check runs on Node", input.nodeVersions.check],
      ["the `node` on PATH (firebase-functions' discovery runs under it) is", input.nodeVersions.discovery],
      ['package.json pins (devDependency "node")', input.rootPackageJson.devDependencies?.node ?? "no Node"],
      ["package.json engines.node is", input.rootPackageJson.engines?.node],
    ];
    const differing = local.filter(([, version]) => version !== undefined && majorOf(version) !== runtimeMajor).map(([what, version]) => `${what} ${version}`);
    if (differing.length > 0) {
      problems.push(`the runtime is Node ${runtimeMajor} but ${differing.join("; ")}: local Node must be the runtime's major (the project pins it with the "node" devDependency; npm run deploy:check puts node_modules/.bin first on PATH)`);
    }
  }
  return { problems, notes, runtime, info };
}

const FIRESTORE_EVENT = "google.cloud.firestore.document.v1.";

function describeEndpoint(endpoint: ManifestEndpoint): string {
  if (endpoint.callableTrigger) return "a callable (onCall)";
  if (endpoint.httpsTrigger) return "an HTTPS function (onRequest)";
  if (endpoint.eventTrigger) {
    const document = endpoint.eventTrigger.eventFilterPathPatterns?.document ?? endpoint.eventTrigger.eventFilters?.document;
    return `an event trigger (${endpoint.eventTrigger.eventType}${document ? ` on ${String(document)}` : ""})`;
  }
  if (endpoint.scheduleTrigger) return "a scheduled function";
  if (endpoint.taskQueueTrigger) return "a task queue function";
  if (endpoint.blockingTrigger) return `a blocking function (${endpoint.blockingTrigger.eventType ?? "?"})`;
  return "an endpoint of unknown trigger type";
}

function kindLabel(expected: ContractEndpoint): string {
  if (expected.kind === "callable") return "callable (onCall)";
  if (expected.kind === "https") return "HTTPS function (onRequest)";
  return `Firestore ${expected.event} trigger on ${expected.document}`;
}

/** Every exported endpoint is named by the contract, and every contract name is exported as it says. */
export function checkContract(manifest: Manifest, contract: Readonly<Record<string, ContractEndpoint>> = CONTRACT_ENDPOINTS): string[] {
  const problems: string[] = [];
  for (const [id, endpoint] of Object.entries(manifest.endpoints)) {
    if (!Object.prototype.hasOwnProperty.call(contract, id)) {
      problems.push(`${id} (${describeEndpoint(endpoint)}) is exported by functions/src/index.ts but the contract does not name it: deploying it adds public surface`);
    }
  }
  for (const [id, expected] of Object.entries(contract)) {
    const endpoint = manifest.endpoints[id];
    if (!endpoint) {
      problems.push(`${id} (${kindLabel(expected)}) is named by the contract but not exported by functions/src/index.ts`);
      continue;
    }
    if (endpoint.platform !== undefined && endpoint.platform !== "gcfv2") {
      problems.push(`${id} is a ${endpoint.platform} function: the suite is 2nd gen (gcfv2) only`);
    }
    if (expected.kind === "callable" && !endpoint.callableTrigger) {
      problems.push(`${id} must be a callable (onCall) but is ${describeEndpoint(endpoint)}`);
    } else if (expected.kind === "https" && !endpoint.httpsTrigger) {
      problems.push(`${id} must be an HTTPS function (onRequest) but is ${describeEndpoint(endpoint)}`);
    } else if (expected.kind === "firestore") {
      const trigger = endpoint.eventTrigger;
      const wantType = FIRESTORE_EVENT + expected.event;
      const document = trigger?.eventFilterPathPatterns?.document ?? trigger?.eventFilters?.document;
      const database = trigger?.eventFilters?.database;
      if (!trigger || trigger.eventType !== wantType || document !== expected.document) {
        problems.push(`${id} must be a Firestore ${expected.event} trigger on ${expected.document} (${wantType}) but is ${describeEndpoint(endpoint)}`);
      } else if (database !== undefined && database !== "(default)") {
        problems.push(`${id} listens to Firestore database ${String(database)}, not (default)`);
      }
    }
  }
  return problems;
}

function secretKeys(endpoint: ManifestEndpoint): string[] {
  return (endpoint.secretEnvironmentVariables ?? []).map((s) => s.key);
}

/**
 * Params and secrets: the manifest's against config.ts's declarations, the source's
 * `process.env` reads against both, and each endpoint's reachable secrets against its bindings.
 */
export function checkParams(input: Pick<CheckInput, "source" | "userEnvs" | "envFiles"> & { manifest: Manifest }): { problems: string[]; notes: string[] } {
  const problems: string[] = [];
  const notes: string[] = [];
  const { manifest, source } = input;
  const declared = new Map<string, DeclaredParam>();
  for (const param of source.declared) {
    const seen = declared.get(param.name);
    if (seen) problems.push(`${param.location} declares ${param.name} again (first at ${seen.location})`);
    else declared.set(param.name, param);
  }
  for (const param of source.declaredElsewhere) {
    problems.push(`${param.location} declares ${param.kind === "secret" ? "secret" : "param"} ${param.name} outside functions/src/config.ts: declare every param and secret there`);
  }

  const manifestParams = manifest.params ?? [];
  for (const param of manifestParams) {
    const own = declared.get(param.name);
    if (!own) {
      if (!source.declaredElsewhere.some((d) => d.name === param.name)) {
        problems.push(`the manifest has ${param.type === "secret" ? "secret" : "param"} ${param.name}, which functions/src/config.ts does not declare`);
      }
    } else if ((param.type === "secret") !== (own.kind === "secret")) {
      problems.push(`${param.name} is a ${param.type} in the manifest but declared as ${own.kind} at ${own.location}`);
    }
  }
  for (const param of declared.values()) {
    if (!manifestParams.some((p) => p.name === param.name)) {
      problems.push(`functions/src/config.ts declares ${param.name} but the discovered manifest has no such param (is config.ts loaded by index.ts?)`);
    }
  }

  const secrets = new Set([...declared.values()].filter((d) => d.kind === "secret").map((d) => d.name));
  for (const [id, endpoint] of Object.entries(manifest.endpoints)) {
    for (const key of secretKeys(endpoint)) {
      if (!secrets.has(key)) problems.push(`${id} binds secret ${key}, which functions/src/config.ts does not declare with defineSecret`);
    }
  }

  for (const read of source.envReads) {
    if (read.kind === "whole") {
      problems.push(`${read.location} uses process.env as a whole (${read.text}): its reads cannot be checked; read declared params instead`);
    } else if (read.kind === "computed") {
      problems.push(`${read.location} reads process.env[${read.text}], a name this check cannot resolve: read a declared param instead`);
    } else if (read.kind === "name") {
      if (declared.has(read.name) || PLATFORM_ENV[read.name] !== undefined) continue;
      problems.push(`${read.location} reads process.env.${read.name}, which is neither a param/secret declared in functions/src/config.ts nor a platform variable: declare it (defineString/defineInt/defineSecret) or stop reading it`);
    }
  }

  for (const [id, uses] of Object.entries(source.endpointSecretUses)) {
    const endpoint = manifest.endpoints[id];
    if (!endpoint) continue;
    const bound = new Set(secretKeys(endpoint));
    for (const use of uses) {
      if (!bound.has(use.secret)) {
        problems.push(`${id} reaches secret ${use.secret} (${use.via.join(" -> ")}) but does not bind it: add it to the function's "secrets" option, or the deployed function reads it empty`);
      }
    }
    for (const key of bound) {
      if (!uses.some((u) => u.secret === key)) notes.push(`${id} binds secret ${key} but its handler never reads it (harmless; one more secret to grant)`);
    }
  }

  for (const key of Object.keys(input.userEnvs)) {
    if (secrets.has(key)) {
      problems.push(`${input.envFiles.join(", ")} sets ${key}, which is a secret: a plain environment variable and a secret of the same name cannot both be deployed (remove it from the .env file)`);
    }
  }
  return { problems, notes };
}

function paramGuidance(manifest: Manifest, userEnvs: Record<string, string>, envFiles: string[], projectId: string): string[] {
  const lines: string[] = [];
  const params = manifest.params ?? [];
  const secrets = params.filter((p) => p.type === "secret");
  const plain = params.filter((p) => p.type !== "secret");
  const endpointsBinding = (name: string): string[] =>
    Object.entries(manifest.endpoints)
      .filter(([, e]) => secretKeys(e).includes(name))
      .map(([id]) => id);
  if (secrets.length > 0) {
    lines.push("secrets the deploy needs in Secret Manager (firebase functions:secrets:set NAME; firebase deploy offers to create a missing one):");
    for (const secret of secrets) {
      const users = endpointsBinding(secret.name);
      const shown = users.length > 4 ? `${users.length} functions` : users.join(", ") || "no function";
      lines.push(`  ${secret.name.padEnd(34)} bound by ${shown}`);
    }
  }
  if (plain.length > 0) {
    const where = envFiles.length > 0 ? envFiles.join(", ") : `functions/.env.${projectId} (none yet)`;
    lines.push(`params (values from ${where}; firebase deploy prompts for any without a value there, and fails with --non-interactive):`);
    for (const param of plain) {
      const value = userEnvs[param.name];
      const state =
        value !== undefined
          ? `set: ${JSON.stringify(value)}`
          : param.default !== undefined
            ? `not set: the prompt offers the default ${JSON.stringify(param.default)}`
            : "not set and NO default: needs a value";
      lines.push(`  ${param.name.padEnd(34)} ${param.type.padEnd(7)} ${state}`);
    }
  }
  return lines;
}

/**
 * Param values the code accepts but the contract does not: the marker poll interval bounds every
 * freshness promise (one interval plus one marker read of up to 800 ms within 2 s).
 */
export function checkParamValues(userEnvs: Record<string, string>): string[] {
  const name = markerPollIntervalMsParam.name;
  const raw = userEnvs[name];
  if (raw === undefined) return [];
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms < minMarkerPollIntervalMs || ms > maxMarkerPollIntervalMs) {
    return [
      `${name}=${raw} cannot keep the 2 s freshness promise: every instance sees a change within one poll interval plus one marker read, which gives up after 800 ms, so the interval must be a whole number of ms from ${minMarkerPollIntervalMs} to ${maxMarkerPollIntervalMs}`,
    ];
  }
  return [];
}

/** All checks on collected inputs. No I/O: a spec can pass a modified config. */
export function checkDeploy(input: CheckInput): CheckResult {
  const runtime = checkRuntime(input);
  const problems = [...runtime.problems, ...input.toolProblems];
  const notes = [...runtime.notes];
  const report: string[] = [];

  if (runtime.runtime && runtime.info) {
    report.push(
      `runtime: ${runtime.runtime} (${runtime.info.friendly}, ${runtime.info.status}): deprecated ${runtime.info.deprecationDate}, decommissioned ${runtime.info.decommissionDate} per firebase-tools ${input.firebaseToolsVersion}; check runs on Node ${input.nodeVersions.check}`,
    );
  }

  if (!input.manifest) {
    problems.push(`could not discover the deploy manifest: ${input.discoveryError ?? "unknown error"}`);
  } else {
    const manifest = input.manifest;
    const params = checkParams({ ...input, manifest });
    problems.push(...params.problems, ...checkParamValues(input.userEnvs));
    notes.push(...params.notes);
    problems.push(...checkContract(manifest, input.contract ?? CONTRACT_ENDPOINTS));

    const endpoints = Object.values(manifest.endpoints);
    const count = (pred: (e: ManifestEndpoint) => boolean): number => endpoints.filter(pred).length;
    const regions = [...new Set(endpoints.flatMap((e) => (Array.isArray(e.region) ? e.region.map(String) : [])))];
    report.push(
      `endpoints: ${endpoints.length} (${count((e) => !!e.callableTrigger)} callable, ${count((e) => !!e.httpsTrigger)} https, ${count((e) => !!e.eventTrigger)} Firestore triggers)${regions.length ? ` in ${regions.join(", ")}` : ""}`,
    );
    const manifestParams = manifest.params ?? [];
    report.push(`params: ${manifestParams.filter((p) => p.type !== "secret").map((p) => p.name).join(", ") || "none"}`);
    report.push(`secrets: ${manifestParams.filter((p) => p.type === "secret").map((p) => p.name).join(", ") || "none"}`);
    report.push(...paramGuidance(manifest, input.userEnvs, input.envFiles, input.projectId));
  }
  return { problems, notes, report, runtime: runtime.runtime };
}

export function formatResult(result: CheckResult): string {
  const lines = [...result.report];
  for (const note of result.notes) lines.push(`note: ${note}`);
  for (const problem of result.problems) lines.push(`ERROR: ${problem}`);
  lines.push(result.problems.length === 0 ? "deploy check passed" : `deploy check FAILED: ${result.problems.length} problem(s)`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Static source scan (TypeScript compiler API over functions/src)
// ---------------------------------------------------------------------------------------------

function isUnder(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

function fromFirebaseFunctions(decl: ts.Node): boolean {
  return /[\\/]node_modules[\\/]firebase-functions[\\/]/.test(decl.getSourceFile().fileName);
}

function declarationName(decl: ts.Node): string {
  const name = (decl as { name?: ts.Node }).name;
  if (name && (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name))) return name.text;
  if (ts.isConstructorDeclaration(decl)) return `${declarationName(decl.parent)}.constructor`;
  return ts.SyntaxKind[decl.kind];
}

/** Scans `<functionsDir>/src` with the codebase's own tsconfig. */
export function scanSource(functionsDir: string): SourceScan {
  const configPath = path.join(functionsDir, "tsconfig.json");
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, { noEmit: true }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  });
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  const options = { ...parsed.options, noEmit: true };
  // Only our sources and firebase-functions' types matter here (param handles, define*): other
  // libraries' declarations (Stripe's and Firestore's are megabytes) are read as empty modules.
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) =>
    /[\\/]node_modules[\\/]/.test(fileName) && !/[\\/]node_modules[\\/](firebase-functions|typescript)[\\/]/.test(fileName)
      ? ts.createSourceFile(fileName, "export {};", languageVersion, true)
      : getSourceFile(fileName, languageVersion, onError, shouldCreate);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options, host });
  const checker = program.getTypeChecker();
  const srcDir = path.join(functionsDir, "src");
  const configFile = path.join(srcDir, "config.ts");
  const indexFile = path.join(srcDir, "index.ts");
  const files = program.getSourceFiles().filter((f) => !f.isDeclarationFile && isUnder(path.resolve(f.fileName), srcDir));
  const where = (node: ts.Node): string => {
    const sf = node.getSourceFile();
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    return `functions/${path.relative(functionsDir, path.resolve(sf.fileName)).split(path.sep).join("/")}:${line}`;
  };
  const resolve = (node: ts.Node): ts.Symbol | undefined => {
    let symbol =
      ts.isShorthandPropertyAssignment(node.parent) && node.parent.name === node
        ? checker.getShorthandAssignmentValueSymbol(node.parent)
        : checker.getSymbolAtLocation(node);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    return symbol;
  };
  const ownDeclarations = (symbol: ts.Symbol | undefined): ts.Declaration[] =>
    (symbol?.declarations ?? []).filter((d) => {
      const sf = d.getSourceFile();
      return !sf.isDeclarationFile && isUnder(path.resolve(sf.fileName), srcDir);
    });

  // define* calls, and the declarations that hold them
  const declared: DeclaredParam[] = [];
  const declaredElsewhere: DeclaredParam[] = [];
  const paramByDeclaration = new Map<ts.Node, DeclaredParam>();
  for (const file of files) {
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const callee = ts.isPropertyAccessExpression(node.expression) ? node.expression.name : node.expression;
        if (ts.isIdentifier(callee) && /^define[A-Z]/.test(callee.text)) {
          const target = resolve(callee);
          if (target?.declarations?.some(fromFirebaseFunctions)) {
            const first = node.arguments[0];
            const kind = /Secret$/.test(callee.text) ? "secret" : callee.text.slice("define".length).toLowerCase();
            const holder = ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name) ? node.parent : undefined;
            const param: DeclaredParam = {
              name: first && ts.isStringLiteralLike(first) ? first.text : `<computed ${first?.getText() ?? ""}>`,
              kind,
              variable: holder ? declarationName(holder) : undefined,
              location: where(node),
            };
            (path.resolve(file.fileName) === configFile ? declared : declaredElsewhere).push(param);
            if (holder) paramByDeclaration.set(holder, param);
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }

  /** The param a `p.name` expression names, when `p` is a firebase-functions param handle. */
  const paramNameOf = (expr: ts.Expression): { name?: string; handle: boolean } => {
    if (!ts.isPropertyAccessExpression(expr) || expr.name.text !== "name") return { handle: false };
    const type = checker.getTypeAtLocation(expr.expression);
    const typeDecls = [...(type.getSymbol()?.declarations ?? []), ...(type.aliasSymbol?.declarations ?? [])];
    if (!typeDecls.some(fromFirebaseFunctions)) return { handle: false };
    const target = ts.isIdentifier(expr.expression) ? resolve(expr.expression) : undefined;
    for (const decl of target?.declarations ?? []) {
      const param = paramByDeclaration.get(decl);
      if (param) return { name: param.name, handle: true };
    }
    return { handle: true };
  };

  const isProcessEnv = (node: ts.Node): node is ts.PropertyAccessExpression =>
    ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "process" && node.name.text === "env";

  // process.env reads
  const envReads: EnvRead[] = [];
  const envReadAt = new Map<ts.Node, EnvRead>();
  for (const file of files) {
    const visit = (node: ts.Node): void => {
      if (isProcessEnv(node)) {
        const parent = node.parent;
        let read: EnvRead;
        if (ts.isPropertyAccessExpression(parent) && parent.expression === node) {
          read = { kind: "name", name: parent.name.text, location: where(parent) };
        } else if (ts.isElementAccessExpression(parent) && parent.expression === node) {
          const arg = parent.argumentExpression;
          const type = checker.getTypeAtLocation(arg);
          const viaParam = paramNameOf(arg);
          if (ts.isStringLiteralLike(arg)) read = { kind: "name", name: arg.text, location: where(parent) };
          else if (viaParam.name !== undefined) read = { kind: "name", name: viaParam.name, location: where(parent) };
          else if (viaParam.handle) read = { kind: "handle", text: arg.getText(), location: where(parent) };
          else if (type.isStringLiteral()) read = { kind: "name", name: type.value, location: where(parent) };
          else read = { kind: "computed", text: arg.getText(), location: where(parent) };
        } else if (ts.isVariableDeclaration(parent) && parent.initializer === node && ts.isObjectBindingPattern(parent.name)) {
          for (const element of parent.name.elements) {
            const key = element.propertyName ?? element.name;
            const entry: EnvRead = ts.isIdentifier(key) || ts.isStringLiteralLike(key)
              ? { kind: "name", name: key.text, location: where(element) }
              : { kind: "computed", text: key.getText(), location: where(element) };
            envReads.push(entry);
          }
          return;
        } else {
          read = { kind: "whole", text: parent.getText().slice(0, 60), location: where(node) };
        }
        envReads.push(read);
        envReadAt.set(node, read);
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }

  // Per export of index.ts: the secrets its code reaches, following references from the
  // export's initializer through declarations (functions, methods, constructors, variables).
  const secretNames = new Set(declared.concat(declaredElsewhere).filter((d) => d.kind === "secret").map((d) => d.name));
  const bodiesOf = (decl: ts.Node): ts.Node[] => {
    if (ts.isBindingElement(decl)) {
      let up: ts.Node = decl;
      while (!ts.isVariableDeclaration(up) && !ts.isParameter(up) && up.parent) up = up.parent;
      return ts.isVariableDeclaration(up) ? [up] : [];
    }
    if (ts.isClassLike(decl)) {
      const parts: ts.Node[] = [];
      for (const member of decl.members) {
        if (ts.isConstructorDeclaration(member) || ts.isClassStaticBlockDeclaration(member)) parts.push(member);
        else if (ts.isPropertyDeclaration(member) && member.initializer) parts.push(member);
      }
      for (const clause of decl.heritageClauses ?? []) {
        if (clause.token === ts.SyntaxKind.ExtendsKeyword) for (const type of clause.types) parts.push(type.expression);
      }
      return parts;
    }
    if (
      ts.isVariableDeclaration(decl) ||
      ts.isFunctionDeclaration(decl) ||
      ts.isFunctionExpression(decl) ||
      ts.isArrowFunction(decl) ||
      ts.isMethodDeclaration(decl) ||
      ts.isConstructorDeclaration(decl) ||
      ts.isAccessor(decl) ||
      ts.isPropertyDeclaration(decl) ||
      ts.isPropertyAssignment(decl) ||
      ts.isShorthandPropertyAssignment(decl)
    ) {
      return [decl];
    }
    return [];
  };
  const reachedSecrets = (root: ts.Node): SecretUse[] => {
    const found = new Map<string, string[]>();
    const seen = new Set<ts.Node>([root]);
    const seenFiles = new Set<ts.SourceFile>();
    const queue: { node: ts.Node; via: string[] }[] = [{ node: root, via: [] }];
    while (queue.length > 0) {
      const { node, via } = queue.shift()!;
      const visit = (n: ts.Node): void => {
        if (ts.isTypeNode(n) && !ts.isExpressionWithTypeArguments(n)) return;
        if (ts.isImportDeclaration(n) || ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) return;
        const envRead = envReadAt.get(n);
        if (envRead?.kind === "name" && secretNames.has(envRead.name) && !found.has(envRead.name)) {
          found.set(envRead.name, [...via, `process.env.${envRead.name}`]);
        }
        if (ts.isIdentifier(n)) {
          for (const decl of ownDeclarations(resolve(n))) {
            const param = paramByDeclaration.get(decl);
            if (param?.kind === "secret" && !found.has(param.name)) found.set(param.name, [...via, declarationName(decl)]);
            const sf = decl.getSourceFile();
            if (!seenFiles.has(sf)) {
              // A module's top-level statements run when it is imported.
              seenFiles.add(sf);
              for (const statement of sf.statements) {
                if (ts.isExpressionStatement(statement) && !seen.has(statement)) {
                  seen.add(statement);
                  queue.push({ node: statement, via: [...via, path.basename(sf.fileName)] });
                }
              }
            }
            for (const body of bodiesOf(decl)) {
              if (seen.has(body)) continue;
              seen.add(body);
              queue.push({ node: body, via: [...via, declarationName(decl)] });
            }
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(node);
    }
    return [...found].map(([secret, chain]) => ({ secret, via: chain }));
  };

  const endpointSecretUses: Record<string, SecretUse[]> = {};
  const index = files.find((f) => path.resolve(f.fileName) === indexFile);
  for (const statement of index?.statements ?? []) {
    if (!ts.isVariableStatement(statement)) continue;
    if (!statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    for (const decl of statement.declarationList.declarations) {
      if (!ts.isIdentifier(decl.name) || !decl.initializer) continue;
      // `onCall(options, handler)`: what the handler reaches. The options (where the secrets
      // are bound) do not count as a use.
      const call = decl.initializer;
      const handler = ts.isCallExpression(call) && call.arguments.length > 0 ? call.arguments[call.arguments.length - 1]! : call;
      endpointSecretUses[decl.name.text] = reachedSecrets(handler);
    }
  }
  return { declared, declaredElsewhere, envReads, endpointSecretUses };
}

// ---------------------------------------------------------------------------------------------
// I/O: build, discovery through firebase-tools, inputs
// ---------------------------------------------------------------------------------------------

interface FirebaseConfig {
  projectId: string;
  storageBucket: string;
  locationId: string;
}

interface RuntimeDelegate {
  runtime: string;
  discoverBuild(runtimeConfig: Record<string, unknown>, envs: Record<string, string>): Promise<Manifest>;
}

interface FirebaseTools {
  version: string;
  dir: string;
  supported: { RUNTIMES: RuntimeTable; isRuntime(runtime: string): boolean; latest(language: string): string };
  runtimes: { getRuntimeDelegate(context: { projectId: string; sourceDir: string; projectDir: string; runtime?: string }): Promise<RuntimeDelegate> };
  env: {
    loadUserEnvs(opts: { functionsSource: string; projectId: string; projectAlias?: string; projectDir: string }): Record<string, string>;
    loadFirebaseEnvs(firebaseConfig: FirebaseConfig, projectId: string): Record<string, string>;
  };
  build: {
    resolveBackend(opts: {
      build: Manifest;
      firebaseConfig: FirebaseConfig;
      userEnvs: Record<string, string>;
      codebase: string;
      nonInteractive: boolean;
      isEmulator: boolean;
    }): Promise<{ backend: unknown }>;
  };
  backend: { empty(): unknown };
  validate: { endpointsAreValid(want: unknown, have: unknown): void };
  logger: { add(transport: unknown): void; remove(transport: unknown): void };
}

/** firebase-tools' own modules, from the project's node_modules (the CLI `firebase deploy` runs). */
export function firebaseTools(projectDir = REPO_ROOT): FirebaseTools {
  const packageJson = require.resolve("firebase-tools/package.json", { paths: [projectDir] });
  const dir = path.dirname(packageJson);
  const lib = (p: string): unknown => require(path.join(dir, "lib", p));
  return {
    version: (JSON.parse(fs.readFileSync(packageJson, "utf8")) as { version: string }).version,
    dir,
    supported: lib("deploy/functions/runtimes/supported") as FirebaseTools["supported"],
    runtimes: lib("deploy/functions/runtimes") as FirebaseTools["runtimes"],
    env: lib("functions/env") as FirebaseTools["env"],
    build: lib("deploy/functions/build") as FirebaseTools["build"],
    backend: lib("deploy/functions/backend") as FirebaseTools["backend"],
    validate: lib("deploy/functions/validate") as FirebaseTools["validate"],
    logger: (lib("logger") as { logger: FirebaseTools["logger"] }).logger,
  };
}

/** Runs `fn` with firebase-tools' (normally silent) logger captured, for error details. */
async function withCapturedLogs<T>(tools: FirebaseTools, fn: () => Promise<T>): Promise<{ value?: T; error?: Error; logs: string[] }> {
  const winston = require(require.resolve("winston", { paths: [tools.dir] })) as {
    transports: { Stream: new (opts: object) => unknown };
    format: { printf(fn: (info: { message: unknown }) => string): unknown };
  };
  const logs: string[] = [];
  const transport = new winston.transports.Stream({
    level: "debug",
    stream: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    }),
    format: winston.format.printf((info) => (typeof info.message === "string" ? info.message : JSON.stringify(info.message))),
  });
  tools.logger.add(transport);
  try {
    return { value: await fn(), logs };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)), logs };
  } finally {
    tools.logger.remove(transport);
  }
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

/** Whether functions/lib is missing or older than something in functions/src (or its config). */
export function buildIsStale(functionsDir: string): boolean {
  const built = path.join(functionsDir, "lib", "index.js");
  if (!fs.existsSync(built)) return true;
  const builtAt = fs.statSync(built).mtimeMs;
  const sources = [path.join(functionsDir, "tsconfig.json"), path.join(functionsDir, "package.json")];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else sources.push(full);
    }
  };
  walk(path.join(functionsDir, "src"));
  return sources.some((file) => fs.existsSync(file) && fs.statSync(file).mtimeMs > builtAt);
}

function placeholderFor(param: ManifestParam): string {
  if (param.default !== undefined) return typeof param.default === "string" ? param.default : JSON.stringify(param.default);
  if (param.type === "int" || param.type === "float") return "1";
  if (param.type === "boolean") return "false";
  return "placeholder";
}

export interface CollectOptions {
  projectDir?: string;
  /**
   * Run `npm --prefix functions run build` first: always (default, what the CLI does), never,
   * or "if-stale": only when a file in functions/src is newer than functions/lib/index.js (for
   * a spec running next to an emulator that reloads whenever functions/lib is rewritten).
   */
  build?: boolean | "if-stale";
  /** The project whose functions/.env.<projectId> the deploy reads (default: .firebaserc's default). */
  projectId?: string;
  now?: Date;
  log?: (line: string) => void;
}

/** Everything `checkDeploy` needs, read and discovered the way `firebase deploy` would. */
export async function collectInputs(options: CollectOptions = {}): Promise<CheckInput> {
  const projectDir = options.projectDir ?? REPO_ROOT;
  const log = options.log ?? (() => undefined);
  const tools = firebaseTools(projectDir);
  const firebaseJson = readJson<unknown>(path.join(projectDir, "firebase.json"));
  const functionsDir = path.join(projectDir, FUNCTIONS_SOURCE);
  const functionsPackageJson = readJson<PackageJson>(path.join(functionsDir, "package.json"));
  const rootPackageJson = readJson<PackageJson>(path.join(projectDir, "package.json"));
  const toolProblems: string[] = [];

  if (options.build === true || options.build === undefined || (options.build === "if-stale" && buildIsStale(functionsDir))) {
    log(`building: npm --prefix ${FUNCTIONS_SOURCE} run build`);
    const built = spawnSync("npm", ["--prefix", FUNCTIONS_SOURCE, "run", "build"], { cwd: projectDir, encoding: "utf8", env: process.env });
    if (built.status !== 0) {
      const output = `${built.stdout ?? ""}${built.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n    ");
      toolProblems.push(`npm --prefix ${FUNCTIONS_SOURCE} run build failed (exit ${built.status ?? built.signal}):\n    ${output}`);
    }
  }

  let projectId = options.projectId;
  let projectAlias: string | undefined;
  const firebaserc = path.join(projectDir, ".firebaserc");
  if (!projectId && fs.existsSync(firebaserc)) {
    projectId = readJson<{ projects?: Record<string, string> }>(firebaserc).projects?.default;
    if (projectId) projectAlias = "default";
  }
  projectId ??= "demo-deploy-check";

  let userEnvs: Record<string, string> = {};
  try {
    userEnvs = tools.env.loadUserEnvs({ functionsSource: functionsDir, projectId, projectAlias, projectDir });
  } catch (error) {
    toolProblems.push(`functions .env files: ${errorMessage(error)}`);
  }
  const envFiles = [".env", `.env.${projectId}`, ...(projectAlias ? [`.env.${projectAlias}`] : [])]
    .filter((f) => fs.existsSync(path.join(functionsDir, f)))
    .map((f) => `${FUNCTIONS_SOURCE}/${f}`);

  const codebase = functionsConfigs(firebaseJson).find((c) => (c.source ?? FUNCTIONS_SOURCE) === FUNCTIONS_SOURCE);
  const configured = codebase?.runtime ?? (functionsPackageJson.engines?.node ? `nodejs${functionsPackageJson.engines.node}` : undefined);
  // Discovery itself does not depend on the runtime; an unusable one is reported by checkRuntime.
  const discoveryRuntime = configured && tools.supported.isRuntime(configured) ? configured : tools.supported.latest("nodejs");

  const firebaseConfig: FirebaseConfig = { projectId, storageBucket: `${projectId}.appspot.com`, locationId: "us-central1" };
  log(`discovering the manifest through firebase-tools ${tools.version} (firebase-functions' own discovery)`);
  const discovered = await withCapturedLogs(tools, async () => {
    const delegate = await tools.runtimes.getRuntimeDelegate({ projectId: projectId!, sourceDir: functionsDir, projectDir, runtime: discoveryRuntime });
    return delegate.discoverBuild({ firebase: firebaseConfig }, {
      ...userEnvs,
      ...tools.env.loadFirebaseEnvs(firebaseConfig, projectId!),
      GOOGLE_CLOUD_QUOTA_PROJECT: projectId!,
    });
  });
  let discoveryError: string | undefined;
  if (discovered.error) {
    const details = discovered.logs
      .map((l) => l.replace(/^\[\d{4}-\d\d-\d\dT[^\]]*\] /, "").trim())
      .filter((l) => l && !/^Serving at port|Using node@|^Could not find functions\.yaml|^Found firebase-functions binary/.test(l))
      .slice(-20);
    discoveryError = [discovered.error.message, ...details].join("\n    ");
  }
  const manifest = discovered.value;

  if (manifest) {
    // firebase-tools' own offline validation of the resolved backend (ids, CPU/concurrency,
    // timeouts, trigger shapes), with the params' values or stand-ins; no secret look-ups.
    const resolveEnvs: Record<string, string> = {};
    for (const param of manifest.params ?? []) {
      if (param.type !== "secret") resolveEnvs[param.name] = userEnvs[param.name] ?? placeholderFor(param);
    }
    const validated = await withCapturedLogs(tools, async () => {
      const { backend } = await tools.build.resolveBackend({
        build: structuredClone(manifest),
        firebaseConfig,
        userEnvs: resolveEnvs,
        codebase: codebase?.codebase ?? "default",
        nonInteractive: true,
        isEmulator: true,
      });
      tools.validate.endpointsAreValid(backend, tools.backend.empty());
    });
    if (validated.error) toolProblems.push(`firebase-tools rejects the endpoints: ${validated.error.message}`);
  }

  const pathNode = spawnSync("node", ["-p", "process.versions.node"], { encoding: "utf8", env: process.env });
  const discoveryNode = pathNode.status === 0 ? pathNode.stdout.trim() : undefined;

  return {
    now: options.now ?? new Date(),
    runtimes: tools.supported.RUNTIMES,
    firebaseToolsVersion: tools.version,
    firebaseJson,
    functionsPackageJson,
    rootPackageJson,
    nodeVersions: { check: process.versions.node, discovery: discoveryNode },
    manifest,
    discoveryError,
    toolProblems,
    source: scanSource(functionsDir),
    userEnvs,
    envFiles,
    projectId,
  };
}

/** The whole check on the repo: collect, check. */
export async function runDeployCheck(options: CollectOptions = {}): Promise<CheckResult> {
  return checkDeploy(await collectInputs(options));
}

async function main(argv: string[]): Promise<number> {
  let values: { project?: string; "no-build"?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { project: { type: "string" }, "no-build": { type: "boolean" } }, strict: true }));
  } catch (error) {
    console.error(`usage: npm run deploy:check [-- --project <projectId>] [--no-build]\n${errorMessage(error)}`);
    return 2;
  }
  const result = await runDeployCheck({ log: (line) => console.log(line), build: values["no-build"] ? false : undefined, projectId: values.project });
  console.log(formatResult(result));
  return result.problems.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // Exit now: firebase-tools' discovery leaves a 10 s kill timer behind for its child.
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`ERROR: deploy check crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
