/**
 * "What will my month cost": the whole bill (Firestore + Redis + invocations + compute) of the
 * bench's mix at several sizes, from a small app to omi's and past it, under none, reference and
 * ours, each with the cheapest Upstash plan that holds its command rate. Part of
 * `npm run bench:project` (bench/project.ts), from the same curve and its `perRequestAt`.
 */
import type { CurvePolicyRun } from "./curve-report";
import { costPerMillion } from "./pricing";
import { perRequestAt } from "./project";

/** Upstash Redis plans, as issue #28 lists them from upstash.com/pricing/redis (list prices as of 2026-11-25). */
export const upstashPlans = {
  free: { commandsPerMonth: 500_000, usdPerMonth: 0 },
  payAsYouGo: { usdPer100kCommands: 0.2 },
  /** The cheapest fixed plan: 250 MB, 10,000 commands/s, no per-command charge. */
  fixed: { usdPerMonth: 10, commandsPerSecond: 10_000, dataMb: 250 },
  source:
    "issue #28, quoting upstash.com/pricing/redis: pay-as-you-go $0.20 per 100K commands; a free tier of 500K commands a month; fixed plans from $10 a month (250 MB, 10K commands/s) with no per-command charge",
};

/** What a size is, and the instances it runs on. */
export const sizeAssumptions = {
  /** Requests a month: a small app, 10M, omi's (from the projection, filled in by `projectSizes`), 250M, 1B. */
  requestsPerMonth: [1e6, 10e6, 0, 250e6, 1e9],
  secondsPerMonth: 730 * 3600,
  source:
    "each size's instances: its requests/s over omi's requests/s per instance (the projection's derivation), at least 1 and at most maxInstances (functions/src/index.ts); " +
    "its per-request figures read off the curve at that rate (log-log between the measured rates around it, the end point's outside them)",
};

export type UpstashPlanName = "free" | "pay-as-you-go" | "fixed $10";

/** The cheapest plan that holds `commandsPerMonth` at a peak of `peakCommandsPerSecond`, and its monthly price. */
export function cheapestUpstashPlan(commandsPerMonth: number, peakCommandsPerSecond: number): { plan: UpstashPlanName; usdPerMonth: number } {
  if (commandsPerMonth <= upstashPlans.free.commandsPerMonth) return { plan: "free", usdPerMonth: 0 };
  const payAsYouGo = (commandsPerMonth / 100_000) * upstashPlans.payAsYouGo.usdPer100kCommands;
  // The fixed plan holds the month only if its peak rate fits; pay-as-you-go is taken to hold any rate (the issue lists no limit for it).
  const fixedHolds = peakCommandsPerSecond <= upstashPlans.fixed.commandsPerSecond;
  if (fixedHolds && upstashPlans.fixed.usdPerMonth < payAsYouGo) return { plan: "fixed $10", usdPerMonth: upstashPlans.fixed.usdPerMonth };
  return { plan: "pay-as-you-go", usdPerMonth: payAsYouGo };
}

/** One policy's month at one size. */
export interface SizePolicyMonth {
  policy: string;
  firestoreUsd: number;
  redisCommands: number;
  peakRedisCommandsPerSecond: number;
  upstash: { plan: UpstashPlanName; usdPerMonth: number };
  invocationsAndComputeUsd: number;
  wholeUsd: number;
  /** Firestore + Redis over the whole bill: what caching can move. */
  storageShare: number;
}

export interface SizeMonth {
  requestsPerMonth: number;
  label: string;
  instances: number;
  ratePerInstance: number;
  policies: SizePolicyMonth[];
}

/**
 * Every size's month, at omi's rate per instance until `maxInstances` caps the count. The peak
 * command rate is the average × `omi.peakOverAverage` (omi's peak streams over its average: the
 * only measured shape of a day this repository has).
 */
