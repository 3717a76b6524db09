/**
 * `npm run deploy:check`: offline, what `firebase deploy --only functions` would refuse or deploy
 * broken. Builds functions/, has firebase-tools discover the manifest (firebase-functions' own
 * discovery) and validate it offline through scripts/deploy-check-firebase-tools.ts (the one
 * adapter to firebase-tools' internals), then checks the runtime (firebase-tools' own guard), the
 * params and secrets (config.ts's exports, SECRET_BINDINGS) and the endpoints (CONTRACT_ENDPOINTS).
 * What the code may read is lint's to refuse (functions/eslint.config.mjs): firebase-functions/params
 * outside config.ts, process.env outside an allow-list. `checkDeploy` is pure; `collectInputs` does the I/O.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { maxMarkerPollIntervalMs, minMarkerPollIntervalMs } from "../functions/src/cache/settings";
import * as config from "../functions/src/config";
import { markerPollIntervalMsParam, minProductionStatsPublishIntervalMs, statsPublishIntervalMsParam } from "../functions/src/config";
import { errorMessage } from "../functions/src/error-message";
import { Manifest, ManifestEndpoint, RuntimeInfo, RuntimeRules, loadFirebaseTools, versionProblem } from "./deploy-check-firebase-tools";

export const REPO_ROOT = path.resolve(__dirname, "..");
const FUNCTIONS_SOURCE = "functions";

// What the product contract names. ONE list: callables (onCall), HTTPS functions (onRequest)
// and Firestore triggers with their documents. A deployed function id is public surface: an
// export missing here, or a name here that is not exported, fails the check.
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

/** Who binds each secret config.ts declares: "every endpoint" (setGlobalOptions in index.ts) or the functions named. */
export const SECRET_BINDINGS: Readonly<Record<string, "every endpoint" | readonly string[]>> = {
  [config.upstashRedisRestToken.name]: "every endpoint",
  [config.stripeWebhookSecret.name]: ["stripeWebhook"],
};

export type PackageJson = { engines?: { node?: string }; devDependencies?: Record<string, string> };
/** firebase.json's `functions` entry, as far as this check reads it. */
export type FunctionsConfig = { source?: string; codebase?: string; runtime?: string };
/** A param or secret functions/src/config.ts exports; `kind` is firebase-functions' param type ("secret", "int", ...). */
export type DeclaredParam = { name: string; kind: string; exportName: string };

export interface CheckInput {
  now: Date;
  tools: RuntimeRules;
  firebaseJson: unknown;
  functionsPackageJson: PackageJson;
  rootPackageJson: PackageJson;
  /** The Node running this check, and the `node` on PATH that discovery runs under. */
  nodeVersions: { check: string; discovery?: string };
  /** Undefined when discovery failed (then `discoveryError` says why). */
  manifest?: Manifest;
  discoveryError?: string;
  toolProblems: string[];
  declared: DeclaredParam[];
  /** Values the deploy would read from functions/.env and functions/.env.<project>. */
  userEnvs: Record<string, string>;
  envFiles: string[];
  projectId: string;
}

export type CheckResult = { problems: string[]; notes: string[]; report: string[]; runtime?: string };

const majorOf = (version: string | undefined): number | undefined => Number(/^\D*(\d+)/.exec(version ?? "")?.[1] ?? NaN) || undefined;

/** firebase.json's `functions` entry (one, or one of an array) for the functions/ codebase. */
export function codebaseConfig(firebaseJson: unknown): FunctionsConfig | undefined {
  const functions = (firebaseJson as { functions?: FunctionsConfig | FunctionsConfig[] } | null)?.functions ?? [];
  return (Array.isArray(functions) ? functions : [functions]).find((c) => (c.source ?? FUNCTIONS_SOURCE) === FUNCTIONS_SOURCE);
}

/**
 * The runtime firebase-tools would deploy (firebase.json `runtime`, else `nodejs<engines.node>`),
 * judged by firebase-tools' own guard at `now` (decommissioned: the deploy refuses it;
 * deprecated: the deploy warns and this check refuses), and the Node majors around it.
 */
