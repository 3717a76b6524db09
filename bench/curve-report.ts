/**
 * The load curve's outputs (`npm run bench:curve`, bench/curve.ts): the conditions it fails on,
 * the markdown table (bench/results/curve.md) and the hand-written log-log SVG of the cost of
 * 1M requests against requests/s per instance (bench/results/curve.svg).
 */
import type { LowLoadResult, Percentiles, TriggerFigures } from "./figures";
import type { FloorFigures } from "./floor";
import { escapeXml, fmtS } from "./format";
import { goals, triggerProblems } from "./goals";
import { CostPerMillion, listPrices } from "./pricing";
import type { FunctionCost } from "./function-usage";
import { computeModelText } from "./whole-bill";

/** One policy at one rate: the measured phase, priced, and the floor of its calls. */
export interface CurvePoint {
  policy: string;
  ratePerInstance: number;
  result: LowLoadResult;
  /** The fewest reads these calls could cost (bench/floor.ts), priced with the writes they made and no Redis. */
  floor: { reads: FloorFigures["reads"]; perRequest: number; costPerMillionUsd: CostPerMillion };
  /** Each function's whole bill per 1M of its requests (bench/function-usage.ts: the instances' meter, and its compute). */
  byFunction: Record<string, FunctionCost>;
}

/** One policy through every point of the curve. */
export interface CurvePolicyRun {
  policy: string;
  points: CurvePoint[];
  /** The warm-ups' answers (not priced, still checked). */
  warmUp: { wrongAnswers: number; violations: number; errors: number };
  triggers: TriggerFigures;
  examples: string[];
  simulatedSeconds: number;
  wallMs: number;
}

interface CurveReportContext {
  cfg: { instances: number; tickMs: number; pollIntervalMs: number; triggerDelayMs: number; freshnessBoundMs: number; liveSessions: number };
  curve: { ratesPerInstance: number[]; warmUpSeconds: number; initialWarmUp: { seconds: number; ratePerInstance: number } };
  environment: { firestore: string; functions: string; node: string };
  wallMs: number;
}

/**
 * Issue 28's cost goals for ours at the curve's points (Firestore + Redis per 1M requests),
 * shown beside the conditions, not failed on.
 */
export const curveCostGoalsUsd: Readonly<Record<number, number>> = { 0.5: 1.6, 1: 1.2, 10: 0.25 };

/**
 * The goals' verdicts: ours against `curveCostGoalsUsd` where the curve ran those points, and
 * ours ≤ none for every function at every point both ran (by the Firestore + Redis cost of 1M
 * of its requests), naming each (point, function) where ours costs more.
 */
export function curveGoalLines(runs: readonly CurvePolicyRun[]): string[] {
  const ours = runs.find((r) => r.policy === "ours");
  const none = runs.find((r) => r.policy === "none");
  if (!ours) return [];
  const lines: string[] = [];
  for (const [rate, goalUsd] of Object.entries(curveCostGoalsUsd).sort(([a], [b]) => Number(a) - Number(b))) {
    const point = ours.points.find((p) => p.ratePerInstance === Number(rate));
    if (!point) continue;
    const cost = point.result.costPerMillionUsd.total;
    lines.push(
      `- ${rate} req/s per instance: ours ${fmtUsd(cost)} per 1M on Firestore + Redis, goal ≤ ${fmtUsd(goalUsd)}: ${cost <= goalUsd ? "met" : "**not met**"}`,
    );
  }
  if (none) {
    const dearer: string[] = [];
    let compared = 0;
    for (const point of ours.points) {
      const base = none.points.find((p) => p.ratePerInstance === point.ratePerInstance);
      if (!base) continue;
      for (const [name, cost] of Object.entries(point.byFunction)) {
        const baseCost = base.byFunction[name];
        if (!baseCost || cost.requests === 0 || baseCost.requests === 0) continue;
        compared++;
        const [o, n] = [cost.costPerMillionUsd.total, baseCost.costPerMillionUsd.total];
        if (o > n) dearer.push(`${name} at ${point.ratePerInstance} req/s (${fmtUsd(o)} vs ${fmtUsd(n)}; ${cost.requests} requests)`);
      }
    }
    lines.push(
      `- ours ≤ none for every function at every point (Firestore + Redis per 1M of its requests): ${dearer.length === 0 ? "met" : `**not met** at ${dearer.length} of ${compared}: ${dearer.join("; ")}`}`,
    );
  }
  return lines;
}

