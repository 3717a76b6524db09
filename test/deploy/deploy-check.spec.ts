/**
 * `npm run deploy:check`: passes on the repo as it is, and fails on what would break a deploy.
 * The failing cases change a copy of the inputs (a config object, a manifest, a temp copy of
 * the sources), never the real firebase.json or functions/src.
 *
 * Run alone: npx mocha --no-config -r ts-node/register/transpile-only --timeout 120000 --exit test/deploy/deploy-check.spec.ts
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  CONTRACT_ENDPOINTS,
  CheckInput,
  FunctionsConfig,
  Manifest,
  REPO_ROOT,
  checkDeploy,
  collectInputs,
  scanSource,
} from "../../scripts/deploy-check";

/** The problems of a check that must fail, with a readable assertion message. */
function problemsOf(input: CheckInput): string[] {
  const result = checkDeploy(input);
  assert.ok(result.problems.length > 0, "expected the check to fail");
  return result.problems;
}

function assertSomeMatch(problems: string[], pattern: RegExp): void {
  assert.ok(problems.some((p) => pattern.test(p)), `no problem matches ${pattern}:\n  ${problems.join("\n  ")}`);
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

  it("fails when firebase.json's runtime is nodejs20 (decommissioned per firebase-tools' table)", () => {
    const nodejs20 = inputs.runtimes.nodejs20;
    assert.ok(nodejs20, "firebase-tools' table has nodejs20");
    assert.ok(inputs.now >= new Date(nodejs20.decommissionDate), "today is past nodejs20's decommission date");
    const problems = problemsOf({ ...inputs, firebaseJson: withRuntime(inputs.firebaseJson, "nodejs20") });
    assertSomeMatch(problems, new RegExp(`runtime nodejs20 \\(Node\\.js 20\\) was decommissioned on ${nodejs20.decommissionDate}`));
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
    assertSomeMatch(agreeing, /runtime nodejs20 .* was decommissioned/);
  });

  it("fails on an unknown, deprecated or mismatched runtime", () => {
    assertSomeMatch(problemsOf({ ...inputs, firebaseJson: withRuntime(inputs.firebaseJson, "nodejs99") }), /runtime "nodejs99" is not in firebase-tools .* runtime table/);
    const deprecated = problemsOf({ ...inputs, now: new Date("2028-05-01T00:00:00Z") });
    assertSomeMatch(deprecated, /runtime nodejs24 \(Node\.js 24\) was deprecated on 2028-04-30/);
    assertSomeMatch(problemsOf({ ...inputs, nodeVersions: { check: "20.19.0" } }), /the runtime is Node 24 but this check runs on Node 20\.19\.0/);
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

  it("fails on a process.env read that is neither a declared param/secret nor a platform variable", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-check-"));
    try {
      const functionsDir = path.join(tmp, "functions");
      fs.mkdirSync(functionsDir);
      fs.cpSync(path.join(REPO_ROOT, "functions", "src"), path.join(functionsDir, "src"), { recursive: true });
      for (const file of ["tsconfig.json", "package.json"]) fs.copyFileSync(path.join(REPO_ROOT, "functions", file), path.join(functionsDir, file));
      fs.symlinkSync(path.join(REPO_ROOT, "functions", "node_modules"), path.join(functionsDir, "node_modules"), "dir");
      fs.appendFileSync(
        path.join(functionsDir, "src", "credits", "get-credits.ts"),
        '\nexport const leakedKey = process.env.LEAKED_API_KEY;\nexport const anyKey = (name: string) => process.env[name];\n',
      );
      const problems = problemsOf({ ...inputs, source: scanSource(functionsDir) });
      assertSomeMatch(problems, /^functions\/src\/credits\/get-credits\.ts:\d+ reads process\.env\.LEAKED_API_KEY, which is neither a param\/secret declared in functions\/src\/config\.ts nor a platform variable/);
      assertSomeMatch(problems, /^functions\/src\/credits\/get-credits\.ts:\d+ reads process\.env\[name\], a name this check cannot resolve/);
      assert.equal(problems.length, 2, problems.join("\n"));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("fails when a param or secret is used but not declared, or a handler's secret is not bound", () => {
    const undeclared = structuredClone(manifest);
    undeclared.params = [...(undeclared.params ?? []), { name: "OPENAI_API_KEY", type: "secret" }];
    undeclared.endpoints.getCredits!.secretEnvironmentVariables = [
      ...(undeclared.endpoints.getCredits!.secretEnvironmentVariables ?? []),
      { key: "OPENAI_API_KEY", secret: "OPENAI_API_KEY" },
    ];
    const problems = problemsOf({ ...inputs, manifest: undeclared });
    assertSomeMatch(problems, /^the manifest has secret OPENAI_API_KEY, which functions\/src\/config\.ts does not declare/);
    assertSomeMatch(problems, /^getCredits binds secret OPENAI_API_KEY, which functions\/src\/config\.ts does not declare/);

    const unbound = structuredClone(manifest);
    delete unbound.endpoints.getCredits!.secretEnvironmentVariables;
    assertSomeMatch(problemsOf({ ...inputs, manifest: unbound }), /^getCredits reaches secret UPSTASH_REDIS_REST_TOKEN \(.*redis -> upstashRedisRestToken\) but does not bind it/);
  });

  it("refuses a marker poll interval that cannot keep the 2 s promise, and says why", () => {
    const withInterval = (value: string) => ({ ...inputs, userEnvs: { ...inputs.userEnvs, MARKER_POLL_INTERVAL_MS: value }, envFiles: ["functions/.env"] });
    for (const bad of ["2000", "1201", "50", "1.5", "fast"]) {
      assertSomeMatch(problemsOf(withInterval(bad)), new RegExp(`^MARKER_POLL_INTERVAL_MS=${bad.replace(".", "\\.")} cannot keep the 2 s freshness promise: .*800 ms.*from 100 to 1200`));
    }
    for (const good of ["1200", "250", "1000"]) {
      const result = checkDeploy(withInterval(good));
      assert.deepEqual(result.problems.filter((p) => p.includes("MARKER_POLL_INTERVAL_MS")), [], `${good} ms keeps the promise`);
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
