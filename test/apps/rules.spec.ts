/**
 * firestore.rules, evaluated by the official Cloud Firestore emulator through its REST API with
 * client tokens (`Authorization: Bearer <unsigned ID token>`), the way an app client's request
 * reaches the rules. Every `match` path of the file (and an unmatched one) is exercised for
 * get, list/query, create, update and delete, both where it must be allowed and where it must
 * be denied, including the filters that `apps` queries must carry.
 *
 * The rules are loaded by this spec into its own project (`demo-rules-test`) with the
 * emulator's `PUT /emulator/v1/projects/<id>:securityRules`, so the result does not depend on
 * what firebase-tools loaded, and this spec's documents never meet other specs' data (nor their
 * triggers, which are registered for the suite's project only).
 *
 * The emulator: `RULES_SPEC_EMULATOR_HOST` (host:port of an official Firestore emulator you
 * started yourself) or else the one the mocha global fixture started (`stack().firestore`).
 * The offline stand-in (`mode: "fallback"`) cannot evaluate rules: then the evaluation block
 * says so and is skipped, and only the structural checks below run.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { stack } from "../support/stack";
import { unsignedIdToken } from "../../scripts/harness/id-tokens";

const rulesPath = path.join(__dirname, "../../firestore.rules");
const rulesProjectId = "demo-rules-test";

/** Where the official emulator is, read lazily (the global fixture runs after this file loads). */
function rulesEmulator(): { rulesEvaluated: boolean; description: string; host: string; from: string } {
  const fromEnv = process.env.RULES_SPEC_EMULATOR_HOST;
  if (fromEnv) return { rulesEvaluated: true, description: "the official emulator", host: fromEnv, from: "RULES_SPEC_EMULATOR_HOST" };
  const { firestore } = stack();
  return { rulesEvaluated: firestore.rulesEvaluated, description: firestore.description, host: firestore.host, from: "the test stack" };
}

// ---------------------------------------------------------------------------------------------
// Structure (always runs, also where the emulator cannot).

interface Allow {
  methods: string[];
  condition: string;
}

