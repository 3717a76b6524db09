/**
 * The benchmark's outputs: the markdown table (stdout and bench/results/latest.md) and the
 * hand-written SVG chart of reads per simulated minute (bench/results/reads-per-minute.svg).
 */

/**
 * List prices used for the cost line, in one place, with the date they were taken.
 * Firestore: Standard edition document reads, multi-region (nam5) list price; a regional
 * location such as us-central1 lists half of it. Upstash Redis: Pay as You Go.
 * Cloud Functions invocations and compute are the same for every policy and left out.
 */
export const listPrices = {
  asOf: "2026-11-25",
  firestoreReadsPer100k: 0.06,
  firestoreSource: "cloud.google.com/firestore/pricing (Standard edition, nam5 multi-region)",
  upstashCommandsPer100k: 0.2,
  upstashSource: "upstash.com/pricing/redis (Pay as You Go)",
};

export interface PolicyResult {
  policy: string;
  wallMs: number;
  requests: { workload: number; probes: number; changes: number; total: number };
  reads: { total: number; byMethod: Record<string, number>; perRequest: number };
  /** Billable reads per bucket of simulated time (config.bucketMs), in order. */
  readsPerBucket: number[];
  latency: Record<string, { count: number; p50: number; p99: number }>;
  freshness: {
    maxMs: number;
    p99Ms: number;
    p50Ms: number;
    violations: number;
    timedOut: number;
    changes: {
      id: number;
      kind: string;
      atMs: number;
      subject: string;
      handledBy: number;
      staleForMs: number;
      lastOldMsPerInstance: (number | null)[];
      violations: number;
      timedOut: boolean;
    }[];
  };
  changesByKind: Record<string, number>;
  wrongAnswers: number;
  errors: number;
  examples: string[];
  redis: {
    total: number;
    byCommand: Record<string, number>;
    enrichment: number;
    threshold: number;
    coherence: number;
    perRequest: number;
    coherencePerRequest: number;
  };
}

interface ReportConfig {
  instances: number;
  changeEveryMs: number;
  simulatedMinutes: number;
  liveSessions: number;
  tickMs: number;
  freshnessBoundMs: number;
  probeTimeoutMs: number;
  bucketMs: number;
  seed: { users: number; heavyUsers: number; publicApps: number; privateApps: number; unapprovedApps: number; testers: number };
}

export const goals = { readCutVsNone: 0.95, freshnessMs: 2000, coherenceCommandsPerRequest: 0.1 };

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const fmtS = (ms: number) => (ms / 1000).toFixed(2);
const mark = (ok: boolean) => (ok ? "met" : "**NOT met**");

