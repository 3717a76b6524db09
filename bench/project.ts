/**
 * `npm run bench:project`: omi's scale on paper (issue #19). Reads the committed load curve
 * (bench/results/curve.json, from `npm run bench:curve`; no stack, runs in a second) and
 * projects a month of omi's three hot paths under none, reference and ours: Firestore reads,
 * writes, Upstash commands and dollars at the bench's list prices.
 *
 * Every assumption is in `assumptions`, with its source. The derivation:
 * 1. The three hot paths read `hotPathShare` of omi's `readsPerMonth` while uncached: that is
 *    the `none` column by construction. The other reads are the same under every policy.
 * 2. Requests per month: the hot-path reads over the reads per request `none` costs on the
 *    curve's mix (the bench's session: getAvailableApps and getMentorNotificationFrequency once
 *    a second, a usage report once a minute). The bench mix stands for omi's calls; its
 *    volume is scaled so that uncached it reads what omi's hot paths read.
 * 3. Instances: Cloud Run keeps each instance at `autoscalerTarget` of its `concurrency`. In
 *    omi, every active stream holds a WebSocket (one request in flight for its whole life), so
 *    an instance carries target × concurrency streams. The average number of streams comes from
 *    the credit check: `creditsShare` of the reads, `hourlyDocsPerCheck` reads per check, one
 *    check per stream every `creditCheckEverySeconds`.
 * 4. The per-instance rate: requests per second over those instances. Each policy's
 *    per-request figures are read off the curve at that rate (log-log interpolation between
 *    the two measured rates around it; the end point's figures outside the measured range).
 * Also shown: the same month at every measured rate (how the answer moves with the instance
 * count), the peak (1,300 streams), and the seed's claim beside ours.
 *
 * Writes bench/results/projection.{md,json} (BENCH_RESULTS_DIR: read and write there instead).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { CurvePolicyRun } from "./curve-report";
import { costPerMillion, CostPerMillion, listPrices } from "./pricing";
import { projectSizes, renderSizes, upstashPlans } from "./project-sizes";
import { resultsDir } from "./results-files";

/** Each assumption of the projection, with where it comes from. */
export const assumptions = {
  readsPerMonth: {
    value: 10.7e9,
    source: 'omi PR #7958 (github.com/BasedHardware/omi/pull/7958): "Firestore default database currently costs roughly $3,807/mo net with ~10.7B reads/month"',
  },
  netUsdPerMonth: { value: 3807, source: "omi PR #7958 (the same sentence): the database's net monthly cost, all of it (not reads alone)" },
  hotPathShare: {
    value: 0.61,
    source: 'omi issue #5439 (github.com/BasedHardware/omi/issues/5439): "Three hot-path Firestore read patterns account for ~61% of all daily read ops"',
  },
  seedCutOfAllReads: {
    value: 0.59,
    source: 'omi issue #5439: "Combined savings: ~59% of total Firestore read costs" (the seed\'s fix: the reference policy of the bench)',
  },
  creditsShare: {
    value: 0.3,
    source: 'omi issue #5439, sub-task 1: "Cache credit/usage check in transcribe loop (~30% of all reads)"',
  },
  creditCheckEverySeconds: { value: 60, source: "omi issue #5439, sub-task 1: `_record_usage_periodically()` (every 60s)" },
  hourlyDocsPerCheck: { value: 720, source: 'omi issue #5439, sub-task 1: "query streams ~720 hourly usage docs per call"' },
  peakStreams: { value: 1300, source: 'omi issue #5439: "With ~1,300 concurrent streams at peak"' },
  concurrency: { value: 0, source: "this project: setGlobalOptions in functions/src/index.ts (read from the file)" },
  maxInstances: { value: 0, source: "this project: setGlobalOptions in functions/src/index.ts (read from the file)" },
  autoscalerTarget: {
    value: 0.6,
    source:
      "Cloud Run (cloud.google.com/run/docs/about-instance-autoscaling): the autoscaler keeps request concurrency at 60% of the maximum over a one-minute window",
  },
  streamHoldsOneRequest: {
    value: 1,
    source:
      "omi issue #5439: the hot paths run in the transcribe and pusher WebSocket loops, one WebSocket (one request in flight on Cloud Run) per active stream",
  },
  secondsPerMonth: { value: 730 * 3600, source: "730 hours: Google Cloud's billing month" },
};

type Assumptions = typeof assumptions;

