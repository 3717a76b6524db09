/**
 * The operator dashboard (hosting/) in a real browser: the launcher's stack (isolated, as
 * `npm start` runs it, with the Hosting emulator serving the page), headless Debian chromium
 * driven by puppeteer-core. Bob (admin: true) signs in and sees what cacheStats answered the
 * page; Alice is refused. Saves a screenshot (.local/dashboard.png; docs/images/dashboard.png, the
 * one docs/operations.md shows, with `npm run screenshot:dashboard`).
 *
 * Slow: the stack starts in about 30 s, and the figures come from snapshots each instance
 * publishes at most once a minute (the production interval). A worker publishes its first
 * snapshot at its first marker poll after a lookup, without the marker changes that very poll
 * sees: so freshness samples reach cacheStats with the worker's next publish, a minute later.
 * The spec keeps a little traffic going until they do, as `npm run demo` does.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
// puppeteer-core is an ES module: its types imported as one, the module itself with import().
import type { Browser, HTTPResponse, Page } from "puppeteer-core" with { "resolution-mode": "import" };
import type { FleetView } from "../../functions/src/telemetry/fleet-view";
import { chromiumOrInstall } from "../../scripts/harness/chromium";
import { repoRoot } from "../../scripts/stack/emulator-config";
import { callCallable, SignedIn, signInWithPassword } from "../../scripts/stack/emulator-client";
import { demoPassword } from "../../scripts/stack/seed";
import { LocalStack, startLocalStack } from "../../scripts/stack/start";

/**
 * Every run saves its screenshot under .local/ (git-ignored), so `npm test` leaves the tree
 * clean; `npm run screenshot:dashboard` writes the one docs/operations.md shows.
 */
const screenshotFile = path.resolve(repoRoot, process.env.DASHBOARD_SCREENSHOT ?? path.join(".local", "dashboard.png"));
/** A little more than a publish interval, with the stack's start and traffic on 2 shared cores. */
const figuresTimeoutMs = 120_000;

type Row = { key: string; cells: string[] };

/** The rows of a dashboard table whose `<tr>` carry `data-<attribute>`, as their key and cell texts. */
function rows(page: Page, attribute: string): Promise<Row[]> {
  return page.$$eval(
    `tr[data-${attribute}]`,
    (elements, name) =>
      elements.map((tr) => ({
        key: tr.getAttribute(`data-${name}`) ?? "",
        // The spec's types have no DOM: what a cell is, as far as its text goes.
        cells: Array.from(tr.querySelectorAll("td"), (td: { textContent: string | null }) => (td.textContent ?? "").trim()),
      })),
    attribute,
  );
}

const text = (page: Page, selector: string) => page.$eval(selector, (element) => (element.textContent ?? "").trim());