/** `match` path (joined from the root, e.g. `/users/{uid}/hourly_usage/{hour}`) -> its allow statements. */
function parseRules(source: string): Map<string, Allow[]> {
  const text = source.replace(/\/\/[^\n]*/g, "");
  const matches = new Map<string, Allow[]>();
  const stackOfPaths: string[] = [];
  const kinds: ("match" | "other")[] = [];
  const token = /match\s+(\S+)\s*\{|allow\s+([a-z,\s]+?)\s*:\s*if\s+([^;]+);|\{|\}/g;
  let found: RegExpExecArray | null;
  while ((found = token.exec(text)) !== null) {
    if (found[1] !== undefined) {
      stackOfPaths.push(found[1]);
      kinds.push("match");
      const full = stackOfPaths.join("").replace(/^\/databases\/\{database\}\/documents/, "");
      if (!matches.has(full)) matches.set(full, []);
    } else if (found[2] !== undefined && found[3] !== undefined) {
      const full = stackOfPaths.join("").replace(/^\/databases\/\{database\}\/documents/, "");
      matches.get(full)?.push({ methods: found[2].split(",").map((m) => m.trim()), condition: found[3].replace(/\s+/g, " ").trim() });
    } else if (found[0] === "{") {
      kinds.push("other");
    } else {
      const kind = kinds.pop();
      assert.ok(kind !== undefined, "unbalanced '}' in firestore.rules");
      if (kind === "match") stackOfPaths.pop();
    }
  }
  assert.equal(kinds.length, 0, "unbalanced '{' in firestore.rules");
  return matches;
}

// ---------------------------------------------------------------------------------------------
// The cases.

type Op = "get" | "list" | "create" | "update" | "delete";
/** A signed-in user id, or `undefined` for a request without a token. */
type As = string | undefined;

type Filter = { fieldFilter: { field: { fieldPath: string }; op: "EQUAL"; value: unknown } } | { compositeFilter: { op: "AND"; filters: Filter[] } };

interface Case {
  /** The `match` path of firestore.rules this request is judged by; "(unmatched)" for none. */
  match: string;
  op: Op;
  as: As;
  /** Document path, or collection path for a list. */
  path: string;
  /** A `runQuery` list: the parent document ("" = root), the collection and its filter. */
  query?: { parent: string; collectionId: string; where?: Filter; allDescendants?: boolean };
  /** Fields written by create/update. */
  fields?: Record<string, unknown>;
  allowed: boolean;
  /** For an allowed get/list: the document ids it must return (proves the seed and the filter). */
  returns?: string[];
  why?: string;
}

const me = "alice";
const other = "bob";
const hour = "2026-01-01-00";

function eq(fieldPath: string, value: unknown): Filter {
  return { fieldFilter: { field: { fieldPath }, op: "EQUAL", value: toValue(value) } };
}
function and(...filters: Filter[]): Filter {
  return { compositeFilter: { op: "AND", filters } };
}

const seed: Record<string, Record<string, unknown>> = {
  [`users/${me}`]: { mentor_notification_frequency: 2, subscription: { plan: "basic", status: "active" }, stripe_customer_id: "cus_alice" },
  [`users/${other}`]: { mentor_notification_frequency: 1, subscription: { plan: "pro", status: "active" }, stripe_customer_id: "cus_bob" },
  [`users/${me}/hourly_usage/${hour}`]: { transcription_seconds: 60, words_transcribed: 120, year: 2026, month: 1, day: 1, hour: 0, id: hour },
  [`users/${me}/hourly_usage/2026-01-01-01`]: { transcription_seconds: 30, words_transcribed: 50, year: 2026, month: 1, day: 1, hour: 1, id: "2026-01-01-01" },
  [`users/${other}/hourly_usage/${hour}`]: { transcription_seconds: 90, words_transcribed: 200, year: 2026, month: 1, day: 1, hour: 0, id: hour },
  "apps/public": { id: "public", name: "Public", uid: other, private: false, approved: true, status: "approved", disabled: false },
  "apps/bob-private": { id: "bob-private", name: "Bob private", uid: other, private: true, approved: true, status: "approved", disabled: false },
  "apps/bob-review": { id: "bob-review", name: "Bob review", uid: other, private: false, approved: false, status: "under-review", disabled: false },
  "apps/alice-private": { id: "alice-private", name: "Alice private", uid: me, private: true, approved: true, status: "approved", disabled: false },
  "apps/alice-review": { id: "alice-review", name: "Alice review", uid: me, private: false, approved: false, status: "under-review", disabled: false },
  [`testers/${me}`]: { uid: me, apps: ["bob-review"] },
  [`testers/${other}`]: { uid: other, apps: [] },
  "stripe_events/evt_1": { type: "customer.subscription.updated", created: 1 },
  "other/x": { any: "thing" },
};

const cases: Case[] = [
  // users/{uid}
  { match: "/users/{uid}", op: "get", as: me, path: `users/${me}`, allowed: true, returns: [me] },
  { match: "/users/{uid}", op: "get", as: other, path: `users/${other}`, allowed: true, returns: [other] },
  { match: "/users/{uid}", op: "get", as: me, path: `users/${other}`, allowed: false },
  { match: "/users/{uid}", op: "get", as: undefined, path: `users/${me}`, allowed: false },
  { match: "/users/{uid}", op: "list", as: me, path: "users", allowed: false, why: "would list everyone's user documents" },
  { match: "/users/{uid}", op: "list", as: me, path: "users", query: { parent: "", collectionId: "users" }, allowed: false },
  { match: "/users/{uid}", op: "create", as: "carol", path: "users/carol", fields: { mentor_notification_frequency: 1 }, allowed: false, why: "own document" },
  { match: "/users/{uid}", op: "update", as: me, path: `users/${me}`, fields: { mentor_notification_frequency: 5 }, allowed: false, why: "own document" },
  {
    match: "/users/{uid}",
    op: "update",
    as: me,
    path: `users/${me}`,
    fields: { subscription: { plan: "unlimited", status: "active" } },
    allowed: false,
    why: "a client must never grant itself a plan",
  },
  { match: "/users/{uid}", op: "update", as: me, path: `users/${other}`, fields: { mentor_notification_frequency: 0 }, allowed: false },
  { match: "/users/{uid}", op: "delete", as: me, path: `users/${me}`, allowed: false, why: "own document" },

  // users/{uid}/hourly_usage/{hour}
  { match: "/users/{uid}/hourly_usage/{hour}", op: "get", as: me, path: `users/${me}/hourly_usage/${hour}`, allowed: true, returns: [hour] },
  { match: "/users/{uid}/hourly_usage/{hour}", op: "get", as: me, path: `users/${other}/hourly_usage/${hour}`, allowed: false },
  { match: "/users/{uid}/hourly_usage/{hour}", op: "get", as: undefined, path: `users/${me}/hourly_usage/${hour}`, allowed: false },
  { match: "/users/{uid}/hourly_usage/{hour}", op: "list", as: me, path: `users/${me}/hourly_usage`, allowed: true, returns: [hour, "2026-01-01-01"] },
  {
    match: "/users/{uid}/hourly_usage/{hour}",
    op: "list",
    as: me,
    path: `users/${me}/hourly_usage`,
    query: { parent: `users/${me}`, collectionId: "hourly_usage", where: and(eq("year", 2026), eq("month", 1)) },
    allowed: true,
    returns: [hour, "2026-01-01-01"],
  },
  { match: "/users/{uid}/hourly_usage/{hour}", op: "list", as: me, path: `users/${other}/hourly_usage`, allowed: false },
  {
    match: "/users/{uid}/hourly_usage/{hour}",
    op: "list",
    as: me,
    path: `users/${other}/hourly_usage`,
    query: { parent: `users/${other}`, collectionId: "hourly_usage" },
    allowed: false,
  },
  { match: "/users/{uid}/hourly_usage/{hour}", op: "list", as: undefined, path: `users/${me}/hourly_usage`, allowed: false },
  {
    match: "/users/{uid}/hourly_usage/{hour}",
    op: "create",
    as: me,
    path: `users/${me}/hourly_usage/2026-01-01-02`,
    fields: { transcription_seconds: 0 },
    allowed: false,
    why: "own usage",
  },
  {
    match: "/users/{uid}/hourly_usage/{hour}",
    op: "update",
    as: me,
    path: `users/${me}/hourly_usage/${hour}`,
    fields: { transcription_seconds: 0 },
    allowed: false,
    why: "own usage: would refund credits",
  },
  { match: "/users/{uid}/hourly_usage/{hour}", op: "delete", as: me, path: `users/${me}/hourly_usage/${hour}`, allowed: false, why: "own usage" },

  // apps/{appId}
  { match: "/apps/{appId}", op: "get", as: me, path: "apps/public", allowed: true, returns: ["public"] },
  { match: "/apps/{appId}", op: "get", as: me, path: "apps/alice-private", allowed: true, returns: ["alice-private"], why: "own private app" },
  { match: "/apps/{appId}", op: "get", as: me, path: "apps/alice-review", allowed: true, returns: ["alice-review"], why: "own unapproved app" },
  { match: "/apps/{appId}", op: "get", as: me, path: "apps/bob-private", allowed: false, why: "another user's private app" },
  {
    match: "/apps/{appId}",
    op: "get",
    as: me,
    path: "apps/bob-review",
    allowed: false,
    why: "another user's unapproved app; tester access is for getAvailableApps only",
  },
  { match: "/apps/{appId}", op: "get", as: undefined, path: "apps/public", allowed: false },
  {
    match: "/apps/{appId}",
    op: "list",
    as: me,
    path: "apps",
    query: { parent: "", collectionId: "apps", where: and(eq("private", false), eq("approved", true)) },
    allowed: true,
    returns: ["public"],
  },
  {
    match: "/apps/{appId}",
    op: "list",
    as: me,
    path: "apps",
    query: { parent: "", collectionId: "apps", where: eq("uid", me) },
    allowed: true,
    returns: ["alice-private", "alice-review"],
  },
  { match: "/apps/{appId}", op: "list", as: me, path: "apps", query: { parent: "", collectionId: "apps" }, allowed: false, why: "unfiltered query" },
  { match: "/apps/{appId}", op: "list", as: me, path: "apps", allowed: false, why: "unfiltered list" },
  {
    match: "/apps/{appId}",
    op: "list",
    as: me,
    path: "apps",
    query: { parent: "", collectionId: "apps", where: eq("uid", other) },
    allowed: false,
    why: "someone else's apps",
  },
  {
    match: "/apps/{appId}",
    op: "list",
    as: me,
    path: "apps",
    query: { parent: "", collectionId: "apps", where: eq("approved", true) },
    allowed: false,
    why: "a private approved app could match",
  },
  {
    match: "/apps/{appId}",
    op: "list",
    as: me,
    path: "apps",
    query: { parent: "", collectionId: "apps", where: eq("private", false) },
    allowed: false,
    why: "a public unapproved app could match",
  },
  {
    match: "/apps/{appId}",
    op: "list",
    as: undefined,
    path: "apps",
    query: { parent: "", collectionId: "apps", where: and(eq("private", false), eq("approved", true)) },
    allowed: false,
  },
  {
    match: "/apps/{appId}",
    op: "create",
    as: me,
    path: "apps/alice-new",
    fields: { id: "alice-new", uid: me, private: false, approved: true },
    allowed: false,
    why: "would self-approve",
  },
  {
    match: "/apps/{appId}",
    op: "update",
    as: me,
    path: "apps/alice-review",
    fields: { approved: true, status: "approved" },
    allowed: false,
    why: "own app: would self-approve",
  },
  { match: "/apps/{appId}", op: "update", as: me, path: "apps/public", fields: { name: "Defaced" }, allowed: false },
  { match: "/apps/{appId}", op: "delete", as: me, path: "apps/alice-private", allowed: false, why: "own app" },

  // testers/{uid}
  { match: "/testers/{uid}", op: "get", as: me, path: `testers/${me}`, allowed: false, why: "own tester document" },
  { match: "/testers/{uid}", op: "get", as: me, path: `testers/${other}`, allowed: false },
  { match: "/testers/{uid}", op: "get", as: undefined, path: `testers/${me}`, allowed: false },
  { match: "/testers/{uid}", op: "list", as: me, path: "testers", allowed: false },
  { match: "/testers/{uid}", op: "list", as: me, path: "testers", query: { parent: "", collectionId: "testers", where: eq("uid", me) }, allowed: false },
  {
    match: "/testers/{uid}",
    op: "create",
    as: "carol",
    path: "testers/carol",
    fields: { uid: "carol", apps: ["bob-review"] },
    allowed: false,
    why: "would make oneself a tester",
  },
  {
    match: "/testers/{uid}",
    op: "update",
    as: me,
    path: `testers/${me}`,
    fields: { apps: ["bob-review", "bob-private"] },
    allowed: false,
    why: "own tester document",
  },
  { match: "/testers/{uid}", op: "delete", as: me, path: `testers/${me}`, allowed: false, why: "own tester document" },

  // stripe_events/{eventId}
  { match: "/stripe_events/{eventId}", op: "get", as: me, path: "stripe_events/evt_1", allowed: false },
  { match: "/stripe_events/{eventId}", op: "list", as: me, path: "stripe_events", allowed: false },
  {
    match: "/stripe_events/{eventId}",
    op: "list",
    as: me,
    path: "stripe_events",
    query: { parent: "", collectionId: "stripe_events", where: eq("type", "customer.subscription.updated") },
    allowed: false,
  },
  {
    match: "/stripe_events/{eventId}",
    op: "create",
    as: me,
    path: "stripe_events/evt_2",
    fields: { type: "checkout.session.completed" },
    allowed: false,
    why: "would pre-empt a real event",
  },
  { match: "/stripe_events/{eventId}", op: "update", as: me, path: "stripe_events/evt_1", fields: { type: "x" }, allowed: false },
  { match: "/stripe_events/{eventId}", op: "delete", as: me, path: "stripe_events/evt_1", allowed: false, why: "would let an event be replayed" },

  // anything unmatched
  { match: "(unmatched)", op: "get", as: me, path: "other/x", allowed: false },
  { match: "(unmatched)", op: "list", as: me, path: "other", allowed: false },
  {
    match: "(unmatched)",
    op: "list",
    as: me,
    path: "(collection group hourly_usage)",
    query: { parent: "", collectionId: "hourly_usage", allDescendants: true, where: eq("year", 2026) },
    allowed: false,
    why: "collection-group queries have no match block",
  },
  { match: "(unmatched)", op: "create", as: me, path: "other/y", fields: { any: "thing" }, allowed: false },
  { match: "(unmatched)", op: "update", as: me, path: "other/x", fields: { any: "else" }, allowed: false },
  { match: "(unmatched)", op: "delete", as: me, path: "other/x", allowed: false },
];

const allOps: Op[] = ["get", "list", "create", "update", "delete"];

function describeCase(c: Case): string {
  const request = c.query
    ? `runQuery ${c.query.allDescendants ? "collection group " : ""}${c.query.parent ? c.query.parent + "/" : ""}${c.query.collectionId} where ${c.query.where ? filterText(c.query.where) : "(none)"}`
    : `${httpMethod(c)} ${c.path}${c.fields ? ` {${Object.keys(c.fields).join(", ")}}` : ""}`;
  return `${c.as === undefined ? "signed-out" : `as ${c.as}`}: ${c.op} ${request} -> ${c.allowed ? "allowed" : "denied"}${c.why ? ` (${c.why})` : ""}`;
}

function filterText(filter: Filter): string {
  if ("compositeFilter" in filter) return filter.compositeFilter.filters.map(filterText).join(" AND ");
  return `${filter.fieldFilter.field.fieldPath} == ${JSON.stringify(fromValue(filter.fieldFilter.value))}`;
}

function httpMethod(c: Case): string {
  return { get: "GET", list: "GET", create: "PATCH", update: "PATCH", delete: "DELETE" }[c.op];
}

// ---------------------------------------------------------------------------------------------
// Firestore REST values.

function toValue(value: unknown): unknown {
  if (value === null) return { nullValue: null };
  if (typeof value === "boolean") return { booleanValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { integerValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(toValue) } };
  if (typeof value === "object") return { mapValue: { fields: toFields(value as Record<string, unknown>) } };
  return { stringValue: String(value) };
}

function toFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, toValue(v)]));
}