/** `concurrency` and `maxInstances` as functions/src/index.ts sets them (one setGlobalOptions call). */
export function globalOptionsOf(indexSource: string): { concurrency: number; maxInstances: number } {
  const call = /setGlobalOptions\(\{([^}]*)\}\)/.exec(indexSource)?.[1];
  const field = (name: string) => Number(new RegExp(`${name}:\\s*(\\d+)`).exec(call ?? "")?.[1]);
  const options = { concurrency: field("concurrency"), maxInstances: field("maxInstances") };
  if (!Number.isInteger(options.concurrency) || !Number.isInteger(options.maxInstances))
    throw new Error("functions/src/index.ts: no setGlobalOptions({ ..., maxInstances: N, concurrency: N }) found");
  return options;
}

export interface PerRequest {
  reads: number;
  writes: number;
  redis: number;
  redisByPurpose: Record<string, number>;
  /** Invocations + compute of 1M requests (bench/compute-bill.ts), as measured at the point. */
  functionsPerMillionUsd: number;
}

/** A policy's per-request figures at `rate`: log-log between the measured rates around it, the end point's outside them. */
export function perRequestAt(run: CurvePolicyRun, rate: number): PerRequest {
  const points = [...run.points].sort((a, b) => a.ratePerInstance - b.ratePerInstance);
  const figures = (i: number): PerRequest => {
    const r = points[i]!.result;
    // A curve from before the whole bill (issue #28) has no `functions`: rerun `npm run bench:curve`.
    if (r.functions === undefined) throw new Error(`curve.json (${run.policy}): no invocations and compute per point; run npm run bench:curve again`);
    return {
      reads: r.reads.perRequest,
      writes: r.writes.perRequest,
      redis: r.redis.perRequest,
      redisByPurpose: { ...r.redis.perRequestByPurpose },
      functionsPerMillionUsd: r.functions.perMillionUsd.total,
    };
  };
  if (points.length === 0) throw new Error(`curve.json: no points for ${run.policy}`);
  if (rate <= points[0]!.ratePerInstance) return figures(0);
  if (rate >= points.at(-1)!.ratePerInstance) return figures(points.length - 1);
  const upper = points.findIndex((p) => p.ratePerInstance >= rate);
  const [a, b] = [figures(upper - 1), figures(upper)];
  const t = Math.log(rate / points[upper - 1]!.ratePerInstance) / Math.log(points[upper]!.ratePerInstance / points[upper - 1]!.ratePerInstance);
  const between = (x: number, y: number) => (x > 0 && y > 0 ? Math.exp(Math.log(x) + t * (Math.log(y) - Math.log(x))) : x + t * (y - x));
  const redisByPurpose = Object.fromEntries(Object.keys(a.redisByPurpose).map((k) => [k, between(a.redisByPurpose[k]!, b.redisByPurpose[k] ?? 0)]));
  return {
    reads: between(a.reads, b.reads),
    writes: between(a.writes, b.writes),
    redis: between(a.redis, b.redis),
    redisByPurpose,
    functionsPerMillionUsd: between(a.functionsPerMillionUsd, b.functionsPerMillionUsd),
  };
}

interface Month {
  policy: string;
  requests: number;
  hotPathReads: number;
  allReads: number;
  writes: number;
  redisCommands: number;
  redisByPurpose: Record<string, number>;
  /** Firestore reads + writes + Redis commands at list prices. */
  usd: CostPerMillion;
  /** Invocations + compute (bench/compute-bill.ts), and the whole bill: `usd.total` + that. */
  functionsUsd: number;
  wholeUsd: number;
  /** Of all reads, the share cut against none (the seed's claim is about this figure). */
  cutOfAllReads: number;
}

function monthOf(policy: string, requests: number, perRequest: PerRequest, otherReads: number, noneHotReads: number): Month {
  const perMillion = costPerMillion(perRequest.reads, perRequest.writes, perRequest.redis);
  const scale = requests / 1e6;
  const hotPathReads = requests * perRequest.reads;
  return {
    policy,
    requests,
    hotPathReads,
    allReads: hotPathReads + otherReads,
    writes: requests * perRequest.writes,
    redisCommands: requests * perRequest.redis,
    redisByPurpose: Object.fromEntries(Object.entries(perRequest.redisByPurpose).map(([k, v]) => [k, requests * v])),
    usd: { total: perMillion.total * scale, reads: perMillion.reads * scale, writes: perMillion.writes * scale, redis: perMillion.redis * scale },
    functionsUsd: perRequest.functionsPerMillionUsd * scale,
    wholeUsd: perMillion.total * scale + perRequest.functionsPerMillionUsd * scale,
    cutOfAllReads: (noneHotReads - hotPathReads) / (noneHotReads + otherReads),
  };
}

