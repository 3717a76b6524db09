/**
 * The benchmark's outputs: the markdown table (stdout and bench/results/latest.md) and the
 * hand-written SVG chart of reads per simulated minute (bench/results/reads-per-minute.svg).
 */
import type { LowLoadResult, Percentiles, PolicyResult } from "./figures";
import { escapeXml, fmtInt, fmtMs, fmtRatio, fmtS, fmtUsd, mark } from "./format";
import { goals } from "./goals";
import { CostPerMillion, costCutVsReference, listPrices } from "./pricing";
import { computeModelText, WholeBillPerMillion } from "./whole-bill";

/** What the table's header and the chart say of the run: the fields of the bench config they read. */
export interface ReportConfig {
  instances: number;
  simulatedMinutes: number;
  liveSessions: number;
  tickMs: number;
  pollIntervalMs: number;
  changeGapMs: { min: number; max: number };
  triggerDelayMs: number;
  freshnessBoundMs: number;
  probeTimeoutMs: number;
  bucketMs: number;
  creditProbeShare: number;
  creditProbeMaxDelayMs: number;
  seed: { users: number; heavyUsers: number; publicApps: number; privateApps: number; unapprovedApps: number; testers: number };
}

/** What ran the functions and Firestore, one line each, for the table's header. */
export interface ReportEnvironment {
  firestore: string;
  functions: string;
  node: string;
}