const fmtUsd = (n: number) => `$${n >= 10 ? n.toFixed(2) : n >= 0.1 ? n.toFixed(3) : n.toFixed(4)}`;
const fmtPct = (p: Percentiles) => `${fmtS(p.p50Ms)} / ${fmtS(p.p99Ms)} / ${fmtS(p.maxMs)}`;
const fmtRate = (rate: number) => `${rate}`;

/**
 * Why the curve fails (empty: it passed): at any point, ours not cheaper than the reference,
 * a wrong answer or error of ours, an answer of ours staler than its bound (a callable-driven
 * change old beyond `goals.maxCallableStalenessMs` after its commit: one poll interval and the
 * tick; any change old beyond the contract's 2 s after its marker write), a change never fresh
 * everywhere; and for every policy, held triggers that misbehaved (the measurement is unsound).
 */
export function curveFailures(runs: readonly CurvePolicyRun[]): string[] {
  const failures: string[] = [];
  const ours = runs.find((r) => r.policy === "ours");
  const reference = runs.find((r) => r.policy === "reference");
  for (const run of runs) {
    const problems = triggerProblems(run.triggers);
    if (problems.length > 0) failures.push(`held triggers (${run.policy}): ${problems.join("; ")}`);
  }
  if (!ours) return [...failures, "ours did not run: nothing checked"];
  if (!reference) failures.push("the reference did not run: ours cannot be shown cheaper");
  const { warmUp } = ours;
  if (warmUp.wrongAnswers + warmUp.violations + warmUp.errors > 0)
    failures.push(`ours in the warm-ups: ${warmUp.wrongAnswers} wrong answers, ${warmUp.violations} beyond the bound, ${warmUp.errors} errors`);
  for (const point of ours.points) {
    const at = `at ${point.ratePerInstance} req/s per instance`;
    const r = point.result;
    const other = reference?.points.find((p) => p.ratePerInstance === point.ratePerInstance);
    if (reference && !other) failures.push(`${at}: no reference point`);
    if (other && !(r.costPerMillionUsd.total < other.result.costPerMillionUsd.total))
      failures.push(`${at}: ours costs ${fmtUsd(r.costPerMillionUsd.total)} per 1M, the reference ${fmtUsd(other.result.costPerMillionUsd.total)}`);
    if (r.wrongAnswers > 0) failures.push(`${at}: ${r.wrongAnswers} wrong answers (${JSON.stringify(r.wrongAnswersByKind)})`);
    if (r.errors > 0) failures.push(`${at}: ${r.errors} errors`);
    if (r.violations > 0) failures.push(`${at}: ${r.violations} answers more than ${goals.freshnessMs} ms after a marker write`);
    const callableMaxMs = r.freshness.byPath.callable.fromCommit.maxMs;
    if (callableMaxMs > goals.maxCallableStalenessMs)
      failures.push(`${at}: a callable-driven change served old ${fmtS(callableMaxMs)} s after its commit (bound ${fmtS(goals.maxCallableStalenessMs)} s)`);
    if (r.freshness.timedOut > 0) failures.push(`${at}: ${r.freshness.timedOut} changes never fresh on every instance`);
  }
  return failures;
}