/** The whole projection from the curve's runs and the assumptions. */
export function project(runs: readonly CurvePolicyRun[], a: Assumptions) {
  const none = runs.find((r) => r.policy === "none");
  if (!none) throw new Error("curve.json has no none run: the projection scales the volume by it");
  const hotReadsNone = a.readsPerMonth.value * a.hotPathShare.value;
  const otherReads = a.readsPerMonth.value - hotReadsNone;
  const checksPerStreamMonth = a.secondsPerMonth.value / a.creditCheckEverySeconds.value;
  const averageStreams = (a.creditsShare.value * a.readsPerMonth.value) / (a.hourlyDocsPerCheck.value * checksPerStreamMonth);
  const streamsPerInstance = a.autoscalerTarget.value * a.concurrency.value * a.streamHoldsOneRequest.value;
  const instances = Math.min(a.maxInstances.value, Math.max(1, Math.ceil(averageStreams / streamsPerInstance)));
  const peakInstancesWanted = Math.ceil(a.peakStreams.value / streamsPerInstance);
  // The request count and the rate depend on each other only through none's reads per request
  // (nearly flat in the rate): a few rounds settle them.
  let rate = none.points[0]!.ratePerInstance;
  let requests = 0;
  for (let round = 0; round < 20; round++) {
    requests = hotReadsNone / perRequestAt(none, rate).reads;
    rate = requests / a.secondsPerMonth.value / instances;
  }
  const months = runs.map((run) => monthOf(run.policy, requests, perRequestAt(run, rate), otherReads, hotReadsNone));
  const sensitivity = none.points.map(({ ratePerInstance }) => {
    const n = hotReadsNone / perRequestAt(none, ratePerInstance).reads;
    return {
      ratePerInstance,
      instances: n / a.secondsPerMonth.value / ratePerInstance,
      usd: Object.fromEntries(runs.map((run) => [run.policy, monthOf(run.policy, n, perRequestAt(run, ratePerInstance), otherReads, hotReadsNone).usd.total])),
    };
  });
  const seedClaim = {
    allReadsAfter: a.readsPerMonth.value * (1 - a.seedCutOfAllReads.value),
    hotPathReadsAfter: hotReadsNone - a.readsPerMonth.value * a.seedCutOfAllReads.value,
    cutOfHotPathReads: (a.readsPerMonth.value * a.seedCutOfAllReads.value) / hotReadsNone,
  };
  return {
    derived: {
      hotReadsNone,
      otherReads,
      averageStreams,
      streamsPerInstance,
      instances,
      peakInstancesWanted,
      peakInstances: Math.min(a.maxInstances.value, peakInstancesWanted),
      requestsPerMonth: requests,
      fleetRequestsPerSecond: requests / a.secondsPerMonth.value,
      ratePerInstance: rate,
      omiNetUsdPer100kReads: (a.netUsdPerMonth.value / a.readsPerMonth.value) * 100_000,
    },
    months,
    sensitivity,
    seedClaim,
  };
}

