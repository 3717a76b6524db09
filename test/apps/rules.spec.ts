/**
 * firestore.rules. The offline Firestore server cannot evaluate security rules, so:
 * - the structure of the file is always checked here (a small parser: blocks, `allow`
 *   statements and their conditions per `match` path);
 * - the rules are evaluated against real requests only when the official Firestore emulator
 *   (Java) is installed; otherwise that test reports, visibly, why it did not run.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { officialFirestoreEmulatorInstalled, officialFirestoreJarName } from "../../scripts/lib/firestore-fallback";
import { freePort } from "../../scripts/lib/ports";
import { unsignedIdToken } from "../support/tokens";
import { waitUntil } from "../support/wait";

const rulesPath = path.join(__dirname, "../../firestore.rules");

interface Allow {
  methods: string[];
  condition: string;
}

/** `match` path (joined from the root, e.g. `/users/{uid}/hourly_usage/{hour}`) -> its allow statements. */
function parseRules(source: string): Map<string, Allow[]> {
  const text = source.replace(/\/\/[^\n]*/g, "");
  const matches = new Map<string, Allow[]>();
  const stack: string[] = [];
  const kinds: ("match" | "other")[] = [];
  const token = /match\s+(\S+)\s*\{|allow\s+([a-z,\s]+?)\s*:\s*if\s+([^;]+);|\{|\}/g;
  let found: RegExpExecArray | null;
  while ((found = token.exec(text)) !== null) {
    if (found[1] !== undefined) {
      stack.push(found[1]);
      kinds.push("match");
      const full = stack.join("").replace(/^\/databases\/\{database\}\/documents/, "");
      if (!matches.has(full)) matches.set(full, []);
    } else if (found[2] !== undefined && found[3] !== undefined) {
      const full = stack.join("").replace(/^\/databases\/\{database\}\/documents/, "");
      matches.get(full)?.push({ methods: found[2].split(",").map((m) => m.trim()), condition: found[3].replace(/\s+/g, " ").trim() });
    } else if (found[0] === "{") {
      kinds.push("other");
    } else {
      const kind = kinds.pop();
      assert.ok(kind !== undefined, "unbalanced '}' in firestore.rules");
      if (kind === "match") stack.pop();
    }
  }
  assert.equal(kinds.length, 0, "unbalanced '{' in firestore.rules");
  return matches;
}

const writeMethods = ["write", "create", "update", "delete"];

describe("firestore.rules", () => {
  const source = readFileSync(rulesPath, "utf8");
  const rules = parseRules(source);
  const allows = (matchPath: string) => rules.get(matchPath) ?? [];

  it("is version 2 and has no catch-all or unconditional allow", () => {
    assert.match(source, /^rules_version = '2';/m);
    assert.match(source, /service cloud\.firestore/);
    for (const [matchPath, statements] of rules) {
      assert.ok(!matchPath.includes("=**"), `recursive wildcard at ${matchPath}`);
      for (const statement of statements) assert.notEqual(statement.condition, "true", `unconditional allow at ${matchPath}`);
    }
  });

  it("denies every client write to users, testers, stripe_events and apps", () => {
    for (const matchPath of ["/users/{uid}", "/users/{uid}/hourly_usage/{hour}", "/testers/{uid}", "/stripe_events/{eventId}", "/apps/{appId}"]) {
      assert.ok(rules.has(matchPath), `no match block for ${matchPath}`);
      for (const statement of allows(matchPath)) {
        if (statement.methods.some((m) => writeMethods.includes(m))) assert.equal(statement.condition, "false", `${matchPath} allows ${statement.methods.join(",")}`);
      }
    }
  });

  it("lets a user read only their own user document, and nobody read testers or stripe_events", () => {
    const reads = allows("/users/{uid}").filter((s) => s.methods.includes("read"));
    assert.deepEqual(reads.map((s) => s.condition), ["signedIn() && request.auth.uid == uid"]);
    for (const matchPath of ["/testers/{uid}", "/stripe_events/{eventId}"]) {
      for (const statement of allows(matchPath)) assert.equal(statement.condition, "false");
    }
  });

  it("lets a signed-in user read public approved apps and their own apps, nothing else", () => {
    const reads = allows("/apps/{appId}").filter((s) => s.methods.some((m) => ["read", "get", "list"].includes(m)));
    assert.deepEqual(reads.map((s) => s.condition), [
      "signedIn() && ((resource.data.private == false && resource.data.approved == true) || resource.data.uid == request.auth.uid)",
    ]);
  });

  describe("evaluated by the official Firestore emulator", function () {
    this.timeout(60_000);
    const projectId = "demo-rules-test";
    let emulator: ChildProcess | undefined;
    let base = "";

    before(async function () {
      if (!officialFirestoreEmulatorInstalled()) {
        console.log(
          "    [rules] NOT evaluated: the official Firestore emulator (Java + firebase-tools' pinned jar) is not installed, " +
            "and the offline fallback server cannot evaluate security rules. Only the structural checks above ran. " +
            "Install it with `npx firebase setup:emulators:firestore` (needs the internet) to run these.",
        );
        this.skip();
      }
      const jar =
        process.env.FIRESTORE_EMULATOR_BINARY_PATH ??
        path.join(process.env.FIREBASE_EMULATORS_PATH || path.join(homedir(), ".cache", "firebase", "emulators"), officialFirestoreJarName() ?? "");
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      emulator = spawn("java", ["-Duser.language=en", "-jar", jar, "--host", "127.0.0.1", "--port", String(port)], { stdio: "ignore" });
      await waitUntil(async () => (await fetch(base).catch(() => undefined))?.ok === true, 30_000, "the Firestore emulator");
      const loaded = await fetch(`${base}/emulator/v1/projects/${projectId}:securityRules`, {
        method: "PUT",
        body: JSON.stringify({ rules: { files: [{ name: "security.rules", content: source }] } }),
      });
      const body = (await loaded.json()) as { issues?: { severity: string; description: string }[] };
      const errors = (body.issues ?? []).filter((issue) => issue.severity === "ERROR");
      assert.deepEqual(errors, [], "firestore.rules does not compile");

      // Seed as the emulator's rules-bypassing owner.
      const seed = (docPath: string, fields: Record<string, unknown>) => request("PATCH", docPath, "owner", fields);
      await seed("users/alice", { mentor_notification_frequency: 2 });
      await seed("users/bob", { mentor_notification_frequency: 1 });
      await seed("apps/public", { uid: "bob", private: false, approved: true });
      await seed("apps/bob-private", { uid: "bob", private: true, approved: true });
      await seed("apps/bob-review", { uid: "bob", private: false, approved: false });
      await seed("apps/alice-private", { uid: "alice", private: true, approved: false });
      await seed("testers/alice", { uid: "alice", apps: ["bob-review"] });
      await seed("stripe_events/evt_1", { type: "x" });
    });
    after(() => {
      emulator?.kill("SIGKILL");
    });

    function toValue(value: unknown): unknown {
      if (typeof value === "boolean") return { booleanValue: value };
      if (typeof value === "number") return { integerValue: String(value) };
      if (Array.isArray(value)) return { arrayValue: { values: value.map(toValue) } };
      return { stringValue: String(value) };
    }

    async function request(method: string, docPath: string, as: "owner" | string | undefined, fields?: Record<string, unknown>): Promise<number> {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (as === "owner") headers.authorization = "Bearer owner";
      else if (as !== undefined) headers.authorization = `Bearer ${unsignedIdToken(as)}`;
      const body = fields ? JSON.stringify({ fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, toValue(v)])) }) : undefined;
      const response = await fetch(`${base}/v1/projects/${projectId}/databases/(default)/documents/${docPath}`, { method, headers, body });
      await response.text();
      return response.status;
    }

    it("a user reads their own user document, not another's; nobody signed out reads it", async () => {
      assert.equal(await request("GET", "users/alice", "alice"), 200);
      assert.equal(await request("GET", "users/bob", "alice"), 403);
      assert.equal(await request("GET", "users/alice", undefined), 403);
    });

    it("a user reads public approved apps and their own apps, not others' private or unapproved ones", async () => {
      assert.equal(await request("GET", "apps/public", "alice"), 200);
      assert.equal(await request("GET", "apps/alice-private", "alice"), 200);
      assert.equal(await request("GET", "apps/bob-private", "alice"), 403);
      assert.equal(await request("GET", "apps/bob-review", "alice"), 403, "tester access is for getAvailableApps only");
    });

    it("denies client writes to testers, subscription, stripe_events and apps", async () => {
      assert.equal(await request("PATCH", "testers/alice", "alice", { uid: "alice", apps: ["bob-private"] }), 403);
      assert.equal(await request("PATCH", "users/alice?updateMask.fieldPaths=subscription", "alice", { subscription: "unlimited" }), 403);
      assert.equal(await request("PATCH", "stripe_events/evt_2", "alice", { type: "y" }), 403);
      assert.equal(await request("PATCH", "apps/alice-private", "alice", { uid: "alice", private: false, approved: true }), 403);
      assert.equal(await request("GET", "testers/alice", "alice"), 403);
    });
  });
});
