/**
 * Draws a `cacheStats` answer (functions/src/telemetry/fleet-view.ts) as four sections: freshness
 * per scope family against the 2 s promise, hit rate per cache, reads and dollars per
 * function, and the live instances with their snapshot ages. Plain DOM and inline SVG.
 */
import type { CacheTotals, FleetView, FunctionSpend } from "../../functions/src/telemetry/fleet-view";
import type { FreshnessSummary } from "../../functions/src/telemetry/freshness";

type Child = Node | string;

/** An element with attributes (`class`, `data-*`, ...) and children. */
function el(tag: string, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

const svgNs = "http://www.w3.org/2000/svg";

function svg(tag: string, attributes: Record<string, string | number>, ...children: Node[]): SVGElement {
  const element = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

const count = (n: number) => n.toLocaleString("en-US");
const percent = (ratio: number) => `${(ratio * 100).toFixed(ratio === 0 || ratio === 1 ? 0 : 1)}%`;
const ms = (value: number | null) => (value === null ? "–" : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${count(value)} ms`);
const seconds = (valueMs: number) => `${(valueMs / 1000).toFixed(valueMs % 1000 === 0 || valueMs >= 10_000 ? 0 : 1)} s`;

/** Dollars with enough digits to tell small amounts apart. */
function usd(amount: number): string {
  if (amount === 0) return "$0";
  if (amount >= 100) return `$${amount.toFixed(0)}`;
  if (amount >= 1) return `$${amount.toFixed(2)}`;
  return `$${amount.toPrecision(2)}`;
}

/** A horizontal bar of `ratio` (0..1) of its track. */
function bar(ratio: number, className: string, label: string): SVGElement {
  const width = Math.max(0, Math.min(1, ratio)) * 100;
  return svg(
    "svg",
    { class: `bar ${className}`, viewBox: "0 0 100 10", preserveAspectRatio: "none", role: "img", "aria-label": label },
    svg("rect", { class: "track", x: 0, y: 0, width: 100, height: 10 }),
    svg("rect", { class: "fill", x: 0, y: 0, width, height: 10 }),
  );
}

/** A column heading; `num` ones are right-aligned, as their cells. */
type Heading = string | { num: string };

function table(headings: Heading[], rows: HTMLElement[], empty: string): HTMLElement {
  if (rows.length === 0) return el("p", { class: "empty" }, empty);
  const th = (h: Heading) => (typeof h === "string" ? el("th", {}, h) : el("th", { class: "num" }, h.num));
  return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, ...headings.map(th))), el("tbody", {}, ...rows)));
}

const cell = (content: Child, className = "") => el("td", className ? { class: className } : {}, content);
const num = (content: Child) => cell(content, "num");

// ---------------------------------------------------------------------------------------
// Freshness

/** Freshness spans milliseconds to seconds: a log scale from 1 ms shows both next to the promise. */
const logScale = (scaleMs: number) => (valueMs: number) => (Math.log10(Math.max(1, Math.min(valueMs, scaleMs))) / Math.log10(scaleMs)) * 300;

/**
 * p50, p99 and max of one family on a shared log scale, with the promise as a line: the part
 * of the scale past the promise is shaded, so a late family shows at a glance.
 */
function freshnessChart(summary: FreshnessSummary, promiseMs: number, scaleMs: number): SVGElement {
  const x = logScale(scaleMs);
  const late = summary.overPromise > 0;
  const decades = [10, 100, 1000, 10_000, 100_000].filter((tick) => tick < scaleMs);
  const parts: Node[] = [
    svg("rect", { class: "late-zone", x: x(promiseMs), y: 0, width: 300 - x(promiseMs), height: 24 }),
    ...decades.map((tick) => svg("line", { class: "tick", x1: x(tick), x2: x(tick), y1: 2, y2: 22 })),
    svg("rect", { class: "track", x: 0, y: 8, width: 300, height: 8 }),
  ];
  if (summary.p99Ms !== null) parts.push(svg("rect", { class: `p99${late ? " late" : ""}`, x: 0, y: 8, width: x(summary.p99Ms), height: 8 }));
  if (summary.p50Ms !== null) parts.push(svg("rect", { class: "p50", x: 0, y: 8, width: x(summary.p50Ms), height: 8 }));
  if (summary.maxMs !== null) parts.push(svg("line", { class: "max", x1: x(summary.maxMs), x2: x(summary.maxMs), y1: 4, y2: 20 }));
  parts.push(svg("line", { class: "promise", x1: x(promiseMs), x2: x(promiseMs), y1: 0, y2: 24 }));
  return svg(
    "svg",
    {
      class: "freshness-chart",
      viewBox: "0 0 300 24",
      preserveAspectRatio: "none",
      role: "img",
      "aria-label": `p50 ${ms(summary.p50Ms)}, p99 ${ms(summary.p99Ms)}, max ${ms(summary.maxMs)}; promise ${ms(promiseMs)}`,
    },
    ...parts,
  );
}

function freshnessSection(view: FleetView): HTMLElement {
  const { promiseMs, verdict, byFamily, overall, clockSkew, measuredAs } = view.freshness;
  const families = Object.entries(byFamily);
  // At least a little past the promise, so the promise line never sits at the edge.
  const scaleMs = Math.max(promiseMs * 1.5, ...families.map(([, s]) => s.maxMs ?? 0));
  const row = (name: string, summary: FreshnessSummary, attributes: Record<string, string>) =>
    el(
      "tr",
      attributes,
      cell(name, "name"),
      num(count(summary.samples)),
      cell(freshnessChart(summary, promiseMs, scaleMs), "chart"),
      num(ms(summary.p50Ms)),
      num(ms(summary.p99Ms)),
      num(ms(summary.maxMs)),
      num(el("span", { class: summary.overPromise > 0 ? "text-bad" : "" }, count(summary.overPromise))),
    );
  const rows = families.map(([family, summary]) => row(family, summary, { "data-family": family }));
  if (families.length > 1) rows.push(row("all families", overall, { class: "total" }));
  const verdictClass = verdict === "kept" ? "good" : verdict === "missed" ? "bad" : "neutral";
  return el(
    "section",
    { id: "freshness" },
    el("h2", {}, `Freshness against the ${seconds(promiseMs)} promise `, el("span", { class: `verdict ${verdictClass}`, id: "verdict" }, verdict)),
    el(
      "p",
      { class: "note" },
      `From a marker write to each instance's first answer from the new version, per scope family. `,
      el("span", { class: "key p50" }, "p50"),
      " ",
      el("span", { class: "key p99" }, "p99"),
      " ",
      el("span", { class: "key max" }, "max"),
      " ",
      el("span", { class: "key promise" }, `promise ${seconds(promiseMs)}`),
      ` · instance clocks vs Redis: max offset ${clockSkew.maxAbsOffsetMs === null ? "–" : `${clockSkew.maxAbsOffsetMs} ms`} over ${clockSkew.instancesMeasured} instances`,
    ),
    table(
      [
        "family",
        { num: "samples" },
        `1 ms – ${seconds(scaleMs)}, log scale (lines at 10 ms, 100 ms, 1 s)`,
        { num: "p50" },
        { num: "p99" },
        { num: "max" },
        { num: `over ${seconds(promiseMs)}` },
      ],
      rows,
      "No change measured yet: a family appears once an instance has seen one of its markers change and published its next snapshot.",
    ),
    el("details", {}, el("summary", {}, "How a sample is measured"), el("p", { class: "note" }, measuredAs)),
  );
}