export function checkRuntime(input: Pick<CheckInput, "now" | "tools" | "firebaseJson" | "functionsPackageJson" | "rootPackageJson" | "nodeVersions">) {
  const problems: string[] = [];
  const notes: string[] = [];
  const { now, tools } = input;
  const codebase = codebaseConfig(input.firebaseJson);
  if (!codebase) problems.push(`firebase.json has no "functions" entry with "source": "${FUNCTIONS_SOURCE}"`);
  const fromFirebaseJson = codebase?.runtime;
  const engines = input.functionsPackageJson.engines?.node;
  const runtime = fromFirebaseJson ?? (engines !== undefined ? `nodejs${engines}` : undefined);
  const info: RuntimeInfo | undefined = runtime !== undefined && tools.isRuntime(runtime) ? tools.RUNTIMES[runtime] : undefined;
  const latest = tools.latest("nodejs");
  const upgrade = runtime === latest ? "" : ` Use ${latest} (firebase.json "runtime" and functions/package.json "engines.node").`;

  if (runtime === undefined) {
    problems.push('no runtime: set "runtime" in firebase.json\'s functions entry or "engines.node" in functions/package.json');
  } else if (!runtime.startsWith("nodejs")) {
    problems.push(`runtime "${runtime}" is not a Node.js runtime, but the functions codebase is Node`);
  } else if (!info) {
    const known = Object.keys(tools.RUNTIMES).filter((r) => r.startsWith("nodejs") && !tools.isDecommissioned(r, now));
    problems.push(`runtime "${runtime}" is not in firebase-tools ${tools.version}'s runtime table (deployable Node runtimes: ${known.join(", ")}).${upgrade}`);
  } else {
    const guard = tools.guard(runtime, now);
    if (guard.error !== undefined) problems.push(`runtime ${runtime}: ${guard.error}${upgrade}`);
    const deprecated = now >= new Date(info.deprecationDate);
    for (const warning of guard.warnings) (deprecated ? problems : notes).push(`runtime ${runtime}: ${warning}${deprecated ? upgrade : ""}`);
  }
  if (fromFirebaseJson !== undefined && engines !== undefined && `nodejs${engines}` !== fromFirebaseJson) {
    problems.push(`firebase.json runtime "${fromFirebaseJson}" and functions/package.json engines.node "${engines}" disagree: name one Node major`);
  }

  // The same Node major locally as in production: one problem naming every local Node that differs.
  const runtimeMajor = runtime?.startsWith("nodejs") ? majorOf(runtime) : undefined;
  const local: [string, string | undefined][] = [
    ["this check runs on Node", input.nodeVersions.check],
    ["the `node` on PATH (firebase-functions' discovery runs under it) is", input.nodeVersions.discovery],
    ['package.json pins (devDependency "node")', input.rootPackageJson.devDependencies?.node ?? "no Node"],
    ["package.json engines.node is", input.rootPackageJson.engines?.node],
  ];
  const differing = local.filter(([, version]) => version !== undefined && majorOf(version) !== runtimeMajor).map(([what, version]) => `${what} ${version}`);
  if (runtimeMajor !== undefined && differing.length > 0) {
    const why = 'local Node must be the runtime\'s major (the "node" devDependency pins it; npm run deploy:check puts node_modules/.bin first on PATH)';
    problems.push(`the runtime is Node ${runtimeMajor} but ${differing.join("; ")}: ${why}`);
  }
  return { problems, notes, runtime, info };
}

const FIRESTORE_EVENT = "google.cloud.firestore.document.v1.";

function describeEndpoint(e: ManifestEndpoint): string {
  const document = e.eventTrigger?.eventFilterPathPatterns?.document ?? e.eventTrigger?.eventFilters?.document;
  if (e.callableTrigger) return "a callable (onCall)";
  if (e.httpsTrigger) return "an HTTPS function (onRequest)";
  if (e.eventTrigger) return `an event trigger (${e.eventTrigger.eventType}${document ? ` on ${String(document)}` : ""})`;
  return `an endpoint with ${Object.keys(e).find((key) => key.endsWith("Trigger")) ?? "no trigger"}`;
}