export function projectSizes(
  runs: readonly CurvePolicyRun[],
  omi: { requestsPerMonth: number; ratePerInstance: number; peakOverAverage: number },
  maxInstances: number,
): SizeMonth[] {
  const sizes = sizeAssumptions.requestsPerMonth.map((n) => (n === 0 ? omi.requestsPerMonth : n));
  return sizes.map((requests) => {
    const fleetRate = requests / sizeAssumptions.secondsPerMonth;
    const instances = Math.min(maxInstances, Math.max(1, Math.ceil(fleetRate / omi.ratePerInstance)));
    const rate = fleetRate / instances;
    const policies = runs.map((run): SizePolicyMonth => {
      const perRequest = perRequestAt(run, rate);
      const firestoreUsd = (costPerMillion(perRequest.reads, perRequest.writes, 0).total * requests) / 1e6;
      const redisCommands = perRequest.redis * requests;
      const peakRedisCommandsPerSecond = (redisCommands / sizeAssumptions.secondsPerMonth) * omi.peakOverAverage;
      const upstash = cheapestUpstashPlan(redisCommands, peakRedisCommandsPerSecond);
      const invocationsAndComputeUsd = (perRequest.functionsPerMillionUsd * requests) / 1e6;
      const wholeUsd = firestoreUsd + upstash.usdPerMonth + invocationsAndComputeUsd;
      return {
        policy: run.policy,
        firestoreUsd,
        redisCommands,
        peakRedisCommandsPerSecond,
        upstash,
        invocationsAndComputeUsd,
        wholeUsd,
        storageShare: wholeUsd > 0 ? (firestoreUsd + upstash.usdPerMonth) / wholeUsd : 0,
      };
    });
    const label = requests === omi.requestsPerMonth ? "omi's" : "";
    return { requestsPerMonth: requests, label, instances, ratePerInstance: rate, policies };
  });
}

const usd = (n: number) => `$${n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2)}`;
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const millions = (n: number) => `${n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)}M`}`;

/** The month table: one row per size, the whole bill of each policy with its Upstash plan, and the share caching can move. */
export function renderSizes(sizes: readonly SizeMonth[]): string {
  const policies = sizes[0]?.policies.map((p) => p.policy) ?? [];
  const lines: string[] = [];
  lines.push(
    "**What will my month cost** (`npm run bench:project`): the whole bill of the bench's mix a month (Firestore reads + writes, the cheapest Upstash plan that holds the commands, " +
      "Cloud Functions invocations + compute), per policy; in brackets Firestore / Upstash (plan) / invocations + compute. " +
      "The last column: ours against none, and the share of ours' bill that is Firestore + Redis (what caching can still move).",
  );
  lines.push("");
  lines.push(`| requests a month | instances, req/s per instance | ${policies.join(" | ")} | ours vs none; Firestore + Redis share of ours |`);
  lines.push(`|---:|---:|${policies.map(() => "---:").join("|")}|---:|`);
  for (const size of sizes) {
    const cell = (p: SizePolicyMonth) =>
      `**${usd(p.wholeUsd)}** (${usd(p.firestoreUsd)} / ${usd(p.upstash.usdPerMonth)} ${p.upstash.plan} / ${usd(p.invocationsAndComputeUsd)})`;
    const ours = size.policies.find((p) => p.policy === "ours");
    const none = size.policies.find((p) => p.policy === "none");
    const last = ours && none ? `−${pct(1 - ours.wholeUsd / none.wholeUsd)}; ${pct(ours.storageShare)}` : "–";
    lines.push(
      `| ${millions(size.requestsPerMonth)}${size.label ? ` (${size.label})` : ""} | ${size.instances}, ${size.ratePerInstance.toFixed(2)} | ${size.policies.map(cell).join(" | ")} | ${last} |`,
    );
  }
  lines.push("");
  lines.push(
    `Sizes: ${sizeAssumptions.source}. Upstash: ${upstashPlans.source}; the fixed plan holds a month when its peak command rate (the average × omi's peak streams over its average) ` +
      `is at most ${upstashPlans.fixed.commandsPerSecond.toLocaleString("en-US")}/s, and its ${upstashPlans.fixed.dataMb} MB are taken to hold the keys (markers, usage ledgers; not measured). ` +
      "Firestore at the bench's list prices without its free quota; invocations and compute as in the bench (bench/compute-bill.ts), free tiers not applied. " +
      "The mix is the bench's (getAvailableApps : getMentorNotificationFrequency : recordTranscriptionUsage = 60 : 60 : 1), omi's other reads left out.",
  );
  return lines.join("\n");
}