const billions = (n: number) => `${(n / 1e9).toFixed(n >= 1e10 ? 1 : 2)}B`;
const millions = (n: number) => `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)}M`;
const count = (n: number) => (n >= 1e9 ? billions(n) : millions(n));
const usd = (n: number) => `$${n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2)}`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function renderProjection(result: ReturnType<typeof project>, a: Assumptions, curveGeneratedAt: string): string {
  const { derived: d, months, sensitivity, seedClaim } = result;
  const lines: string[] = [];
  const byPolicy = (policy: string) => months.find((m) => m.policy === policy);
  const headline = ["none", "reference", "ours"]
    .map((p) => byPolicy(p))
    .filter((m): m is Month => m !== undefined)
    .map((m) => `${m.policy} ${usd(m.usd.total)}`)
    .join(", ");
  lines.push(
    `omi's scale on paper (\`npm run bench:project\`, from bench/results/curve.json of ${curveGeneratedAt}): a month of omi's three hot paths, ` +
      `${millions(d.requestsPerMonth)} requests at ${d.ratePerInstance.toFixed(1)} requests/s per instance on ${d.instances} instances. ` +
      `Firestore reads + writes + Upstash commands at the bench's list prices: **${headline} a month**.`,
  );
  lines.push("");
  lines.push("| a month of the three hot paths | " + months.map((m) => m.policy).join(" | ") + " |");
  lines.push("|---|" + months.map(() => "---:").join("|") + "|");
  const row = (label: string, cell: (m: Month) => string) => lines.push(`| ${label} | ${months.map(cell).join(" | ")} |`);
  row("requests", (m) => millions(m.requests));
  row("Firestore reads of the hot paths", (m) => count(m.hotPathReads));
  row("Firestore reads in all (the other 39% unchanged)", (m) => count(m.allReads));
  row("cut of all reads against none", (m) => (m.policy === "none" ? "–" : pct(m.cutOfAllReads)));
  row("Firestore writes", (m) => count(m.writes));
  row("Upstash commands (coherence / credits / enrichment / other)", (m) => {
    const parts = ["coherence", "credits", "enrichment", "other"].map((purpose) => count(m.redisByPurpose[purpose] ?? 0));
    return `${count(m.redisCommands)} (${parts.join(" / ")})`;
  });
  row("**dollars: reads + writes + Redis = total**", (m) => `${usd(m.usd.reads)} + ${usd(m.usd.writes)} + ${usd(m.usd.redis)} = **${usd(m.usd.total)}**`);
  row(
    "**the whole bill: Firestore + Redis (above) + invocations and compute = total** (Redis at pay-as-you-go)",
    (m) => `${usd(m.usd.total)} + ${usd(m.functionsUsd)} = **${usd(m.wholeUsd)}**`,
  );
  lines.push("");
  lines.push(
    `**The seed's claim beside ours.** The seed's fix (the bench's reference) cut ~${pct(a.seedCutOfAllReads.value)} of all reads (omi issue #5439): ` +
      `${billions(a.readsPerMonth.value)} → ${billions(seedClaim.allReadsAfter)} reads a month, so its three hot paths went from ${billions(d.hotReadsNone)} to ` +
      `${billions(seedClaim.hotPathReadsAfter)} (a ${pct(seedClaim.cutOfHotPathReads)} cut of their reads). On the curve's mix at this rate: ` +
      months
        .filter((m) => m.policy !== "none")
        .map((m) => `${m.policy} cuts ${pct(m.cutOfAllReads)} of all reads (hot paths ${billions(d.hotReadsNone)} → ${count(m.hotPathReads)})`)
        .join("; ") +
      ".",
  );
  lines.push("");
  lines.push("**How the answer moves with the instance count** (the same month, read at each measured rate per instance):");
  lines.push("");
  const policies = months.map((m) => m.policy);
  lines.push(`| requests/s per instance | instances that rate means | ${policies.join(" | ")} |`);
  lines.push(`|---:|---:|${policies.map(() => "---:").join("|")}|`);
  for (const s of sensitivity)
    lines.push(
      `| ${s.ratePerInstance} | ${s.instances >= 10 ? s.instances.toFixed(0) : s.instances.toFixed(1)} | ${policies.map((p) => usd(s.usd[p] ?? 0)).join(" | ")} |`,
    );
  lines.push("");
  lines.push("**Assumptions and derivations**");
  lines.push("");
  lines.push(
    `- ${billions(a.readsPerMonth.value)} Firestore reads and $${a.netUsdPerMonth.value.toLocaleString("en-US")} net a month on the default database: ${a.readsPerMonth.source}.`,
  );
  lines.push(
    `- The three hot paths read ${pct(a.hotPathShare.value)} of them: ${billions(d.hotReadsNone)} a month uncached (the none column, by construction); the other ${billions(d.otherReads)} are the same under every policy. ${a.hotPathShare.source}.`,
  );
  lines.push(
    `- Requests: the curve's mix (getAvailableApps : getMentorNotificationFrequency : recordTranscriptionUsage = 60 : 60 : 1, the bench's session) stands for omi's calls; ` +
      `${millions(d.requestsPerMonth)} of them a month is the volume at which none's measured reads per request come to the hot paths' ${billions(d.hotReadsNone)}. ` +
      `That is ${d.fleetRequestsPerSecond.toFixed(1)} requests/s across the fleet on average. (The bench reads the month's usage with one aggregation query, where omi streamed ~720 documents: ` +
      `its none is cheaper per credit call than omi's was, so the volume is an overstatement, and so are every policy's Redis and write figures.)`,
  );
  lines.push(
    `- Streams: ${d.averageStreams.toFixed(0)} on average, from the credit check: ${pct(a.creditsShare.value)} of the reads (${a.creditsShare.source}), ` +
      `${a.hourlyDocsPerCheck.value} reads per check (${a.hourlyDocsPerCheck.source}), one check per stream every ${a.creditCheckEverySeconds.value} s (${a.creditCheckEverySeconds.source}); ` +
      `${a.peakStreams.value.toLocaleString("en-US")} at peak (${a.peakStreams.source}).`,
  );
  lines.push(
    `- Instances: ${d.instances} on average. This project sets concurrency ${a.concurrency.value} and maxInstances ${a.maxInstances.value} (${a.concurrency.source}); ` +
      `${a.autoscalerTarget.source}, so an instance carries ${d.streamsPerInstance} requests in flight. ${a.streamHoldsOneRequest.source}: ` +
      `${d.streamsPerInstance} streams per instance, ${d.averageStreams.toFixed(0)} / ${d.streamsPerInstance} → ${d.instances}. ` +
      `At peak ${a.peakStreams.value.toLocaleString("en-US")} streams would want ${d.peakInstancesWanted}, above maxInstances ${a.maxInstances.value}: ${d.peakInstances} instances at ${((a.peakStreams.value / d.peakInstances / a.concurrency.value) * 100).toFixed(0)}% of concurrency. ` +
      `Short callables would need fewer instances than streams do (a callable holds its slot for milliseconds), so the real rate per instance is likely higher and ours cheaper: the table above reads the month at every measured rate.`,
  );
  lines.push(
    `- Rate per instance: ${d.fleetRequestsPerSecond.toFixed(1)} / ${d.instances} = ${d.ratePerInstance.toFixed(1)} requests/s; each policy's reads, writes and Redis commands per request are read off the curve there (log-log between the measured rates around it).`,
  );
  lines.push(
    `- Dollars at the bench's list prices (${listPrices.asOf}): reads $${listPrices.firestoreReadsPer100k}, writes $${listPrices.firestoreWritesPer100k} per 100,000 (${listPrices.firestoreSource}), ` +
      `Upstash $${listPrices.upstashCommandsPer100k} per 100,000 commands (${listPrices.upstashSource}). omi's bill works out at $${d.omiNetUsdPer100kReads.toFixed(4)} per 100,000 reads net ` +
      `(${a.netUsdPerMonth.source}): lower than this list price, so the dollars here overstate omi's for every policy alike. ` +
      `Invocations and compute per request are read off the curve at the same rate as the rest (its model: bench/compute-bill.ts, docs/bench.md).`,
  );
  lines.push(`- A month is ${a.secondsPerMonth.value / 3600} hours (${a.secondsPerMonth.source}).`);
  return lines.join("\n");
}