/** Every exported endpoint is named by the contract, and every contract name is exported as it says. */
export function checkContract(manifest: Manifest, contract: Readonly<Record<string, ContractEndpoint>> = CONTRACT_ENDPOINTS): string[] {
  const problems = Object.entries(manifest.endpoints)
    .filter(([id]) => !Object.hasOwn(contract, id))
    .map(([id, e]) => `${id} (${describeEndpoint(e)}) is exported by index.ts but the contract does not name it: deploying it adds public surface`);
  for (const [id, expected] of Object.entries(contract)) {
    const endpoint = manifest.endpoints[id];
    const trigger = endpoint?.eventTrigger;
    const document = trigger?.eventFilterPathPatterns?.document ?? trigger?.eventFilters?.document;
    const wantType = expected.kind === "firestore" ? FIRESTORE_EVENT + expected.event : undefined;
    const [label, matches] =
      expected.kind === "callable"
        ? ["callable (onCall)", !!endpoint?.callableTrigger]
        : expected.kind === "https"
          ? ["HTTPS function (onRequest)", !!endpoint?.httpsTrigger]
          : [`Firestore ${expected.event} trigger on ${expected.document}`, trigger?.eventType === wantType && document === expected.document];
    if (!endpoint) problems.push(`${id} (${label}) is named by the contract but not exported by functions/src/index.ts`);
    else if (!matches)
      problems.push(`${id} must be ${expected.kind === "https" ? "an" : "a"} ${label}${wantType ? ` (${wantType})` : ""} but is ${describeEndpoint(endpoint)}`);
    else if (trigger?.eventFilters?.database !== undefined && trigger.eventFilters.database !== "(default)") {
      problems.push(`${id} listens to Firestore database ${String(trigger.eventFilters.database)}, not (default)`);
    }
    if (endpoint?.platform !== undefined && endpoint.platform !== "gcfv2")
      problems.push(`${id} is a ${endpoint.platform} function: the suite is 2nd gen (gcfv2) only`);
  }
  return problems;
}

const secretKeys = (endpoint: ManifestEndpoint): string[] => (endpoint.secretEnvironmentVariables ?? []).map((s) => s.key);

/** The params and secrets a module exports: firebase-functions' param objects carry `name`, and their class a `type`. */
export function declaredParams(module: Record<string, unknown> = config): DeclaredParam[] {
  return Object.entries(module).flatMap(([exportName, value]) => {
    const kind = typeof value === "object" ? (value?.constructor as { type?: unknown } | undefined)?.type : undefined;
    const name = (value as { name?: unknown } | null)?.name;
    return typeof kind === "string" && typeof name === "string" ? [{ name, kind, exportName }] : [];
  });
}

/**
 * Params and secrets: the manifest's against config.ts's exports, the secrets each endpoint
 * binds against the declared ones, and each declared secret bound where SECRET_BINDINGS says.
 */
