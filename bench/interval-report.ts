/**
 * The freshness-cost curve's table (`npm run bench:interval`, bench/results/interval.md): ours at
 * each marker poll interval, at the bench mix and at low load, with Vercel's documented bound
 * beside it.
 */
import type { Percentiles, PolicyResult } from "./figures";
import { fmtInt, fmtS, fmtUsd } from "./format";
import { CostPerMillion, listPrices } from "./pricing";
import type { ReportConfig, ReportEnvironment } from "./report";

/** One point of the freshness-cost curve (`npm run bench:interval`): ours at one poll interval. */
export interface IntervalPoint {
  pollIntervalMs: number;
  result: PolicyResult;
}

/** Vercel's documented bound for tag revalidation, the anchor beside the curve. */
export const vercelAnchor = {
  ms: 300,
  text: "Vercel documents tag revalidation reaching every region within 300 ms",
  source: "vercel.com/docs/infrastructure/data-cache/manage-data-cache (on-demand revalidation of the Data Cache)",
};

/** The curve as a markdown table: each interval at the bench mix and at low load, Vercel's anchor last. */
export function renderIntervalTable(
  points: readonly IntervalPoint[],
  cfg: ReportConfig & { lowLoadSimulatedSeconds: number },
  environment?: ReportEnvironment,
): string {
  const stale = (p: Percentiles) => `${fmtS(p.p50Ms)} / ${fmtS(p.p99Ms)} / ${fmtS(p.maxMs)}`;
  const cost = (c: CostPerMillion) => `${fmtUsd(c.reads)} + ${fmtUsd(c.writes)} + ${fmtUsd(c.redis)} = ${fmtUsd(c.total)}`;
  const delayS = cfg.triggerDelayMs / 1000;
  const rows: string[] = [];
  for (const { pollIntervalMs, result } of points) {
    const f = result.freshness;
    rows.push(
      `| ${fmtInt(pollIntervalMs)} ms | bench mix | ${f.byPath.callable.changes} / ${f.byPath.elsewhere.changes} | ${stale(f.byPath.callable.fromCommit)} | ${stale(f.byPath.callable.freshEverywhere)} | ` +
        `${stale(f.byPath.elsewhere.fromCommit)} | ${stale(f.byPath.elsewhere.freshEverywhere)} | ` +
        `${result.redis.perRequestByPurpose.coherence.toFixed(4)} | ${cost(result.costPerMillionUsd)} | ${fmtInt(f.violations)} / ${fmtInt(result.wrongAnswers)} |`,
    );
    const l = result.lowLoad;
    if (l) {
      const lf = l.freshness;
      rows.push(
        `| ${fmtInt(pollIntervalMs)} ms | low load | ${lf.byPath.callable.changes} / ${lf.byPath.elsewhere.changes} | ${stale(lf.byPath.callable.fromCommit)} | ${stale(lf.byPath.callable.freshEverywhere)} | ` +
          `${stale(lf.byPath.elsewhere.fromCommit)} | ${stale(lf.byPath.elsewhere.freshEverywhere)} | ` +
          `${l.redis.perRequestByPurpose.coherence.toFixed(4)} | ${cost(l.costPerMillionUsd)} | ${fmtInt(l.violations)} / ${fmtInt(l.wrongAnswers)} |`,
      );
    }
  }
  return [
    `Freshness-cost curve (\`npm run bench:interval\`): ours at each marker poll interval (MARKER_POLL_INTERVAL_MS), ${cfg.instances} instances. ` +
      `Per point: ${cfg.simulatedMinutes} simulated minutes of the bench mix (${cfg.liveSessions} live sessions, tick ${cfg.tickMs} ms), then ${cfg.lowLoadSimulatedSeconds} simulated s of low load ` +
      `(1 request/s per instance), on the same seed and workload as \`npm run bench\`; changes at seeded random times, so at random phases of the poll; every change's Firestore trigger delivered ${delayS} s after its commit.`,
    ...(environment
      ? [
          "",
          `Stack: ${environment.firestore}; ${environment.functions}, its background triggers paused during the runs: each change's Firestore trigger is held back and delivered by the harness ` +
            `to the trigger's export in an instance process of its own; reads and writes counted by the gRPC proxy, Redis commands at the Upstash gateway; Node ${environment.node}.`,
        ]
      : []),
    "",
    `| poll interval | load | changes: callable-driven / made elsewhere | callable-driven: last old answer after the commit, p50 / p99 / max (s) | callable-driven: new state on every instance after the commit, p50 / p99 / max (s) | ` +
      `made elsewhere (the ${delayS} s trigger delay included): last old answer after the commit | made elsewhere: new state on every instance after the commit | coherence Redis commands / request | cost of 1M requests: reads + writes + Redis = total | answers > 2 s after the marker write / wrong answers |`,
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    `| Vercel (documented, not measured) | – | – | – | every region within ${fmtS(vercelAnchor.ms)} s | – | – | – | – | – |`,
    "",
    `Per change, on the instance clock: the last old answer is the latest time any instance answered with the change's old state, less the commit; "new state on every instance" is when the last instance first answered a probe with the new state, less the commit. ` +
      `Instances are asked only at their requests (every tick of ${cfg.tickMs} ms at the mix, every second at low load), so the true window lies between the two. ` +
      `At 250 ms an instance polls on every tick, so no answer is old at tick resolution; at low load every request finds a poll due when the interval is 1 s or less, and pays for it. ` +
      `The anchor: ${vercelAnchor.text} (${vercelAnchor.source}); it counts from the revalidation call, as ours counts from the commit. ` +
      `Cost at the list prices of \`npm run bench\` (${listPrices.asOf}). deploy:check refuses intervals above 1,200 ms: they cannot keep the 2 s promise.`,
  ].join("\n");
}