export function costPerMillion(result: PolicyResult): number {
  const perRequestUsd = (result.reads.perRequest * listPrices.firestoreReadsPer100k) / 100_000 + (result.redis.perRequest * listPrices.upstashCommandsPer100k) / 100_000;
  return perRequestUsd * 1_000_000;
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
  const cut = (r: PolicyResult) => (none && r !== none ? 1 - r.reads.total / r.requests.total / (none.reads.total / none.requests.total) : undefined);
  const row = (label: string, cell: (r: PolicyResult) => string, goal = "") => `| ${label} | ${results.map(cell).join(" | ")} | ${goal} |`;
  const lat = (name: string) => (r: PolicyResult) => {
    const l = r.latency[name];
    return l ? `${fmtMs(l.p50)} / ${fmtMs(l.p99)}` : "–";
  };
  const oursCut = ours ? cut(ours) : undefined;
  const lines = [
    `Workload: ${cfg.instances} instances (processes), ${cfg.seed.users} users (${cfg.seed.heavyUsers} with a usage document for every hour of the month), ` +
      `${cfg.liveSessions} live sessions, ${cfg.seed.publicApps} public + ${cfg.seed.privateApps} private + ${cfg.seed.unapprovedApps} unapproved apps, ` +
      `${cfg.seed.testers} testers; ${cfg.simulatedMinutes} simulated minutes per policy (tick ${cfg.tickMs} ms), a change every ${cfg.changeEveryMs / 1000} s.`,
    ...(environment
      ? [
          "",
          `Stack: ${environment.firestore}; Firestore triggers delivered by it to the ${environment.functions}; ` +
            `reads counted by the gRPC proxy in front of the emulator; Node ${environment.node}.`,
        ]
      : []),
    "",
    `| figure | ${results.map((r) => r.policy).join(" | ")} | goal (ours) |`,
    `|---|${results.map(() => "---:").join("|")}|---|`,
    row("requests served (workload + probes + changes)", (r) => `${fmtInt(r.requests.total)} (${fmtInt(r.requests.workload)} + ${fmtInt(r.requests.probes)} + ${fmtInt(r.requests.changes)})`),
    row("Firestore document reads (billed, counted by the proxy)", (r) => fmtInt(r.reads.total)),
    row("reads / request", (r) => r.reads.perRequest.toFixed(3)),
    row("reads per request cut vs none", (r) => (cut(r) === undefined ? "–" : `${(cut(r)! * 100).toFixed(2)}%`), oursCut === undefined ? "" : `≥ 95%: ${mark(oursCut >= goals.readCutVsNone)}`),
    row("Redis commands / request (all)", (r) => r.redis.perRequest.toFixed(3), "(2 per getAvailableApps are the contract's fresh enrichment)"),
    row("Redis commands / request for cache coherence", (r) => r.redis.coherencePerRequest.toFixed(4), ours ? `≤ 0.1: ${mark(ours.redis.coherencePerRequest <= goals.coherenceCommandsPerRequest)}` : ""),
    row("getAvailableApps p50 / p99 (ms)", lat("getAvailableApps")),
    row("getMentorNotificationFrequency p50 / p99 (ms)", lat("getMentorNotificationFrequency")),
    row("recordTranscriptionUsage p50 / p99 (ms)", lat("recordTranscriptionUsage")),
    row("getCredits (probes) p50 / p99 (ms)", lat("getCredits")),
    row("changes during the run", (r) => String(r.freshness.changes.length)),
    row(
      "old state served after a change, max / p99 (s, instance clock)",
      (r) => `${fmtS(r.freshness.maxMs)} / ${fmtS(r.freshness.p99Ms)}`,
      ours ? `≤ 2 s: ${mark(ours.freshness.maxMs <= goals.freshnessMs)}` : "",
    ),
    row("answers older than the contract allows (> 2 s after a change)", (r) => fmtInt(r.freshness.violations), ours ? `0: ${mark(ours.freshness.violations === 0)}` : ""),
    row(`changes not fresh on every instance within ${cfg.probeTimeoutMs / 1000} s`, (r) => String(r.freshness.timedOut), ours ? `0: ${mark(ours.freshness.timedOut === 0)}` : ""),
    row("wrong answers / errors", (r) => `${r.wrongAnswers} / ${r.errors}`, ours ? `0: ${mark(ours.wrongAnswers === 0 && ours.errors === 0)}` : ""),
    row("cost of 1M requests on this mix (reads + Redis)", (r) => `$${costPerMillion(r).toFixed(2)}`),
    "",
    `Cost line: Firestore document reads at $${listPrices.firestoreReadsPer100k} per 100,000 (${listPrices.firestoreSource}) and Upstash commands at ` +
      `$${listPrices.upstashCommandsPer100k} per 100,000 (${listPrices.upstashSource}), list prices as of ${listPrices.asOf}; function invocations and compute are the same for every policy and left out.`,
  ];
  return lines.join("\n");
}

const colors: Record<string, string> = { none: "#d62728", reference: "#ff7f0e", ours: "#2ca02c" };
const kindLabels: Record<string, string> = { addTester: "T+", removeTester: "T−", approveApp: "A", makePrivate: "P", setMentor: "M", stripeUpgrade: "$" };

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

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
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
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