export function checkParams(input: Pick<CheckInput, "declared" | "userEnvs" | "envFiles"> & { manifest: Manifest }): string[] {
  const problems: string[] = [];
  const { manifest } = input;
  const declared = new Map(input.declared.map((d) => [d.name, d]));
  for (const d of input.declared) {
    if (declared.get(d.name) !== d) problems.push(`functions/src/config.ts declares ${d.name} twice (${d.exportName} and ${declared.get(d.name)?.exportName})`);
  }
  const manifestParams = manifest.params ?? [];
  for (const param of manifestParams) {
    const own = declared.get(param.name);
    const kind = param.type === "secret" ? "secret" : "param";
    if (!own) problems.push(`the manifest has ${kind} ${param.name}, which functions/src/config.ts does not declare: declare every param and secret there`);
    else if ((param.type === "secret") !== (own.kind === "secret"))
      problems.push(`${param.name} is a ${param.type} in the manifest but functions/src/config.ts's ${own.exportName} is a ${own.kind}`);
  }
  for (const param of [...declared.values()].filter((d) => !manifestParams.some((p) => p.name === d.name))) {
    problems.push(`functions/src/config.ts declares ${param.name} but the discovered manifest has no such param (is config.ts loaded by index.ts?)`);
  }

  const secrets = [...declared.values()].filter((d) => d.kind === "secret").map((d) => d.name);
  for (const [id, endpoint] of Object.entries(manifest.endpoints)) {
    for (const key of secretKeys(endpoint)) {
      if (!secrets.includes(key)) problems.push(`${id} binds secret ${key}, which functions/src/config.ts does not declare with defineSecret`);
    }
  }
  for (const secret of secrets) {
    const bindings = SECRET_BINDINGS[secret];
    if (bindings === undefined) {
      problems.push(`functions/src/config.ts declares secret ${secret} but SECRET_BINDINGS in scripts/deploy-check.ts does not say which functions bind it`);
      continue;
    }
    const everywhere = bindings === "every endpoint";
    for (const id of everywhere ? Object.keys(manifest.endpoints) : bindings) {
      const endpoint = manifest.endpoints[id];
      if (!endpoint || secretKeys(endpoint).includes(secret)) continue;
      const why = everywhere
        ? `which setGlobalOptions in functions/src/index.ts binds for every function (a function's own "secrets" option replaces that list: repeat it there)`
        : `which it reads (SECRET_BINDINGS): add it to the function's "secrets" option`;
      problems.push(`${id} does not bind secret ${secret}, ${why}; deployed, it would read the secret empty`);
    }
  }
  for (const key of Object.keys(input.userEnvs).filter((k) => secrets.includes(k))) {
    problems.push(`${input.envFiles.join(", ")} sets ${key}, which is a secret: an environment variable cannot share a secret's name in a deploy (remove it)`);
  }
  return problems;
}

/** What the deploy will need: the secrets in Secret Manager, and the params' values. */
function paramGuidance(manifest: Manifest, userEnvs: Record<string, string>, envFiles: string[], projectId: string): string[] {
  const params = manifest.params ?? [];
  const lines = ["secrets the deploy needs in Secret Manager (firebase functions:secrets:set NAME; firebase deploy offers to create a missing one):"];
  for (const secret of params.filter((p) => p.type === "secret")) {
    const users = Object.keys(manifest.endpoints).filter((id) => secretKeys(manifest.endpoints[id]!).includes(secret.name));
    lines.push(`  ${secret.name.padEnd(34)} bound by ${users.length > 4 ? `${users.length} functions` : users.join(", ") || "no function"}`);
  }
  const where = envFiles.length > 0 ? envFiles.join(", ") : `functions/.env.${projectId} (none yet)`;
  lines.push(`params (values from ${where}; firebase deploy prompts for any without a value there, and fails with --non-interactive):`);
  for (const param of params.filter((p) => p.type !== "secret")) {
    const value = userEnvs[param.name];
    const unsetText =
      param.default !== undefined ? `not set: the prompt offers the default ${JSON.stringify(param.default)}` : "not set and NO default: needs a value";
    lines.push(`  ${param.name.padEnd(34)} ${param.type.padEnd(7)} ${value !== undefined ? `set: ${JSON.stringify(value)}` : unsetText}`);
  }
  return lines;
}

/**
 * Param values the code accepts but the contract does not: the marker poll interval bounds every
 * freshness promise (one interval plus one marker read of up to 800 ms within 2 s), and each
 * instance publishes its figures at most once a minute.
 */