export function renderTable(results: PolicyResult[], cfg: ReportConfig, environment?: ReportEnvironment): string {
  const none = results.find((r) => r.policy === "none");
  const ours = results.find((r) => r.policy === "ours");
  const cut = (r: PolicyResult) => (none && r !== none ? 1 - r.reads.perRequest / none.reads.perRequest : undefined);
  const row = (label: string, cell: (r: PolicyResult) => string, goal = "") => `| ${label} | ${results.map(cell).join(" | ")} | ${goal} |`;
  const lat = (name: string) => (r: PolicyResult) => {
    const l = r.latency[name];
    return l ? `${fmtMs(l.p50)} / ${fmtMs(l.p99)}` : "–";
  };
  const cost = (c: CostPerMillion) => `${fmtUsd(c.reads)} + ${fmtUsd(c.writes)} + ${fmtUsd(c.redis)} = ${fmtUsd(c.total)}`;
  const whole = (w: WholeBillPerMillion) => `${fmtUsd(w.firestoreAndRedis)} + ${fmtUsd(w.invocations)} + ${fmtUsd(w.compute)} = ${fmtUsd(w.total)}`;
  const byFunction = (r: PolicyResult) =>
    Object.entries(r.functions.byFunction)
      .map(([name, bill]) => {
        const storageUsd = r.byFunction[name]?.wholeBillPerMillionUsd.firestoreAndRedis ?? 0;
        const total = storageUsd + bill.perMillionUsd.total;
        return `${name} ${fmtUsd(storageUsd)} + ${fmtUsd(bill.perMillionUsd.total)} = ${fmtUsd(total)} (${fmtMs(bill.perMillionUsd.billedMsPerRequest)} ms, p50 ${fmtMs(bill.handlerP50Ms)} ms)`;
      })
      .join("; ");
  const low = (cell: (l: LowLoadResult) => string) => (r: PolicyResult) => (r.lowLoad ? cell(r.lowLoad) : "–");
  const oursCut = ours ? cut(ours) : undefined;
  const oursVsReference = ours ? costCutVsReference(results, ours) : undefined;
  const lowSeconds = results.find((r) => r.lowLoad)?.lowLoad?.simulatedSeconds;
  const stale = (p: Percentiles) => `${fmtS(p.p50Ms)} / ${fmtS(p.p99Ms)} / ${fmtS(p.maxMs)}`;
  const gapS = (ms: number) => String(ms / 1000);
  const lines = [
    `Workload: ${cfg.instances} instances (processes), ${cfg.seed.users} users (${cfg.seed.heavyUsers} with a usage document for every hour of the month), ` +
      `${cfg.liveSessions} live sessions, ${cfg.seed.publicApps} public + ${cfg.seed.privateApps} private + ${cfg.seed.unapprovedApps} unapproved apps, ` +
      `${cfg.seed.testers} testers; ${cfg.simulatedMinutes} simulated minutes per policy (tick ${cfg.tickMs} ms); changes at seeded random times ` +
      `(${gapS(cfg.changeGapMs.min)} to ${gapS(cfg.changeGapMs.max)} s apart), so each lands at a random phase of the marker poll (${cfg.pollIntervalMs} ms); ` +
      `every change's Firestore trigger delivered ${gapS(cfg.triggerDelayMs)} s after its commit; after ${Math.round(cfg.creditProbeShare * 100)}% of the reports, ` +
      `a getCredits on another instance 0 to ${gapS(cfg.creditProbeMaxDelayMs)} s later` +
      (lowSeconds === undefined ? "." : `; then ${lowSeconds} simulated s of low load (1 request/s per instance, with changes) on the same warm instances.`),
    ...(environment
      ? [
          "",
          `Stack: ${environment.firestore}; ${environment.functions}, its background triggers paused during the runs: each change's Firestore trigger is held back and delivered by the harness (the event Firestore sends for that change) to the trigger's export in an instance process of its own; ` +
            `reads and writes counted by the gRPC proxy in front of the emulator; Redis commands counted at the Upstash gateway as Upstash bills them; Node ${environment.node}.`,
        ]
      : []),
    "",
    `| figure | ${results.map((r) => r.policy).join(" | ")} | goal (ours) |`,
    `|---|${results.map(() => "---:").join("|")}|---|`,
    row(
      "requests served (workload + probes, of them getCredits after a report, + changes)",
      (r) =>
        `${fmtInt(r.requests.total)} (${fmtInt(r.requests.workload)} + ${fmtInt(r.requests.probes)} (${fmtInt(r.requests.creditProbes)}) + ${fmtInt(r.requests.changes)})`,
    ),
    row(
      "**cost of 1M requests on this mix: reads + writes + Redis = total**",
      (r) => cost(r.costPerMillionUsd),
      ours ? `≤ ${fmtUsd(goals.maxCostPerMillionUsd)}: ${mark(ours.costPerMillionUsd.total <= goals.maxCostPerMillionUsd)}` : "",
    ),
    row(
      "reference cost ÷ this cost",
      (r) => {
        const ratio = costCutVsReference(results, r);
        return ratio === undefined ? "–" : fmtRatio(ratio);
      },
      oursVsReference === undefined
        ? ours
          ? `≥ ${goals.minCostCutVsReference}×: not checked (no reference run)`
          : ""
        : `≥ ${goals.minCostCutVsReference}×: ${mark(oursVsReference >= goals.minCostCutVsReference)}`,
    ),
    row("**the whole bill of 1M requests: Firestore + Redis (above) + invocations + compute = total**", (r) => whole(r.wholeBillPerMillionUsd)),
    row(
      "compute: billed instance ms / request (busy intervals, each rounded up to 100 ms) vs handler ms / request; most requests in flight on an instance",
      (r) =>
        `${fmtMs(r.functions.perMillionUsd.billedMsPerRequest)} vs ${fmtMs(r.functions.all.handlerMs / Math.max(1, r.functions.all.requests))}; ${r.functions.all.maxInFlight}`,
    ),
    row(
      "per function, the whole bill of 1M of its requests: Firestore + Redis (the instances' meter, their own Redis work shared by the polls each function's requests found due) + invocations and compute = total (billed ms / request, handler p50)",
      (r) => byFunction(r),
    ),
    row("Firestore document reads (billed, counted by the proxy)", (r) => fmtInt(r.reads.total)),
    row("reads / request", (r) => r.reads.perRequest.toFixed(3)),
    row("Firestore document writes (billed: what commits applied, counted by the proxy)", (r) => fmtInt(r.writes.total)),
    row("writes / request", (r) => r.writes.perRequest.toFixed(4)),
    row(
      "usage reports: sent / repeated deliveries / repeats answered duplicate",
      (r) => `${fmtInt(r.reports.sent)} / ${fmtInt(r.reports.retries)} / ${fmtInt(r.reports.duplicateAnswers)}`,
    ),
    row(
      "basic-plan credit figures checked to the second (of them, a report's own answer; the figure from before a report < 2 s old)",
      (r) => `${fmtInt(r.reports.figuresChecked)} (${fmtInt(r.reports.ownReportFigures)}; ${fmtInt(r.reports.laggedFigures)})`,
    ),
    row(
      `getCredits on another instance 0–${gapS(cfg.creditProbeMaxDelayMs)} s after a report: sent / basic-plan figures / of them the figure from before the report / wrong`,
      (r) => `${fmtInt(r.creditProbes.sent)} / ${fmtInt(r.creditProbes.figures)} / ${fmtInt(r.creditProbes.lagged)} / ${fmtInt(r.creditProbes.wrong)}`,
    ),
    row("floor: fewest reads these calls could cost (bench/floor.ts)", (r) => `${fmtInt(r.floor.reads)} (${r.floor.perRequest.toFixed(3)} / request)`),
    row("reads ÷ floor", (r) => fmtRatio(r.floor.readsOverFloor), ours ? `ours / floor = ${fmtRatio(ours.floor.readsOverFloor)}` : ""),
    row(
      "reads per request cut vs none",
      (r) => (cut(r) === undefined ? "–" : `${(cut(r)! * 100).toFixed(2)}%`),
      oursCut === undefined ? "" : `≥ 95%: ${mark(oursCut >= goals.readCutVsNone)}`,
    ),
    row("Redis commands / request (all, as Upstash bills them)", (r) => r.redis.perRequest.toFixed(3)),
    row(
      "– for cache coherence (marker polls and bumps)",
      (r) => r.redis.perRequestByPurpose.coherence.toFixed(4),
      ours ? `≤ ${goals.coherenceCommandsPerRequest}: ${mark(ours.redis.perRequestByPurpose.coherence <= goals.coherenceCommandsPerRequest)}` : "",
    ),
    row("– for the fleet's credit figure (usage count and rebuild scripts)", (r) => r.redis.perRequestByPurpose.credits.toFixed(4)),
    row("– for enrichment (enabled apps, install counts)", (r) => r.redis.perRequestByPurpose.enrichment.toFixed(4)),
    row("– other (freemium threshold, stats publish)", (r) => r.redis.perRequestByPurpose.other.toFixed(4)),
    row("getAvailableApps p50 / p99 (ms)", lat("getAvailableApps")),
    row("getMentorNotificationFrequency p50 / p99 (ms)", lat("getMentorNotificationFrequency")),
    row("recordTranscriptionUsage p50 / p99 (ms)", lat("recordTranscriptionUsage")),
    row("getCredits (probes) p50 / p99 (ms)", lat("getCredits")),
    row(
      "changes during the run: callable-driven (callables, Stripe webhook) / made elsewhere (direct writes)",
      (r) => `${r.freshness.byPath.callable.changes} / ${r.freshness.byPath.elsewhere.changes}`,
    ),
    row(
      "**callable-driven: old state served after the commit, p50 / p99 / max (s, instance clock)**",
      (r) => stale(r.freshness.byPath.callable.fromCommit),
      ours
        ? `max ≤ ${fmtS(goals.maxCallableStalenessMs)} s and > 0: ${mark(ours.freshness.byPath.callable.fromCommit.maxMs <= goals.maxCallableStalenessMs && ours.freshness.byPath.callable.fromCommit.maxMs > 0)}`
        : "",
    ),
    row("callable-driven: new state served on every instance, after the commit, p50 / p99 / max (s)", (r) =>
      stale(r.freshness.byPath.callable.freshEverywhere),
    ),
    row(
      "**made elsewhere: old state served after the trigger's marker write, p50 / p99 / max (s)**",
      (r) => stale(r.freshness.byPath.elsewhere.fromMarker),
      ours ? `≤ ${fmtS(goals.freshnessMs)} s: ${mark(ours.freshness.byPath.elsewhere.fromMarker.maxMs <= goals.freshnessMs)}` : "",
    ),
    row(`made elsewhere: old state served after the commit (the ${gapS(cfg.triggerDelayMs)} s trigger delay included), p50 / p99 / max (s)`, (r) =>
      stale(r.freshness.byPath.elsewhere.fromCommit),
    ),
    row("made elsewhere: new state served on every instance, after the commit, p50 / p99 / max (s)", (r) =>
      stale(r.freshness.byPath.elsewhere.freshEverywhere),
    ),
    row(
      "answers older than the contract allows (> 2 s after the marker write: the commit, or the trigger for a change made elsewhere)",
      (r) => fmtInt(r.freshness.violations),
      ours ? `0: ${mark(ours.freshness.violations === 0)}` : "",
    ),
    row(
      `changes not fresh on every instance within ${cfg.probeTimeoutMs / 1000} s`,
      (r) => String(r.freshness.timedOut),
      ours ? `0: ${mark(ours.freshness.timedOut === 0)}` : "",
    ),
    row(
      `held triggers (both phases), delivered ${gapS(cfg.triggerDelayMs)} s after the commit: callable-driven ones that bumped nothing / made-elsewhere ones that bumped`,
      (r) =>
        `${r.triggers.callable.triggerBumpedNothing} of ${r.triggers.callable.changes} / ${r.triggers.elsewhere.triggerBumped} of ${r.triggers.elsewhere.changes}`,
      ours
        ? `all: ${mark(ours.triggers.callable.triggerBumpedNothing === ours.triggers.callable.changes && ours.triggers.elsewhere.triggerBumped === ours.triggers.elsewhere.changes)}`
        : "",
    ),
    row("wrong answers / errors", (r) => `${r.wrongAnswers} / ${r.errors}`, ours ? `0: ${mark(ours.wrongAnswers === 0 && ours.errors === 0)}` : ""),
    row("– wrong credit figures (not the fleet's within 2 s of a report) or repeats not answered duplicate", (r) => fmtInt(r.wrongAnswersByKind.credits ?? 0)),
    row(
      "**low load (1 request/s per instance): cost of 1M requests, reads + writes + Redis = total**",
      low((l) => cost(l.costPerMillionUsd)),
    ),
    row(
      "**low load: the whole bill of 1M requests, Firestore + Redis + invocations + compute = total**",
      low((l) => whole(l.wholeBillPerMillionUsd)),
    ),
    row(
      "low load: reads / request, writes / request, Redis commands / request (coherence / credits / enrichment / other)",
      low(
        (l) =>
          `${l.reads.perRequest.toFixed(3)}, ${l.writes.perRequest.toFixed(4)}, ${l.redis.perRequest.toFixed(3)} ` +
          `(${l.redis.perRequestByPurpose.coherence.toFixed(3)} / ${l.redis.perRequestByPurpose.credits.toFixed(3)} / ${l.redis.perRequestByPurpose.enrichment.toFixed(3)} / ${l.redis.perRequestByPurpose.other.toFixed(3)})`,
      ),
    ),
    row(
      "low load: changes (callable-driven / elsewhere); stale after the commit, max (s): callable-driven / elsewhere after its marker write",
      low(
        (l) =>
          `${l.freshness.byPath.callable.changes} / ${l.freshness.byPath.elsewhere.changes}; ` +
          `${fmtS(l.freshness.byPath.callable.fromCommit.maxMs)} / ${fmtS(l.freshness.byPath.elsewhere.fromMarker.maxMs)}`,
      ),
    ),
    row(
      "low load: requests (of them probes); stale beyond 2 s / wrong answers / errors",
      low((l) => `${fmtInt(l.requests)} (${fmtInt(l.probes)}); ${l.violations} / ${l.wrongAnswers} / ${l.errors}`),
      ours?.lowLoad ? `0: ${mark(ours.lowLoad.violations === 0 && ours.lowLoad.wrongAnswers === 0 && ours.lowLoad.errors === 0)}` : "",
    ),
    "",
    `Cost: Firestore document reads at $${listPrices.firestoreReadsPer100k} and writes at $${listPrices.firestoreWritesPer100k} per 100,000 (${listPrices.firestoreSource}; a delete is priced as a write) and Upstash commands at ` +
      `$${listPrices.upstashCommandsPer100k} per 100,000 (${listPrices.upstashSource}), list prices as of ${listPrices.asOf}. ` +
      `${computeModelText()} ` +
      `Writes are what each successful commit applied (one per document written, a field transform part of its write, a failed commit nothing), counted by the same proxy as reads. ` +
      `Redis commands are counted at the gateway as Upstash bills them (a pipeline of N commands is N, a script call is 1) and put to a purpose by their first key. ` +
      `Credits are checked to the second: a basic user's remaining seconds, on any instance, must be the limit less the seeded usage and every report, or the figure from before a report answered less than ${fmtS(cfg.freshnessBoundMs)} s earlier (instance clock); a report's own answer includes it; a repeated delivery (same reportId) must answer duplicate: true and count nothing. ` +
      `Staleness is measured on the instance clock from each change's commit, at the resolution of a tick (${cfg.tickMs} ms): a change's figure is the latest time any instance answered with its old state, less the commit (or less the marker write); ` +
      `"new state on every instance" is when the last instance first answered a probe with the new state, less the commit: the true window lies between the two. ` +
      `A callable-driven change is bumped by its callable right after the commit; its trigger, delivered later, must bump nothing. A change made elsewhere is bumped only by its trigger, and the contract's 2 s count from that marker write.`,
  ];
  return lines.join("\n");
}

