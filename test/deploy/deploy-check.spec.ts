/**
 * `npm run deploy:check`: passes on the repo as it is, and fails on what would break a deploy.
 * The failing cases change a copy of the inputs (a config object, a manifest), never the real
 * firebase.json or functions/src. What the code may read (process.env, firebase-functions/params)
 * is the functions' lint config's to refuse: tested here with ESLint's own API.
 *
 * Run alone: npx mocha --no-config -r ts-node/register/transpile-only --timeout 120000 --exit test/deploy/deploy-check.spec.ts
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import { CONTRACT_ENDPOINTS, CheckInput, FunctionsConfig, REPO_ROOT, checkDeploy, collectInputs } from "../../scripts/deploy-check";
import { Manifest, WRITTEN_FOR } from "../../scripts/deploy-check-firebase-tools";

/** ESLint's Node API, as far as this spec uses it (eslint is installed in functions/ only). */
interface ESLintModule {
  ESLint: new (options: { cwd: string }) => {
    lintText(code: string, options: { filePath: string }): Promise<{ messages: { ruleId: string | null; message: string }[] }[]>;
  };
}

/** The problems of a check that must fail, with a readable assertion message. */
function problemsOf(input: CheckInput): string[] {
  const result = checkDeploy(input);
  assert.ok(result.problems.length > 0, "expected the check to fail");
  return result.problems;
}

function assertSomeMatch(problems: string[], pattern: RegExp): void {
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `no problem matches ${pattern}:\n  ${problems.join("\n  ")}`,
  );
}

function withRuntime(firebaseJson: unknown, runtime: string): unknown {
  const copy = structuredClone(firebaseJson) as { functions: FunctionsConfig | FunctionsConfig[] };
  for (const config of Array.isArray(copy.functions) ? copy.functions : [copy.functions]) config.runtime = runtime;
  return copy;
}