export function checkParamValues(userEnvs: Record<string, string>): string[] {
  const problems: string[] = [];
  const pollRaw = userEnvs[markerPollIntervalMsParam.name];
  const pollMs = Number(pollRaw);
  if (pollRaw !== undefined && (!Number.isSafeInteger(pollMs) || pollMs < minMarkerPollIntervalMs || pollMs > maxMarkerPollIntervalMs)) {
    problems.push(
      `${markerPollIntervalMsParam.name}=${pollRaw} cannot keep the 2 s freshness promise: every instance sees a change within one poll interval plus one marker read, which gives up after 800 ms, so the interval must be a whole number of ms from ${minMarkerPollIntervalMs} to ${maxMarkerPollIntervalMs}`,
    );
  }
  const statsRaw = userEnvs[statsPublishIntervalMsParam.name];
  const statsMs = Number(statsRaw);
  if (statsRaw !== undefined && (!Number.isSafeInteger(statsMs) || statsMs < minProductionStatsPublishIntervalMs)) {
    problems.push(
      `${statsPublishIntervalMsParam.name}=${statsRaw}: the contract has each instance publish its cache figures at most once a minute (a Redis command each time), so the interval must be a whole number of ms, at least ${minProductionStatsPublishIntervalMs} (the local stack's few seconds are for the emulator only)`,
    );
  }
  return problems;
}

/** All checks on collected inputs. No I/O: a spec can pass a modified config. */
export function checkDeploy(input: CheckInput): CheckResult {
  const runtime = checkRuntime(input);
  const adapter = versionProblem(input.tools.version);
  const problems = [...(adapter ? [adapter] : []), ...runtime.problems, ...input.toolProblems];
  const { notes, info } = runtime;
  const report: string[] = [];
  if (info) {
    const dates = `deprecated ${info.deprecationDate}, decommissioned ${info.decommissionDate} per firebase-tools ${input.tools.version}`;
    report.push(`runtime: ${runtime.runtime} (${info.friendly}, ${info.status}): ${dates}; check runs on Node ${input.nodeVersions.check}`);
  }
  if (!input.manifest) {
    problems.push(`could not discover the deploy manifest: ${input.discoveryError ?? "unknown error"}`);
    return { problems, notes, report, runtime: runtime.runtime };
  }
  const manifest = input.manifest;
  problems.push(...checkParams({ ...input, manifest }), ...checkParamValues(input.userEnvs), ...checkContract(manifest));

  const endpoints = Object.values(manifest.endpoints);
  const count = (pred: (e: ManifestEndpoint) => boolean): number => endpoints.filter(pred).length;
  const regions = [...new Set(endpoints.flatMap((e) => (Array.isArray(e.region) ? e.region.map(String) : [])))];
  const kinds = `${count((e) => !!e.callableTrigger)} callable, ${count((e) => !!e.httpsTrigger)} https, ${count((e) => !!e.eventTrigger)} Firestore triggers`;
  report.push(`endpoints: ${endpoints.length} (${kinds})${regions.length ? ` in ${regions.join(", ")}` : ""}`);
  report.push(...paramGuidance(manifest, input.userEnvs, input.envFiles, input.projectId));
  return { problems, notes, report, runtime: runtime.runtime };
}

export function formatResult(result: CheckResult): string {
  const lines = [...result.report, ...result.notes.map((n) => `note: ${n}`), ...result.problems.map((p) => `ERROR: ${p}`)];
  lines.push(result.problems.length === 0 ? "deploy check passed" : `deploy check FAILED: ${result.problems.length} problem(s)`);
  return lines.join("\n");
}

// I/O: build, discovery through firebase-tools, inputs.
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;