describe("operator dashboard (Hosting emulator, headless chromium)", function () {
  this.timeout(300_000);
  let stack: LocalStack;
  let browser: Browser | undefined;
  const lines: string[] = [];

  before(async function () {
    const chromium = await chromiumOrInstall((line) => console.log(`      ${line}`));
    if ("missing" in chromium) {
      console.log(`      [dashboard] NOT RUN: ${chromium.missing}`);
      this.skip();
    }
    try {
      stack = await startLocalStack({ isolated: true, log: (line) => lines.push(line) });
    } catch (err) {
      console.error(lines.join("\n"));
      throw err;
    }
    // As root (CI, this machine), Chromium's sandbox cannot start: the page is our own.
    const { default: puppeteer } = await import("puppeteer-core");
    browser = await puppeteer.launch({ executablePath: chromium.path, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  });

  after(async function () {
    await browser?.close();
    await stack?.stop();
  });

  const dashboardUrl = () => {
    assert.ok(stack.dashboardUrl, "the stack serves the dashboard");
    return stack.dashboardUrl;
  };
  const signIn = (name: string) => signInWithPassword(stack.authEmulatorHost, `${name}@example.com`, demoPassword);
  const call = (name: string, data: unknown, as: SignedIn) => callCallable(stack.functionsBaseUrl, name, data, as.idToken);

  /** cacheStats through the Hosting rewrite, as the page reaches it. */
  async function cacheStats(as: SignedIn): Promise<FleetView> {
    const response = await fetch(new URL("/cacheStats", dashboardUrl()), { headers: { authorization: `Bearer ${as.idToken}` } });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as FleetView;
  }

  /** A fresh browser profile, the page opened and signed in as `name`, and the page's first cacheStats answer. */
  async function openSignedIn(name: string): Promise<{ page: Page; answer: Promise<HTTPResponse> }> {
    assert.ok(browser);
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(dashboardUrl(), { waitUntil: "networkidle0" });
    await page.waitForSelector("#sign-in:not([hidden])", { timeout: 15_000 }).catch((error: unknown) => {
      throw new Error(`no sign-in form (page errors: ${errors.join("; ") || "none"}; status: ${String(error)})`);
    });
    assert.match(await text(page, "#where"), /on the local emulators \(Auth at http:\/\/127\.0\.0\.1:\d+\)/, "the page found this stack's Auth emulator");
    await page.type("#sign-in input[name=email]", `${name}@example.com`);
    await page.type("#sign-in input[name=password]", demoPassword);
    const answer = page.waitForResponse((response) => new URL(response.url()).pathname === "/cacheStats", { timeout: 30_000 });
    await page.click("#sign-in button[type=submit]");
    return { page, answer };
  }

  it("is served by the Hosting emulator, which rewrites /cacheStats to the function", async () => {
    assert.ok(lines.some((line) => line.includes("building the dashboard")));
    const html = await fetch(dashboardUrl());
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<script type="module" src="dashboard\.js">/);
    const bundle = await fetch(new URL("/dashboard.js", dashboardUrl()));
    assert.equal(bundle.status, 200, "the launcher built the bundle into the served directory");
    const anonymous = await fetch(new URL("/cacheStats", dashboardUrl()));
    assert.equal(anonymous.status, 401, "the function itself answers, through the rewrite");
    assert.deepEqual(await anonymous.json(), { error: "missing ID token" });
  });

  it("refuses Alice, who is not an administrator", async () => {
    const { page, answer } = await openSignedIn("alice");
    assert.equal((await answer).status(), 403);
    await page.waitForSelector("#status.refused", { timeout: 30_000 });
    const refusal = await text(page, "#status");
    assert.match(refusal, /^Refused: alice@example\.com is not an administrator/);
    assert.match(refusal, /administrators only/, "the function's own reason");
    assert.equal(await page.$eval("#figures", (element) => element.childElementCount), 0, "no figures drawn");
    await page.browserContext().close();
  });

  it("shows Bob freshness per scope family against the 2 s promise, hit rate per cache, reads and dollars per function, and live instances", async () => {
    const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(signIn));
    assert.ok(alice && bob && carol);
    // Traffic on three functions, and marker changes two of them see: a tester flip (family
    // `tester`) and a mentor-frequency write (family `mentor`).
    const traffic = async () => {
      await call("getAvailableApps", {}, alice);
      await call("getMentorNotificationFrequency", {}, alice);
      await call("getCredits", {}, carol);
    };
    // Twice first: a quiet mentor instance reads Alice's document at its first call and polls for
    // its first stats publish at its second, which reads her marker; the write below then
    // changes a marker it follows.
    await traffic();
    await traffic();
    await call("removeTester", { uid: alice.uid }, bob);
    await call("setMentorNotificationFrequency", { frequency: 3 }, alice);
    await sleep(1_500);
    await traffic();
    await call("addTester", { uid: alice.uid, apps: ["bob-beta-voice", "alice-journal"] }, bob);
    await sleep(1_500);
    await traffic();

    const deadline = Date.now() + figuresTimeoutMs;
    let view = await cacheStats(bob);
    const ready = (v: FleetView) => Object.keys(v.freshness.byFamily).length >= 2 && Object.keys(v.spend.byFunction).length >= 3;
    while (!ready(view) && Date.now() < deadline) {
      await sleep(5_000);
      await traffic();
      view = await cacheStats(bob);
    }
    assert.ok(
      ready(view),
      `two families measured and three functions metered within ${figuresTimeoutMs} ms: ${JSON.stringify(view.freshness.byFamily)} ${Object.keys(view.spend.byFunction)}`,
    );

    const { page, answer } = await openSignedIn("bob");
    // What the page drew is checked against what cacheStats answered the page itself.
    assert.equal((await answer).status(), 200);
    const shown = (await (await answer).json()) as FleetView;
    await page.waitForSelector("#freshness", { timeout: 15_000 });
    assert.equal(await text(page, "#who"), "bob@example.com");

    // Freshness: the promise, the verdict, one row per family measured.
    assert.match(await text(page, "#freshness h2"), /^Freshness against the 2 s promise/);
    assert.equal(await text(page, "#verdict"), shown.freshness.verdict);
    const families = await rows(page, "family");
    assert.deepEqual(
      families.map((row) => row.key),
      Object.keys(shown.freshness.byFamily),
    );
    for (const family of ["tester", "mentor"])
      assert.ok(
        families.some((row) => row.key === family),
        `family ${family} shown`,
      );
    for (const row of families) assert.equal(row.cells[1], shown.freshness.byFamily[row.key]?.samples.toLocaleString("en-US"), `${row.key} samples`);

    // Hit rate per cache.
    const caches = await rows(page, "cache");
    assert.deepEqual(caches.map((row) => row.key).sort(), Object.keys(shown.caches).sort());
    for (const row of caches) {
      const totals = shown.caches[row.key];
      assert.ok(totals);
      assert.match(row.cells[2] ?? "", /^\d+(\.\d)?%$/, `${row.key} hit rate`);
      assert.equal(row.cells[4], (totals.hits + totals.misses).toLocaleString("en-US"), `${row.key} lookups`);
    }

    // Reads and dollars per function.
    const functions = await rows(page, "function");
    assert.deepEqual(functions.map((row) => row.key).sort(), Object.keys(shown.spend.byFunction).sort());
    for (const row of functions) {
      const spend = shown.spend.byFunction[row.key];
      assert.ok(spend);
      assert.equal(row.cells[2], spend.reads.toLocaleString("en-US"), `${row.key} reads`);
      assert.equal(row.cells[6], (spend.redisCommands + spend.instanceWork.redisCommands).toLocaleString("en-US"), `${row.key} Redis commands`);
      const usd = Number((row.cells[10] ?? "").replace(/^\$/, ""));
      assert.ok(
        Math.abs(usd - spend.estimatedUsdPerDay.total) <= spend.estimatedUsdPerDay.total * 0.05 + 0.005,
        `${row.key}: ${row.cells[10]} a day, answered ${spend.estimatedUsdPerDay.total}`,
      );
    }
    assert.ok(
      functions.some((row) => row.key === "getAvailableApps"),
      "getAvailableApps is metered",
    );

    // Live instances and their snapshot ages.
    const instances = await rows(page, "instance");
    assert.equal(instances.length, shown.instances.length);
    assert.ok(instances.length >= 3);
    for (const row of instances) {
      const line = shown.instances.find((i) => i.instance === row.key);
      assert.ok(line, `instance ${row.key} answered`);
      const ageS = Number((row.cells[3] ?? "").replace(/ s$/, ""));
      assert.ok(Math.abs(ageS * 1000 - line.snapshotAgeMs) <= 500, `${row.key}: snapshot age ${row.cells[3]}, answered ${line.snapshotAgeMs} ms`);
    }

    mkdirSync(path.dirname(screenshotFile), { recursive: true });
    await page.screenshot({ path: screenshotFile, fullPage: true });
    console.log(
      `      ${families.length} families (${families.map((row) => row.key).join(", ")}), ${caches.length} caches, ${functions.length} functions, ${instances.length} instances; screenshot ${path.relative(repoRoot, screenshotFile)}`,
    );
    await page.browserContext().close();
  });
});