describe("deploy check (npm run deploy:check)", function () {
  this.timeout(120_000);
  let inputs: CheckInput;
  let manifest: Manifest;
  const savedTimeout = process.env.FUNCTIONS_DISCOVERY_TIMEOUT;

  before(async () => {
    // firebase-tools gives discovery 10 s; a busy test machine may need more.
    process.env.FUNCTIONS_DISCOVERY_TIMEOUT ??= "60";
    // The one build of this spec, skipped when functions/lib is already up to date: under
    // `npm test` the suite's Functions emulator serves functions/lib and reloads on a rewrite.
    inputs = await collectInputs({ build: "if-stale" });
    assert.ok(inputs.manifest, `discovery failed: ${inputs.discoveryError}`);
    manifest = inputs.manifest;
  });

  after(() => {
    if (savedTimeout === undefined) delete process.env.FUNCTIONS_DISCOVERY_TIMEOUT;
    else process.env.FUNCTIONS_DISCOVERY_TIMEOUT = savedTimeout;
  });

  it("passes on the repo as it is", () => {
    const result = checkDeploy(inputs);
    assert.deepEqual(result.problems, []);
    assert.equal(result.runtime, "nodejs24");
    assert.equal(Object.keys(manifest.endpoints).length, Object.keys(CONTRACT_ENDPOINTS).length);
  });

  it("passes as the CLI: exit 0, a report and 'deploy check passed'", () => {
    const tsNode = require.resolve("ts-node/dist/bin.js", { paths: [REPO_ROOT] });
    const run = spawnSync(process.execPath, [tsNode, "--transpile-only", "scripts/deploy-check.ts", "--no-build"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: { ...process.env, PATH: `${path.join(REPO_ROOT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}` },
      timeout: 90_000,
    });
    const output = `${run.stdout}${run.stderr}`;
    assert.equal(run.status, 0, output);
    assert.match(run.stdout, /^runtime: nodejs24 \(Node\.js 24, GA\): deprecated 2028-04-30/m);
    assert.match(run.stdout, /^endpoints: 17 /m);
    assert.match(run.stdout, /UPSTASH_REDIS_REST_TOKEN/);
    assert.match(run.stdout, /deploy check passed\s*$/);
  });

  it("fails when firebase.json's runtime is nodejs20 (decommissioned: firebase-tools' own guard refuses it)", () => {
    const nodejs20 = inputs.tools.RUNTIMES.nodejs20;
    assert.ok(nodejs20, "firebase-tools' table has nodejs20");
    assert.ok(inputs.now >= new Date(nodejs20.decommissionDate), "today is past nodejs20's decommission date");
    const problems = problemsOf({ ...inputs, firebaseJson: withRuntime(inputs.firebaseJson, "nodejs20") });
    // guardVersionSupport's own error, then the upgrade this check suggests
    assertSomeMatch(
      problems,
      new RegExp(
        `^runtime nodejs20: Runtime Node\\.js 20 was decommissioned on ${nodejs20.decommissionDate}\\. To deploy you must first upgrade your runtime version\\. Use nodejs24 `,
      ),
    );
    // ...and it disagrees with functions/package.json's engines.node 24
    assertSomeMatch(problems, /firebase\.json runtime "nodejs20" and functions\/package\.json engines\.node "24" disagree/);
    // Agreeing everywhere does not make it deployable.
    const agreeing = problemsOf({
      ...inputs,
      firebaseJson: withRuntime(inputs.firebaseJson, "nodejs20"),
      functionsPackageJson: { ...inputs.functionsPackageJson, engines: { node: "20" } },
      rootPackageJson: { ...inputs.rootPackageJson, engines: { node: "20" }, devDependencies: { ...inputs.rootPackageJson.devDependencies, node: "20.19.0" } },
      nodeVersions: { check: "20.19.0", discovery: "20.19.0" },
    });
    assertSomeMatch(agreeing, /^runtime nodejs20: Runtime Node\.js 20 was decommissioned/);
  });

  it("fails on an unknown, deprecated or mismatched runtime", () => {
    assertSomeMatch(
      problemsOf({ ...inputs, firebaseJson: withRuntime(inputs.firebaseJson, "nodejs99") }),
      /runtime "nodejs99" is not in firebase-tools .* runtime table/,
    );
    // firebase-tools' guard only warns on a deprecated runtime; this check refuses it
    const deprecated = problemsOf({ ...inputs, now: new Date("2028-05-01T00:00:00Z") });
    assertSomeMatch(deprecated, /^runtime nodejs24: Runtime Node\.js 24 was deprecated on 2028-04-30 and will be decommissioned on 2028-10-31/);
    // ...and its warning within 90 days of the deprecation is a note
    const soon = checkDeploy({ ...inputs, now: new Date("2028-03-01T00:00:00Z") });
    assert.deepEqual(soon.problems, []);
    assertSomeMatch(soon.notes, /^runtime nodejs24: Runtime Node\.js 24 will be deprecated on 2028-04-30/);
    assertSomeMatch(problemsOf({ ...inputs, nodeVersions: { check: "20.19.0" } }), /the runtime is Node 24 but this check runs on Node 20\.19\.0/);
  });

  it("fails when the installed firebase-tools is not the version its adapter was written for", () => {
    assert.equal(inputs.tools.version, WRITTEN_FOR);
    const problems = problemsOf({ ...inputs, tools: { ...inputs.tools, version: "15.35.0" } });
    assertSomeMatch(problems, /^firebase-tools 15\.35\.0 is installed but scripts\/deploy-check-firebase-tools\.ts was written for 15\.34\.2: .*re-check it/);
  });

  it("fails when a function the contract names is missing, or has the wrong trigger", () => {
    const missing = structuredClone(manifest);
    delete missing.endpoints.getCredits;
    assertSomeMatch(problemsOf({ ...inputs, manifest: missing }), /^getCredits \(callable \(onCall\)\) is named by the contract but not exported/);

    const wrong = structuredClone(manifest);
    wrong.endpoints.cacheStats = { ...wrong.endpoints.cacheStats, httpsTrigger: undefined, callableTrigger: {} };
    const onApp = wrong.endpoints.onAppWritten!;
    onApp.eventTrigger = { ...onApp.eventTrigger!, eventFilterPathPatterns: { document: "app/{appId}" } };
    wrong.endpoints.debugDump = { platform: "gcfv2", httpsTrigger: {} };
    const problems = problemsOf({ ...inputs, manifest: wrong });
    assertSomeMatch(problems, /^cacheStats must be an HTTPS function \(onRequest\) but is a callable/);
    assertSomeMatch(problems, /^onAppWritten must be a Firestore written trigger on apps\/\{appId\}/);
    assertSomeMatch(problems, /^debugDump \(an HTTPS function \(onRequest\)\) is exported .* but the contract does not name it/);
  });

  it("lint refuses process.env outside its allow-list and firebase-functions/params outside config.ts", async () => {
    const functionsDir = path.join(REPO_ROOT, "functions");
    const { ESLint } = createRequire(path.join(functionsDir, "package.json"))("eslint") as ESLintModule;
    const eslint = new ESLint({ cwd: functionsDir });
    const lint = async (file: string, code: string): Promise<string[]> => {
      const [result] = await eslint.lintText(code, { filePath: path.join(functionsDir, "src", file) });
      return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
    };
    const envReads = "export const leakedKey = process.env.LEAKED_API_KEY;\nexport const anyKey = (name: string) => process.env[name];\n";
    const paramsImport = 'import { defineSecret } from "firebase-functions/params";\nexport const openAiKey = defineSecret("OPENAI_API_KEY");\n';

    const refused = await lint("credits/get-credits.ts", paramsImport + envReads);
    assert.equal(refused.length, 3, refused.join("\n"));
    assertSomeMatch(refused, /^no-restricted-imports: 'firebase-functions\/params' import is restricted .*Declare params and secrets in src\/config\.ts/);
    assert.equal(refused.filter((m) => /^no-restricted-properties: 'process\.env' is restricted/.test(m)).length, 2, refused.join("\n"));
    assertSomeMatch(
      await lint("apps/callables.ts", 'import { params } from "firebase-functions";\nexport const p = params.defineString("X");\n'),
      /^no-restricted-imports: 'params' import from 'firebase-functions' is restricted/,
    );
    assertSomeMatch(
      await lint("ping.ts", 'import { env } from "node:process";\nexport const leaked = env.LEAKED_API_KEY;\n'),
      /^no-restricted-imports: 'node:process' import is restricted/,
    );
    // fleet-stats may read the platform's variables, but declares no param
    assertSomeMatch(await lint("telemetry/fleet-stats.ts", paramsImport), /^no-restricted-imports: 'firebase-functions\/params'/);

    // Allowed: config.ts declares params and reads process.env; auth.ts and fleet-stats.ts read the platform's variables.
    assert.deepEqual(await lint("config.ts", paramsImport + envReads), []);
    assert.deepEqual(await lint("auth.ts", 'export const debug = process.env.FIREBASE_DEBUG_MODE === "true";\n'), []);
    assert.deepEqual(await lint("telemetry/fleet-stats.ts", "export const served = process.env.FUNCTION_TARGET || process.env.K_SERVICE;\n"), []);
  });

  it("fails when a param or secret is used but not declared, or a secret is not bound where it is read", () => {
    const undeclared = structuredClone(manifest);
    undeclared.params = [...(undeclared.params ?? []), { name: "OPENAI_API_KEY", type: "secret" }];
    undeclared.endpoints.getCredits!.secretEnvironmentVariables = [
      ...(undeclared.endpoints.getCredits!.secretEnvironmentVariables ?? []),
      { key: "OPENAI_API_KEY", secret: "OPENAI_API_KEY" },
    ];
    const problems = problemsOf({ ...inputs, manifest: undeclared });
    assertSomeMatch(problems, /^the manifest has secret OPENAI_API_KEY, which functions\/src\/config\.ts does not declare/);
    assertSomeMatch(problems, /^getCredits binds secret OPENAI_API_KEY, which functions\/src\/config\.ts does not declare/);

    // The Redis token is bound for every function by setGlobalOptions; a function's own "secrets" replaces that.
    assert.ok(Object.values(manifest.endpoints).every((e) => e.secretEnvironmentVariables?.some((s) => s.key === "UPSTASH_REDIS_REST_TOKEN")));
    const unbound = structuredClone(manifest);
    delete unbound.endpoints.getCredits!.secretEnvironmentVariables;
    unbound.endpoints.stripeWebhook!.secretEnvironmentVariables = [{ key: "UPSTASH_REDIS_REST_TOKEN" }];
    const unboundProblems = problemsOf({ ...inputs, manifest: unbound });
    assertSomeMatch(
      unboundProblems,
      /^getCredits does not bind secret UPSTASH_REDIS_REST_TOKEN, which setGlobalOptions in functions\/src\/index\.ts binds for every function/,
    );
    assertSomeMatch(unboundProblems, /^stripeWebhook does not bind secret STRIPE_WEBHOOK_SECRET, which it reads/);
    assert.equal(unboundProblems.length, 2, unboundProblems.join("\n"));

    // A secret config.ts declares must say who binds it (SECRET_BINDINGS), and be in the manifest.
    const undeclaredUse = problemsOf({ ...inputs, declared: [...inputs.declared, { name: "OPENAI_API_KEY", kind: "secret", exportName: "openAiKey" }] });
    assertSomeMatch(undeclaredUse, /^functions\/src\/config\.ts declares secret OPENAI_API_KEY but SECRET_BINDINGS in scripts\/deploy-check\.ts does not say/);
    assertSomeMatch(undeclaredUse, /^functions\/src\/config\.ts declares OPENAI_API_KEY but the discovered manifest has no such param/);
  });

  it("refuses a marker poll interval that cannot keep the 2 s promise, and says why", () => {
    const withInterval = (value: string) => ({ ...inputs, userEnvs: { ...inputs.userEnvs, MARKER_POLL_INTERVAL_MS: value }, envFiles: ["functions/.env"] });
    for (const bad of ["2000", "1201", "50", "1.5", "fast"]) {
      assertSomeMatch(
        problemsOf(withInterval(bad)),
        new RegExp(`^MARKER_POLL_INTERVAL_MS=${bad.replace(".", "\\.")} cannot keep the 2 s freshness promise: .*800 ms.*from 100 to 1200`),
      );
    }
    for (const good of ["1200", "250", "1000"]) {
      const result = checkDeploy(withInterval(good));
      assert.deepEqual(
        result.problems.filter((p) => p.includes("MARKER_POLL_INTERVAL_MS")),
        [],
        `${good} ms keeps the promise`,
      );
    }
  });

  it("refuses a stats publish interval under a minute (the contract's at most once a minute), which only the local stack uses", () => {
    const withInterval = (value: string) => ({ ...inputs, userEnvs: { ...inputs.userEnvs, STATS_PUBLISH_INTERVAL_MS: value }, envFiles: ["functions/.env"] });
    for (const bad of ["5000", "59999", "60000.5", "often"]) {
      assertSomeMatch(
        problemsOf(withInterval(bad)),
        new RegExp(`^STATS_PUBLISH_INTERVAL_MS=${bad.replace(".", "\\.")}: .*at most once a minute.*at least 60000`),
      );
    }
    for (const good of ["60000", "300000"]) {
      assert.deepEqual(
        checkDeploy(withInterval(good)).problems.filter((p) => p.includes("STATS_PUBLISH_INTERVAL_MS")),
        [],
        `${good} ms keeps the contract`,
      );
    }
  });

  it("fails when a deploy .env file sets a secret's name", () => {
    const problems = problemsOf({
      ...inputs,
      userEnvs: { ...inputs.userEnvs, STRIPE_WEBHOOK_SECRET: "whsec_x" },
      envFiles: ["functions/.env"],
    });
    assertSomeMatch(problems, /sets STRIPE_WEBHOOK_SECRET, which is a secret/);
  });
});
