/**
 * Redis commands as Upstash bills them, counted at the Upstash gateway every client reaches
 * Redis through (the instances and the Functions emulator's triggers alike; the harness seeds
 * redis-server directly, so its own commands never pass here): one per command sent over REST,
 * a pipeline or multi-exec of N commands is N, EVAL/EVALSHA is one whatever the script runs.
 *
 * Each command is put to a purpose by its first key, matched against the production key names
 * (imported, never re-spelt here):
 * - coherence: marker keys, marker time keys and applied-event keys (functions/src/redis/markers.ts):
 *   the marker MGET polls (whatever marker comes first in them, the usage figures included), the
 *   triggers' and writers' bump scripts, the reference's credit-flag GET;
 * - credits: the fleet's usage figure (functions/src/credits/ledger.ts): commands whose first key
 *   is a usage figure `inv:usage:{uid}:{YYYY-MM}` (the count and rebuild scripts), its time key,
 *   its base hash or its recent-report log;
 * - enrichment: a user's enabled-apps set and the install counters (functions/src/apps/enrichment.ts):
 *   SMEMBERS, the install-count MGETs, the enable/disable scripts;
 * - other: everything else (the freemium threshold's SET NX / DEL, the stats stream's XADD,
 *   commands without a key).
 */
import { enabledAppsKey, installsKey } from "../functions/src/apps/enrichment";
import { statsStreamKey } from "../functions/src/cache/fleet-stats";
import { monthKey, usageLogKey, usageScope, usageStateKey } from "../functions/src/credits/ledger";
import { thresholdKey } from "../functions/src/credits/threshold";
import { appliedEventKeyPrefix, markerKey, markerKeyPrefix, markerTimeKey, markerTimeKeyPrefix } from "../functions/src/redis/markers";
import type { RedisArg } from "../scripts/stack/upstash-gateway";

export const redisPurposes = ["coherence", "credits", "enrichment", "other"] as const;
export type RedisPurpose = (typeof redisPurposes)[number];

/** What an `other` command was about (to tell an expected one from a surprise). */
export type OtherKind = "freemiumThreshold" | "statsStream" | "noKey" | "unrecognised";

/** A key function's fixed parts: the text before its first parameter and after its last. */
function keyShape(make: (...parts: string[]) => string, parameters: number): (key: string) => boolean {
  const hole = "\u0000";
  const sample = make(...Array.from({ length: parameters }, () => hole));
  const prefix = sample.slice(0, sample.indexOf(hole));
  const suffix = sample.slice(sample.lastIndexOf(hole) + 1);
  return (key) => key.length > prefix.length + suffix.length && key.startsWith(prefix) && key.endsWith(suffix);
}

const isEnabledAppsKey = keyShape(enabledAppsKey, 1);
const isInstallsKey = keyShape(installsKey, 1);
const isThresholdKey = keyShape(thresholdKey, 2);
const coherencePrefixes = [markerKeyPrefix, markerTimeKeyPrefix, appliedEventKeyPrefix];
/** The usage keys of one sample month; every month's have the same shape (`monthKey`: `YYYY-MM`, last). */
const sampleMonth = { year: 2026, month: 11 };
const sampleMonthKey = monthKey(sampleMonth);
const usageKeyShapes = [
  (uid: string) => markerKey(usageScope(uid, sampleMonth)),
  (uid: string) => markerTimeKey(usageScope(uid, sampleMonth)),
  (uid: string) => usageStateKey(uid, sampleMonth),
  (uid: string) => usageLogKey(uid, sampleMonth),
].map((make) => keyShape(make, 1));
/** A key of the fleet's usage figure, its time key, base hash or report log (any user, any month). */
function isUsageKey(key: string): boolean {
  const month = /\d{4}-\d{2}$/.exec(key);
  if (!month) return false;
  const asSampleMonth = key.slice(0, month.index) + sampleMonthKey;
  return usageKeyShapes.some((matches) => matches(asSampleMonth));
}
/** The marker poll's command: coherence whatever marker comes first in it (a usage figure too). */
const markerPollCommands = new Set(["MGET"]);
/** Commands whose keys follow `numkeys` (EVALSHA sha numkeys key1 ...). */
const scriptCommands = new Set(["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"]);
/** Commands that name no key at all. */
const keylessCommands = new Set(["TIME", "PING", "ECHO", "INFO", "DBSIZE", "SCRIPT", "FLUSHALL", "FLUSHDB", "CONFIG", "COMMAND", "LASTSAVE", "RANDOMKEY"]);

export function firstKey(command: readonly RedisArg[]): string | undefined {
  const name = String(command[0] ?? "").toUpperCase();
  if (keylessCommands.has(name)) return undefined;
  if (scriptCommands.has(name)) return Number(String(command[2] ?? "0")) > 0 && command[3] !== undefined ? String(command[3]) : undefined;
  return command[1] === undefined ? undefined : String(command[1]);
}

export function classify(command: readonly RedisArg[]): { purpose: RedisPurpose; other?: OtherKind } {
  const key = firstKey(command);
  if (key === undefined) return { purpose: "other", other: "noKey" };
  if (isUsageKey(key) && !markerPollCommands.has(String(command[0] ?? "").toUpperCase())) return { purpose: "credits" };
  if (coherencePrefixes.some((prefix) => key.startsWith(prefix))) return { purpose: "coherence" };
  if (isEnabledAppsKey(key) || isInstallsKey(key)) return { purpose: "enrichment" };
  if (isThresholdKey(key)) return { purpose: "other", other: "freemiumThreshold" };
  if (key === statsStreamKey) return { purpose: "other", other: "statsStream" };
  return { purpose: "other", other: "unrecognised" };
}

export interface RedisCommandCounts {
  total: number;
  byPurpose: Record<RedisPurpose, number>;
  /** Per purpose, by command name (`MGET`, `EVALSHA`, ...). */
  byCommand: Record<RedisPurpose, Record<string, number>>;
  /** `other` by what it was about. */
  otherByKind: Partial<Record<OtherKind, number>>;
  /** A few unrecognised commands (name and first key), to look at. */
  unrecognised: string[];
}

const emptyCounts = (): RedisCommandCounts => ({
  total: 0,
  byPurpose: { coherence: 0, credits: 0, enrichment: 0, other: 0 },
  byCommand: { coherence: {}, credits: {}, enrichment: {}, other: {} },
  otherByKind: {},
  unrecognised: [],
});

/** The gateway hook's tally; `take()` returns what was counted since the last take (or reset). */
export class RedisCommandTally {
  private counts = emptyCounts();

  /** For `startUpstashGateway({ onCommand })`: cheap, never throws. */
  readonly onCommand = (command: readonly RedisArg[]): void => {
    try {
      const { purpose, other } = classify(command);
      const name = String(command[0] ?? "").toUpperCase();
      const counts = this.counts;
      counts.total++;
      counts.byPurpose[purpose]++;
      counts.byCommand[purpose][name] = (counts.byCommand[purpose][name] ?? 0) + 1;
      if (other !== undefined) {
        counts.otherByKind[other] = (counts.otherByKind[other] ?? 0) + 1;
        if (other === "unrecognised" && counts.unrecognised.length < 5) counts.unrecognised.push(`${name} ${firstKey(command) ?? ""}`);
      }
    } catch {
      // Counting must never fail a request.
    }
  };

  reset(): void {
    this.counts = emptyCounts();
  }

  take(): RedisCommandCounts {
    const counts = this.counts;
    this.counts = emptyCounts();
    return counts;
  }
}