/** The markdown table: one row per rate and policy. */
export function renderCurveTable(runs: readonly CurvePolicyRun[], context: CurveReportContext, failures: readonly string[]): string {
  const { cfg, curve, environment } = context;
  const lines: string[] = [];
  lines.push(
    `Load curve (\`npm run bench:curve\`): ${runs.map((r) => r.policy).join(", ")} at ${curve.ratesPerInstance.join(", ")} requests/s per instance, ` +
      `${cfg.instances} instances. Requests arrive at random (a Poisson number per instance per ${cfg.tickMs} ms tick), drawn from the bench mix ` +
      `(getAvailableApps : getMentorNotificationFrequency : recordTranscriptionUsage = 60 : 60 : 1) of the bench's ${cfg.liveSessions} live sessions; ` +
      `changes at seeded random times (14 to 24 s apart), each trigger delivered ${cfg.triggerDelayMs / 1000} s after its commit; marker poll ${cfg.pollIntervalMs} ms. ` +
      `Per policy: ${curve.initialWarmUp.seconds} s at ${curve.initialWarmUp.ratePerInstance} requests/s per instance first, then per point ${curve.warmUpSeconds} s at its rate, neither counted. ` +
      `Wall time of this run: ${(context.wallMs / 60_000).toFixed(1)} min.`,
  );
  lines.push("");
  lines.push(`Stack: ${environment.firestore}; ${environment.functions}; Node ${environment.node}.`);
  lines.push("");
  lines.push(
    "| req/s per instance | policy | simulated s, requests | reads / request | writes / request | Redis / request (coherence / credits / enrichment / other) | cost of 1M requests: reads + writes + Redis = total | floor: reads / request, cost of 1M | callable-driven: old after the commit, p50 / p99 / max (s) | made elsewhere: old after the marker write, p50 / p99 / max (s) | answers > 2 s after the marker write / wrong / errors | the whole bill of 1M requests: Firestore + Redis + invocations + compute = total (billed instance ms / request) |",
  );
  lines.push("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const rates = [...new Set(runs.flatMap((r) => r.points.map((p) => p.ratePerInstance)))].sort((a, b) => a - b);
  for (const rate of rates) {
    for (const run of runs) {
      const point = run.points.find((p) => p.ratePerInstance === rate);
      if (!point) continue;
      const r = point.result;
      const by = r.redis.perRequestByPurpose;
      const c = r.costPerMillionUsd;
      const w = r.wholeBillPerMillionUsd;
      const bold = run.policy === "ours" ? (s: string) => `**${s}**` : (s: string) => s;
      lines.push(
        `| ${fmtRate(rate)} | ${run.policy} | ${r.simulatedSeconds}, ${r.requests.toLocaleString("en-US")} | ${r.reads.perRequest.toFixed(3)} | ${r.writes.perRequest.toFixed(4)} | ` +
          `${r.redis.perRequest.toFixed(3)} (${by.coherence.toFixed(3)} / ${by.credits.toFixed(3)} / ${by.enrichment.toFixed(3)} / ${by.other.toFixed(3)}) | ` +
          `${fmtUsd(c.reads)} + ${fmtUsd(c.writes)} + ${fmtUsd(c.redis)} = ${bold(fmtUsd(c.total))} | ${point.floor.perRequest.toFixed(3)}, ${fmtUsd(point.floor.costPerMillionUsd.total)} | ` +
          `${fmtPct(r.freshness.byPath.callable.fromCommit)} (${r.freshness.byPath.callable.changes}) | ${fmtPct(r.freshness.byPath.elsewhere.fromMarker)} (${r.freshness.byPath.elsewhere.changes}) | ` +
          `${r.violations} / ${r.wrongAnswers} / ${r.errors} | ` +
          `${fmtUsd(w.firestoreAndRedis)} + ${fmtUsd(w.invocations)} + ${fmtUsd(w.compute)} = ${bold(fmtUsd(w.total))} (${r.functions.perMillionUsd.billedMsPerRequest.toFixed(1)}) |`,
      );
    }
  }
  lines.push("");
  lines.push(
    "**Per function**: the whole bill of 1M requests of each function, Firestore + Redis + invocations + compute = total; Firestore and Redis as the instances' usage meter splits them " +
      "(their own Redis work, the marker polls, shared out by the polls each function's requests found due), invocations and compute on the function's own instances; then its billed instance ms and median handler ms per request, and its requests.",
  );
  lines.push("");
  const functionNames = [...new Set(runs.flatMap((r) => r.points.flatMap((p) => Object.keys(p.result.functions.byFunction))))].sort();
  lines.push(`| req/s per instance | policy | ${functionNames.join(" | ")} |`);
  lines.push(`|---:|---|${functionNames.map(() => "---:").join("|")}|`);
  for (const rate of rates) {
    for (const run of runs) {
      const point = run.points.find((p) => p.ratePerInstance === rate);
      if (!point) continue;
      const cells = functionNames.map((name) => {
        const bill = point.result.functions.byFunction[name];
        const cost = point.byFunction[name];
        if (!bill || !cost) return "–";
        const w = cost.wholeBillPerMillionUsd;
        return (
          `${fmtUsd(w.firestoreAndRedis)} + ${fmtUsd(w.invocations)} + ${fmtUsd(w.compute)} = ${fmtUsd(w.total)} ` +
          `(${bill.perMillionUsd.billedMsPerRequest.toFixed(1)} ms, p50 ${bill.handlerP50Ms.toFixed(1)} ms; ${bill.requests})`
        );
      });
      lines.push(`| ${fmtRate(rate)} | ${run.policy} | ${cells.join(" | ")} |`);
    }
  }
  lines.push("");
  lines.push(
    failures.length === 0
      ? "**Conditions: met.** Ours is cheaper than the reference at every point, with no wrong answer and no answer staler than the bound of its poll interval."
      : `**Conditions: NOT met** (the command exits 1): ${failures.join("; ")}.`,
  );
  lines.push("");
  const goalLines = curveGoalLines(runs);
  if (goalLines.length > 0) {
    lines.push("**Cost goals** (issue 28; shown, not failed on):", "", ...goalLines, "");
  }
  lines.push(
    `Cost at the list prices of \`npm run bench\` (${listPrices.asOf}): Firestore reads $${listPrices.firestoreReadsPer100k} and writes $${listPrices.firestoreWritesPer100k} per 100,000 (${listPrices.firestoreSource}), ` +
      `Upstash commands $${listPrices.upstashCommandsPer100k} per 100,000 (${listPrices.upstashSource}). The floor (bench/floor.ts) is the fewest reads these calls could cost ` +
      `(each key read once per instance, each changed document once more per instance), priced with the writes they made and no Redis. ` +
      `Staleness is on the instance clock at the resolution of a tick; the number of changes is in brackets. ` +
      `The bound of ours' poll interval: a callable-driven change old at most ${fmtS(goals.maxCallableStalenessMs)} s after its commit, any change at most ${fmtS(goals.freshnessMs)} s after its marker write. ` +
      `The reference's stale and wrong answers are what it measures (local TTLs, no fleet-wide credit figure). ` +
      computeModelText(),
  );
  return lines.join("\n");
}

const colors: Record<string, string> = { none: "#d62728", reference: "#ff7f0e", ours: "#2ca02c", floor: "#555555" };

/** Log-log chart: cost of 1M requests against requests/s per instance, one line per policy and the floor. */
export function renderCurveSvg(runs: readonly CurvePolicyRun[], context: CurveReportContext): string {
  const width = 760;
  const height = 480;
  const margin = { left: 78, right: 170, top: 48, bottom: 62 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const series: { name: string; dashed: boolean; points: [number, number][] }[] = runs.map((run) => ({
    name: run.policy,
    dashed: false,
    points: run.points.map((p) => [p.ratePerInstance, p.result.costPerMillionUsd.total]),
  }));
  // The floor of ours' calls (the same requests as every policy's, but for the probes).
  const floorRun = runs.find((r) => r.policy === "ours") ?? runs[0];
  if (floorRun) series.push({ name: "floor", dashed: true, points: floorRun.points.map((p) => [p.ratePerInstance, p.floor.costPerMillionUsd.total]) });
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => y > 0);
  const xMin = Math.pow(10, Math.floor(Math.log10(Math.min(...xs))));
  const xMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...xs))));
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.min(...ys))));
  const yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...ys))));
  const xAt = (x: number) => margin.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotW;
  const yAt = (y: number) => margin.top + plotH - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(
    `<text x="${margin.left}" y="24" font-size="15" font-weight="bold">${escapeXml("Cost of 1M requests against load per instance (log-log)")}</text>`,
    `<text x="${margin.left}" y="40" fill="#555">${escapeXml(`Firestore reads + writes + Upstash commands at list prices; ${context.cfg.instances} instances, marker poll ${context.cfg.pollIntervalMs} ms`)}</text>`,
  );
  // Grid and ticks: every decade labelled, 2 and 5 between them as light lines (labelled on x).
  for (let decade = xMin; decade <= xMax; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const x = decade * m;
      if (x > xMax) break;
      const px = xAt(x);
      out.push(`<line x1="${px.toFixed(1)}" y1="${margin.top}" x2="${px.toFixed(1)}" y2="${margin.top + plotH}" stroke="${m === 1 ? "#ccc" : "#eee"}"/>`);
      out.push(`<text x="${px.toFixed(1)}" y="${margin.top + plotH + 16}" text-anchor="middle">${x >= 1 ? x : x.toFixed(1)}</text>`);
    }
  }
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    const py = yAt(decade);
    out.push(`<line x1="${margin.left}" y1="${py.toFixed(1)}" x2="${margin.left + plotW}" y2="${py.toFixed(1)}" stroke="#ccc"/>`);
    const label = decade >= 1 ? `$${decade.toLocaleString("en-US")}` : `$${decade.toFixed(Math.max(0, -Math.floor(Math.log10(decade))))}`;
    out.push(`<text x="${margin.left - 6}" y="${(py + 4).toFixed(1)}" text-anchor="end">${label}</text>`);
    for (const m of [2, 5]) {
      if (decade * m >= yMax) break;
      const pm = yAt(decade * m);
      out.push(`<line x1="${margin.left}" y1="${pm.toFixed(1)}" x2="${margin.left + plotW}" y2="${pm.toFixed(1)}" stroke="#f0f0f0"/>`);
    }
  }
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${margin.left + plotW / 2}" y="${height - 18}" text-anchor="middle">requests/s per instance (log)</text>`);
  out.push(
    `<text x="18" y="${margin.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${margin.top + plotH / 2})">cost of 1M requests, USD (log)</text>`,
  );
  for (const s of series) {
    const color = colors[s.name] ?? "#1f77b4";
    const pts = s.points.filter(([, y]) => y > 0);
    const d = pts.map(([x, y], i) => `${i === 0 ? "M" : "L"}${xAt(x).toFixed(1)},${yAt(y).toFixed(1)}`).join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    for (const [x, y] of pts) out.push(`<circle cx="${xAt(x).toFixed(1)}" cy="${yAt(y).toFixed(1)}" r="3" fill="${color}"/>`);
  }
  const legendX = margin.left + plotW + 16;
  series.forEach((s, i) => {
    const y = margin.top + 14 + i * 22;
    const color = colors[s.name] ?? "#1f77b4";
    out.push(
      `<line x1="${legendX}" y1="${y - 4}" x2="${legendX + 24}" y2="${y - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
    );
    const label = s.name === "floor" ? "floor (fewest reads)" : s.name;
    out.push(`<text x="${legendX + 30}" y="${y}">${escapeXml(label)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