// ---------------------------------------------------------------------------------------
// Caches

function cachesSection(caches: Record<string, CacheTotals>): HTMLElement {
  const rows = Object.entries(caches)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) =>
      el(
        "tr",
        { "data-cache": name },
        cell(
          el("span", {}, name, c.securitySensitive ? el("span", { class: "tag", title: "fails closed while markers cannot be read" }, "fail-closed") : ""),
          "name",
        ),
        cell(bar(c.hitRate, "hit-rate", `hit rate ${percent(c.hitRate)}`), "chart"),
        num(percent(c.hitRate)),
        num(count(c.hits)),
        num(count(c.hits + c.misses)),
        num(count(c.entries)),
        num(count(c.fetches)),
        num(count(c.instances)),
      ),
    );
  return el(
    "section",
    { id: "caches" },
    el("h2", {}, "Hit rate per cache"),
    table(
      ["cache", "hit rate", { num: "" }, { num: "hits" }, { num: "lookups" }, { num: "entries" }, { num: "fetches" }, { num: "instances" }],
      rows,
      "No cache has published figures yet.",
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Spend

function spendSection(spend: FleetView["spend"]): HTMLElement {
  const functions = Object.entries(spend.byFunction).sort(([, a], [, b]) => b.estimatedUsdPerDay.total - a.estimatedUsdPerDay.total || b.reads - a.reads);
  const mostUsd = Math.max(0, ...functions.map(([, f]) => f.estimatedUsdPerDay.total));
  // Its requests' commands and its instances' own (marker polls, publishes), by purpose on hover.
  const redisCommandsOf = (f: FunctionSpend) => {
    const byPurpose = [
      ...Object.entries(f.redisCommandsByPurpose),
      ...Object.entries(f.instanceWork.redisCommandsByPurpose).map(([p, n]) => [`${p} (instance)`, n] as const),
    ];
    return el("span", { title: byPurpose.map(([p, n]) => `${p} ${n}`).join(", ") || "none" }, count(f.redisCommands + f.instanceWork.redisCommands));
  };
  const row = ([name, f]: [string, FunctionSpend]) =>
    el(
      "tr",
      { "data-function": name },
      cell(name, "name"),
      num(count(f.requests)),
      num(count(f.reads)),
      num(f.readsPerRequest.toFixed(2)),
      num(count(f.notFoundReads)),
      num(count(f.writes)),
      num(redisCommandsOf(f)),
      num(count(f.cacheHits)),
      num(count(f.readsSaved)),
      cell(bar(mostUsd === 0 ? 0 : f.estimatedUsdPerDay.total / mostUsd, "usd", `${usd(f.estimatedUsdPerDay.total)} a day`), "chart"),
      num(el("span", { class: "usd" }, usd(f.estimatedUsdPerDay.total))),
    );
  return el(
    "section",
    { id: "spend" },
    el("h2", {}, "Reads and dollars per function ", el("span", { class: "total-usd", id: "total-usd" }, `${usd(spend.estimatedUsdPerDay)} a day`)),
    el(
      "p",
      { class: "note" },
      `Firestore reads and writes and Redis commands counted by each live instance since it started; $ a day at the rate of its last ` +
        `minutes (between its snapshots, else over its uptime), at list prices: reads ${usd(spend.prices.firestoreReadUsdPer100k)}, ` +
        `writes ${usd(spend.prices.firestoreWriteUsdPer100k)} and Redis ${usd(spend.prices.redisUsdPer100kCommands)} per 100,000.`,
    ),
    table(
      [
        "function",
        { num: "requests" },
        { num: "reads" },
        { num: "reads / req" },
        { num: "not found" },
        { num: "writes" },
        { num: "Redis cmds" },
        { num: "cache hits" },
        { num: "reads saved" },
        "$ / day",
        { num: "" },
      ],
      functions.map(row),
      "No function has published usage yet.",
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Instances

function instancesSection(view: FleetView): HTMLElement {
  const { liveWindowMs, publishIntervalMs } = view.fleet;
  const rows = view.instances.map((i) =>
    el(
      "tr",
      { "data-instance": i.instance },
      cell(i.function, "name"),
      cell(el("code", {}, i.instance)),
      cell(ageChart(i.snapshotAgeMs, publishIntervalMs, liveWindowMs), "chart"),
      num(seconds(i.snapshotAgeMs)),
      num(seconds(i.uptimeMs)),
      num(count(i.lookups)),
      num(percent(i.hitRate)),
      num(count(i.changesMeasured)),
      cell(el("span", { class: i.markersHealthy ? "text-good" : "text-bad" }, i.markersHealthy ? "healthy" : "unreadable")),
    ),
  );
  return el(
    "section",
    { id: "instances" },
    el("h2", {}, `Live instances: ${view.fleet.liveInstances} serving ${view.fleet.functions} functions`),
    el(
      "p",
      { class: "note" },
      `Each instance publishes its figures at most once every ${seconds(publishIntervalMs)} (the line on the age bar); ` +
        `one whose last snapshot is older than ${seconds(liveWindowMs)} is gone.`,
    ),
    table(
      ["function", "instance", "snapshot age", { num: "" }, { num: "uptime" }, { num: "lookups" }, { num: "hit rate" }, { num: "changes measured" }, "markers"],
      rows,
      "No live instance.",
    ),
  );
}

function ageChart(ageMs: number, publishIntervalMs: number, liveWindowMs: number): SVGElement {
  const x = (valueMs: number) => (Math.min(valueMs, liveWindowMs) / liveWindowMs) * 100;
  return svg(
    "svg",
    { class: "bar age", viewBox: "0 0 100 10", preserveAspectRatio: "none", role: "img", "aria-label": `snapshot ${seconds(ageMs)} old` },
    svg("rect", { class: "track", x: 0, y: 0, width: 100, height: 10 }),
    svg("rect", { class: `fill${ageMs > publishIntervalMs * 1.5 ? " stale" : ""}`, x: 0, y: 0, width: x(ageMs), height: 10 }),
    svg("line", { class: "interval", x1: x(publishIntervalMs), x2: x(publishIntervalMs), y1: 0, y2: 10 }),
  );
}

/** The whole view of one `cacheStats` answer. */
export function fleetSections(view: FleetView): HTMLElement[] {
  return [freshnessSection(view), cachesSection(view.caches), spendSection(view.spend), instancesSection(view)];
}