/** Whether functions/lib is missing or older than something in functions/src (or its config). */
export function buildIsStale(functionsDir: string): boolean {
  const mtime = (file: string): number => fs.statSync(path.join(functionsDir, file), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = fs.readdirSync(path.join(functionsDir, "src"), { recursive: true }).map((f) => path.join("src", String(f)));
  const builtAt = mtime("lib/index.js");
  return builtAt === 0 || [...sources, "tsconfig.json", "package.json"].some((file) => mtime(file) > builtAt);
}

export interface CollectOptions {
  /** Build first: always (default), never, or "if-stale" (a spec next to an emulator that reloads on every rebuild). */
  build?: boolean | "if-stale";
  /** The project whose functions/.env.<projectId> the deploy reads (default: .firebaserc's default). */
  projectId?: string;
  log?: (line: string) => void;
}

/** Everything `checkDeploy` needs, read and discovered the way `firebase deploy` would. */
export async function collectInputs(options: CollectOptions = {}): Promise<CheckInput> {
  const projectDir = REPO_ROOT;
  const log = options.log ?? (() => undefined);
  const tools = loadFirebaseTools(projectDir);
  const firebaseJson = readJson<unknown>(path.join(projectDir, "firebase.json"));
  const functionsDir = path.join(projectDir, FUNCTIONS_SOURCE);
  const functionsPackageJson = readJson<PackageJson>(path.join(functionsDir, "package.json"));
  const toolProblems: string[] = [];

  if (options.build === true || options.build === undefined || (options.build === "if-stale" && buildIsStale(functionsDir))) {
    log(`building: npm --prefix ${FUNCTIONS_SOURCE} run build`);
    const built = spawnSync("npm", ["--prefix", FUNCTIONS_SOURCE, "run", "build"], { cwd: projectDir, encoding: "utf8", env: process.env });
    if (built.status !== 0) {
      const output = `${built.stdout ?? ""}${built.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n    ");
      toolProblems.push(`npm --prefix ${FUNCTIONS_SOURCE} run build failed (exit ${built.status ?? built.signal}):\n    ${output}`);
    }
  }

  const firebaserc = path.join(projectDir, ".firebaserc");
  const rcDefault = !options.projectId && fs.existsSync(firebaserc) ? readJson<{ projects?: Record<string, string> }>(firebaserc).projects?.default : undefined;
  const projectId = options.projectId ?? rcDefault ?? "demo-deploy-check";
  const projectAlias = rcDefault ? "default" : undefined;
  let userEnvs: Record<string, string> = {};
  try {
    userEnvs = tools.loadUserEnvs({ functionsSource: functionsDir, projectId, projectAlias });
  } catch (error) {
    toolProblems.push(`functions .env files: ${errorMessage(error)}`);
  }
  const envFiles = [".env", `.env.${projectId}`, ...(projectAlias ? [`.env.${projectAlias}`] : [])]
    .filter((f) => fs.existsSync(path.join(functionsDir, f)))
    .map((f) => `${FUNCTIONS_SOURCE}/${f}`);

  const codebase = codebaseConfig(firebaseJson);
  const runtime = codebase?.runtime ?? (functionsPackageJson.engines?.node ? `nodejs${functionsPackageJson.engines.node}` : undefined);
  log(`discovering the manifest through firebase-tools ${tools.version} (firebase-functions' own discovery)`);
  const discovery = await tools.discover({ projectId, functionsDir, runtime, codebase: codebase?.codebase ?? "default", userEnvs });
  if (discovery.validationError) toolProblems.push(`firebase-tools rejects the endpoints: ${discovery.validationError}`);

  const pathNode = spawnSync("node", ["-p", "process.versions.node"], { encoding: "utf8", env: process.env });
  return {
    now: new Date(),
    tools,
    firebaseJson,
    functionsPackageJson,
    rootPackageJson: readJson<PackageJson>(path.join(projectDir, "package.json")),
    nodeVersions: { check: process.versions.node, discovery: pathNode.status === 0 ? pathNode.stdout.trim() : undefined },
    manifest: discovery.manifest,
    discoveryError: discovery.discoveryError,
    toolProblems,
    declared: declaredParams(),
    userEnvs,
    envFiles,
    projectId,
  };
}

async function main(argv: string[]): Promise<number> {
  let values: { project?: string; "no-build"?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { project: { type: "string" }, "no-build": { type: "boolean" } }, strict: true }));
  } catch (error) {
    console.error(`usage: npm run deploy:check [-- --project <projectId>] [--no-build]\n${errorMessage(error)}`);
    return 2;
  }
  const result = checkDeploy(await collectInputs({ log: console.log, build: !values["no-build"], projectId: values.project }));
  console.log(formatResult(result));
  return result.problems.length === 0 ? 0 : 1;
}

if (require.main === module) {
  // Exit when done: firebase-tools' discovery leaves a 10 s kill timer behind for its child.
  main(process.argv.slice(2)).then(process.exit, (error: unknown) => {
    console.error(`ERROR: deploy check crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
}