const colors: Record<string, string> = { none: "#d62728", reference: "#ff7f0e", ours: "#2ca02c" };
const kindLabels: Record<string, string> = { addTester: "T+", removeTester: "T−", approveApp: "A", makePrivate: "P", setMentor: "M", stripeUpgrade: "$" };

/** A log-scale line chart of reads per simulated minute per policy, change events marked. */
export function renderSvg(results: PolicyResult[], cfg: ReportConfig): string {
  const width = 900;
  const height = 440;
  const left = 80;
  const right = 150;
  const top = 50;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const perMinute = 60_000 / cfg.bucketMs;
  const series = results.map((r) => ({ policy: r.policy, values: r.readsPerBucket.map((n) => n * perMinute) }));
  const maxValue = Math.max(10, ...series.flatMap((s) => s.values));
  const maxExp = Math.ceil(Math.log10(maxValue));
  const totalMs = cfg.simulatedMinutes * 60_000;
  const x = (ms: number) => left + (ms / totalMs) * plotW;
  const y = (v: number) => top + plotH - (Math.log10(Math.max(1, v)) / maxExp) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">Firestore document reads per simulated minute (log scale)</text>`);
  parts.push(
    `<text x="${left}" y="40" fill="#555">${escapeXml(`${cfg.instances} instances, ${cfg.liveSessions} live sessions, ${cfg.seed.users} users; ${cfg.bucketMs / 1000} s buckets; dashed lines: changes`)}</text>`,
  );
  // Grid and y axis (powers of ten).
  for (let e = 0; e <= maxExp; e++) {
    const yy = y(10 ** e);
    parts.push(`<line x1="${left}" y1="${yy.toFixed(1)}" x2="${left + plotW}" y2="${yy.toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 8}" y="${(yy + 4).toFixed(1)}" text-anchor="end" fill="#333">${fmtInt(10 ** e)}</text>`);
  }
  // x axis (minutes).
  for (let m = 0; m <= cfg.simulatedMinutes; m++) {
    const xx = x(m * 60_000);
    parts.push(`<line x1="${xx.toFixed(1)}" y1="${top + plotH}" x2="${xx.toFixed(1)}" y2="${top + plotH + 5}" stroke="#333"/>`);
    parts.push(`<text x="${xx.toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" fill="#333">${m}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${height - 18}" text-anchor="middle" fill="#333">simulated minutes (instance clock)</text>`);
  parts.push(`<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">reads / minute</text>`);
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  // Change events (the same schedule for every policy).
  const events = results[0]?.freshness.changes ?? [];
  for (const event of events) {
    const xx = x(event.atMs);
    parts.push(`<line x1="${xx.toFixed(1)}" y1="${top}" x2="${xx.toFixed(1)}" y2="${top + plotH}" stroke="#7f7f7f" stroke-dasharray="3,3"/>`);
    parts.push(`<text x="${xx.toFixed(1)}" y="${top + 12}" text-anchor="middle" font-size="10" fill="#555">${escapeXml(kindLabels[event.kind] ?? "?")}</text>`);
  }
  // Series.
  for (const s of series) {
    const points = s.values.map((v, i) => `${x((i + 1) * cfg.bucketMs).toFixed(1)},${y(v).toFixed(1)}`);
    const color = colors[s.policy] ?? "#1f77b4";
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(" ")}"/>`);
    for (const point of points) {
      const [px, py] = point.split(",");
      parts.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${color}"/>`);
    }
  }
  // Legend.
  series.forEach((s, i) => {
    const ly = top + 20 + i * 20;
    const color = colors[s.policy] ?? "#1f77b4";
    parts.push(`<line x1="${left + plotW + 15}" y1="${ly}" x2="${left + plotW + 40}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${left + plotW + 46}" y="${ly + 4}">${escapeXml(s.policy)}</text>`);
  });
  const legendY = top + 20 + series.length * 20 + 10;
  const legend = ["T+ tester added", "T− tester removed", "A app approved", "P app made private", "M mentor setting", "$ Stripe upgrade"];
  legend.forEach((text, i) => parts.push(`<text x="${left + plotW + 15}" y="${legendY + i * 16}" font-size="11" fill="#555">${escapeXml(text)}</text>`));
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