function fromValue(value: unknown): unknown {
  const v = value as Record<string, unknown>;
  if ("nullValue" in v) return null;
  if ("booleanValue" in v) return v.booleanValue;
  if ("integerValue" in v) return Number(v.integerValue);
  if ("doubleValue" in v) return v.doubleValue;
  if ("stringValue" in v) return v.stringValue;
  if ("arrayValue" in v) return ((v.arrayValue as { values?: unknown[] }).values ?? []).map(fromValue);
  if ("mapValue" in v) return fromFields((v.mapValue as { fields?: Record<string, unknown> }).fields ?? {});
  return v;
}

function fromFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, fromValue(v)]));
}

const lastSegment = (name: string) => name.slice(name.lastIndexOf("/") + 1);

// ---------------------------------------------------------------------------------------------

describe("firestore.rules", () => {
  const source = readFileSync(rulesPath, "utf8");
  const rules = parseRules(source);

  it("is version 2 and has no recursive wildcard, catch-all or unconditional allow", () => {
    assert.match(source, /^rules_version = '2';/m);
    assert.match(source, /service cloud\.firestore/);
    assert.ok(rules.size > 0, "no match blocks found in firestore.rules");
    for (const [matchPath, statements] of rules) {
      assert.ok(!matchPath.includes("=**"), `recursive wildcard at ${matchPath}`);
      for (const statement of statements) assert.notEqual(statement.condition, "true", `unconditional allow at ${matchPath}`);
    }
  });

  it("allows no client write anywhere (all writes go through functions)", () => {
    for (const [matchPath, statements] of rules) {
      for (const statement of statements) {
        if (statement.methods.some((m) => ["write", "create", "update", "delete"].includes(m))) {
          assert.equal(statement.condition, "false", `${matchPath} allows ${statement.methods.join(",")} if ${statement.condition}`);
        }
      }
    }
  });

  it("has evaluation cases for every match path and every operation (get, list, create, update, delete)", () => {
    const missing: string[] = [];
    // "" is `match /databases/{database}/documents` itself, which holds no documents.
    for (const matchPath of [...[...rules.keys()].filter((m) => m !== ""), "(unmatched)"]) {
      for (const op of allOps) {
        if (!cases.some((c) => c.match === matchPath && c.op === op)) missing.push(`${matchPath} ${op}`);
      }
    }
    assert.deepEqual(missing, [], "firestore.rules has match paths/operations the evaluation below does not exercise");
    for (const c of cases) assert.ok(c.match === "(unmatched)" || rules.has(c.match), `case for a match path not in firestore.rules: ${describeCase(c)}`);
  });

  describe("evaluated by the official Firestore emulator (REST API, client tokens)", function () {
    this.timeout(60_000);
    let documentsUrl = "";

    before(async function () {
      const emulator = rulesEmulator();
      if (!emulator.rulesEvaluated) {
        console.log(
          `    [rules] NOT evaluated: Firestore here is ${emulator.description} (from ${emulator.from}), which cannot evaluate ` +
            "security rules; only the structural checks above ran. Run where the official Firestore emulator (Java) is available to evaluate them.",
        );
        this.skip();
      }
      const base = `http://${emulator.host}`;
      documentsUrl = `${base}/v1/projects/${rulesProjectId}/databases/(default)/documents`;
      const reachable = await fetch(base).catch((error: unknown) => error as Error);
      assert.ok(
        !(reachable instanceof Error),
        `the official Firestore emulator at ${emulator.host} (from ${emulator.from}) does not answer: ${String(reachable)}`,
      );

      // Start from an empty spec-private project, with this file's rules.
      const cleared = await fetch(`${base}/emulator/v1/projects/${rulesProjectId}/databases/(default)/documents`, { method: "DELETE" });
      assert.equal(cleared.status, 200, `clearing ${rulesProjectId}: ${await cleared.text()}`);
      const loaded = await fetch(`${base}/emulator/v1/projects/${rulesProjectId}:securityRules`, {
        method: "PUT",
        body: JSON.stringify({ rules: { files: [{ name: "security.rules", content: source }] } }),
      });
      const loadedText = await loaded.text();
      assert.equal(loaded.status, 200, `loading firestore.rules: ${loadedText}`);
      const issues = ((JSON.parse(loadedText) as { issues?: { severity: string; description: string }[] }).issues ?? []).filter(
        (issue) => issue.severity === "ERROR",
      );
      assert.deepEqual(issues, [], "firestore.rules does not compile");

      // Seed as the emulator's rules-bypassing owner.
      for (const [docPath, fields] of Object.entries(seed)) {
        const seeded = await fetch(`${documentsUrl}/${docPath}`, {
          method: "PATCH",
          headers: { authorization: "Bearer owner" },
          body: JSON.stringify({ fields: toFields(fields) }),
        });
        assert.equal(seeded.status, 200, `seeding ${docPath}: ${await seeded.text()}`);
      }
    });

    function headersFor(as: As): Record<string, string> {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (as !== undefined) headers.authorization = `Bearer ${unsignedIdToken(as)}`;
      return headers;
    }

    /** Sends the case's request as its client; the status and the parsed body. */
    async function send(c: Case): Promise<{ status: number; body: unknown }> {
      const headers = headersFor(c.as);
      let response: Response;
      if (c.query) {
        const parent = c.query.parent ? `${documentsUrl}/${c.query.parent}` : documentsUrl;
        const structuredQuery = {
          from: [{ collectionId: c.query.collectionId, allDescendants: c.query.allDescendants ?? false }],
          ...(c.query.where ? { where: c.query.where } : {}),
        };
        response = await fetch(`${parent}:runQuery`, { method: "POST", headers, body: JSON.stringify({ structuredQuery }) });
      } else if (c.op === "get" || c.op === "list") {
        response = await fetch(`${documentsUrl}/${c.path}`, { headers });
      } else if (c.op === "delete") {
        // A precondition so a delete of a missing document cannot pass for a denial or a success.
        response = await fetch(`${documentsUrl}/${c.path}?currentDocument.exists=true`, { method: "DELETE", headers });
      } else {
        // create: the document must not exist; update: it must, and only the given fields change.
        const fields = c.fields ?? {};
        const mask = Object.keys(fields).map((f) => `updateMask.fieldPaths=${encodeURIComponent(f)}`);
        const query = [`currentDocument.exists=${c.op === "update"}`, ...(c.op === "update" ? mask : [])].join("&");
        response = await fetch(`${documentsUrl}/${c.path}?${query}`, { method: "PATCH", headers, body: JSON.stringify({ fields: toFields(fields) }) });
      }
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status: response.status, body };
    }

    /** The ids of the documents an allowed get/list/query answered with. */
    function returnedIds(c: Case, body: unknown): string[] {
      if (c.query) return (body as { document?: { name: string } }[]).filter((r) => r.document).map((r) => lastSegment(r.document!.name));
      if (c.op === "list") return ((body as { documents?: { name: string }[] }).documents ?? []).map((d) => lastSegment(d.name));
      return [lastSegment((body as { name: string }).name)];
    }

    for (const c of cases) {
      it(describeCase(c), async () => {
        const label = describeCase(c);
        const { status, body } = await send(c);
        const detail = `${label}: HTTP ${status} ${JSON.stringify(body).slice(0, 400)}`;
        if (c.allowed) {
          assert.equal(status, 200, `expected allowed; ${detail}`);
          if (c.returns) assert.deepEqual(returnedIds(c, body).sort(), [...c.returns].sort(), `returned documents; ${detail}`);
        } else {
          assert.equal(status, 403, `expected denied (403 PERMISSION_DENIED); ${detail}`);
          const error = (body as { error?: { status?: string; message?: string } }).error;
          assert.equal(error?.status, "PERMISSION_DENIED", `expected denied by the rules; ${detail}`);
          // The emulator names the operation it evaluated: proves e.g. an "update" was judged as one.
          const message = error?.message ?? "";
          assert.ok(
            c.match === "(unmatched)"
              ? /No matching allow statements/.test(message)
              : message.includes(`for '${c.op}'`) || /No matching allow statements/.test(message),
            `expected the rules to judge a '${c.op}'${c.match === "(unmatched)" ? " with no matching allow statement" : ""}; ${detail}`,
          );
        }
      });
    }

    it("left every seeded document as seeded and created none of the denied ones", async () => {
      const owner = { authorization: "Bearer owner" };
      for (const [docPath, fields] of Object.entries(seed)) {
        const response = await fetch(`${documentsUrl}/${docPath}`, { headers: owner });
        const text = await response.text();
        assert.equal(response.status, 200, `owner GET ${docPath} after the denied writes: ${text}`);
        assert.deepEqual(
          fromFields((JSON.parse(text) as { fields?: Record<string, unknown> }).fields ?? {}),
          fields,
          `owner GET ${docPath}: changed by a denied write`,
        );
      }
      for (const c of cases.filter((k) => k.op === "create")) {
        const response = await fetch(`${documentsUrl}/${c.path}`, { headers: owner });
        await response.text();
        assert.equal(response.status, 404, `owner GET ${c.path}: created by a denied write (${describeCase(c)})`);
      }
    });
  });
});