function main(): void {
  const dir = resultsDir();
  const curvePath = path.join(dir, "curve.json");
  const curve = JSON.parse(readFileSync(curvePath, "utf8")) as { generatedAt: string; runs: CurvePolicyRun[] };
  const options = globalOptionsOf(readFileSync(path.join(__dirname, "..", "functions", "src", "index.ts"), "utf8"));
  const a: Assumptions = {
    ...assumptions,
    concurrency: { ...assumptions.concurrency, value: options.concurrency },
    maxInstances: { ...assumptions.maxInstances, value: options.maxInstances },
  };
  const result = project(curve.runs, a);
  const d = result.derived;
  const sizes = projectSizes(
    curve.runs,
    { requestsPerMonth: d.requestsPerMonth, ratePerInstance: d.ratePerInstance, peakOverAverage: a.peakStreams.value / d.averageStreams },
    a.maxInstances.value,
  );
  const text = renderSizes(sizes) + "\n\n" + renderProjection(result, a, curve.generatedAt);
  console.log(text);
  writeFileSync(path.join(dir, "projection.md"), text + "\n");
  writeFileSync(
    path.join(dir, "projection.json"),
    JSON.stringify(
      { generatedAt: new Date().toISOString(), curveGeneratedAt: curve.generatedAt, listPrices, upstashPlans, assumptions: a, ...result, sizes },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nwritten: ${path.relative(process.cwd(), dir) || "."}/projection.md, projection.json`);
}

if (require.main === module) main();
