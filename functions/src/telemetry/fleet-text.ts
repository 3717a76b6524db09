/**
 * The fleet view as text, for a person at a terminal (`cacheStats?format=text`, `npm run demo`):
 * freshness against its promise first, the live instances, the caches, then what each function
 * spends. Pure; every figure is one of the JSON answer's (fleet-view.ts).
 */
import { redisCommandPurposes } from "../redis/command-purposes";
import type { RedisUsage } from "./meter";
import type { FleetView } from "./fleet-view";

const ms = (value: number | null) => (value === null ? "-" : String(value)).padStart(8);

/** Dollars with the digits a small figure needs ($0.0042, $1.25). */
function usd(value: number): string {
  if (value === 0) return "$0";
  return `$${value < 0.01 ? value.toFixed(4) : value.toFixed(2)}`;
}

/** `markerPoll 12, statsPublish 1`, in the classifier's order; `-` when there are none. */
function byPurpose(usage: RedisUsage): string {
  const counts = usage.redisCommandsByPurpose;
  const parts = (Object.keys(redisCommandPurposes) as (keyof typeof redisCommandPurposes)[])
    .filter((purpose) => (counts[purpose] ?? 0) > 0)
    .map((purpose) => `${purpose} ${counts[purpose]}`);
  return parts.length === 0 ? "-" : parts.join(", ");
}

function freshnessLines(stats: FleetView): string[] {
  const f = stats.freshness;
  const lines = [
    `  freshness (marker write -> first answer from the new version), promise ${f.promiseMs} ms: ${f.verdict}`,
    "    family      samples   p50 ms   p99 ms   max ms  over 2 s",
  ];
  for (const [family, s] of Object.entries(f.byFamily)) {
    lines.push(`    ${family.padEnd(10)} ${String(s.samples).padStart(8)} ${ms(s.p50Ms)} ${ms(s.p99Ms)} ${ms(s.maxMs)} ${String(s.overPromise).padStart(9)}`);
  }
  const skew = f.clockSkew.maxAbsOffsetMs;
  lines.push(`    instance clocks vs Redis: max offset ${skew === null ? "-" : `${skew} ms`} over ${f.clockSkew.instancesMeasured} instances`);
  return lines;
}

function instanceLines(stats: FleetView): string[] {
  const ages = stats.instances.map((i) => i.snapshotAgeMs / 1000);
  const ageRange = ages.length === 0 ? "-" : `${Math.min(...ages).toFixed(1)}-${Math.max(...ages).toFixed(1)} s`;
  const lines = [
    `  live instances: ${stats.fleet.liveInstances} of ${stats.fleet.functions} functions (snapshot ages ${ageRange})`,
    "    function                          instances  lookups  hit rate",
  ];
  for (const [name, fn] of Object.entries(stats.functions)) {
    const caches = Object.values(fn.caches);
    const hits = caches.reduce((sum, c) => sum + c.hits, 0);
    const lookups = hits + caches.reduce((sum, c) => sum + c.misses, 0);
    const rate = lookups === 0 ? "-" : `${((hits / lookups) * 100).toFixed(0)}%`;
    lines.push(`    ${name.padEnd(34)} ${String(fn.instances).padStart(9)} ${String(lookups).padStart(8)} ${rate.padStart(9)}`);
  }
  return lines;
}

function cacheLines(stats: FleetView): string[] {
  const lines = ["  cache              entries    bytes   hits  misses  hit rate  fetches"];
  for (const [name, c] of Object.entries(stats.caches)) {
    lines.push(
      `  ${name.padEnd(16)} ${String(c.entries).padStart(8)} ${String(c.bytes).padStart(8)} ${String(c.hits).padStart(6)} ${String(c.misses).padStart(7)} ${(c.hitRate * 100).toFixed(0).padStart(8)}% ${String(c.fetches).padStart(8)}`,
    );
  }
  const m = stats.markers;
  lines.push(
    `  markers: ${m.markerChecks} checks, ${m.markerChangesSeen} changes seen, ${m.trackedScopes} scopes tracked, ${m.healthyInstances} instances healthy, ${m.unhealthyInstances} not`,
  );
  return lines;
}

/** One line of figures per function, then its Redis commands by purpose (its requests', then its instances' own). */
function spendLines(stats: FleetView): string[] {
  const { prices, byFunction, estimatedUsdPerDay } = stats.spend;
  const lines = [
    "  spend per function (counts since each live instance started; $/day at the rate of its last minutes, at list prices: Firestore read " +
      `${usd(prices.firestoreReadUsdPer100k)}, write ${usd(prices.firestoreWriteUsdPer100k)}, Redis ${usd(prices.redisUsdPer100kCommands)} per 100K)`,
    "    function                          requests    reads  reads/req  not found   writes  redis cmds     $/day",
  ];
  for (const [name, f] of Object.entries(byFunction).sort(([a], [b]) => a.localeCompare(b))) {
    const redisCommands = f.redisCommands + f.instanceWork.redisCommands;
    lines.push(
      `    ${name.padEnd(34)} ${String(f.requests).padStart(8)} ${String(f.reads).padStart(8)} ${f.readsPerRequest.toFixed(2).padStart(10)} ` +
        `${String(f.notFoundReads).padStart(10)} ${String(f.writes).padStart(8)} ${String(redisCommands).padStart(11)} ${usd(f.estimatedUsdPerDay.total).padStart(9)}`,
    );
    lines.push(`      redis, requests: ${byPurpose(f)}; instance's own: ${byPurpose(f.instanceWork)}`);
  }
  lines.push(`  estimated spend, whole fleet: ${usd(estimatedUsdPerDay)} per day`);
  return lines;
}

export function fleetText(stats: FleetView): string {
  return [...freshnessLines(stats), ...instanceLines(stats), ...cacheLines(stats), ...spendLines(stats)].join("\n") + "\n";
}
