/**
 * Redis commands as Upstash bills them, counted at the Upstash gateway every client reaches
 * Redis through (the instances and the Functions emulator's triggers alike; the harness seeds
 * redis-server directly, so its own commands never pass here): one per command sent over REST,
 * a pipeline or multi-exec of N commands is N, EVAL/EVALSHA is one whatever the script runs.
 *
 * Each command is put to a purpose by production's classifier (functions/src/redis/command-purposes.ts,
 * the one the instances' usage meter counts with); the bench reports its four groups:
 * - coherence: the marker polls (`markerPoll`) and the bump scripts (`markerBump`);
 * - credits: the usage ledger's scripts (`usageLedger`);
 * - enrichment: the enabled-apps sets and the install counters (`enabledApps`, `installs`);
 * - other: everything else (the freemium threshold's SET NX, the stats stream's XADD and
 *   XRANGE, commands without a key, unrecognised ones), told apart by `OtherKind`.
 */
import {
  firstKey,
  RedisCommandPurpose,
  redisCommandPurpose,
  redisCommandPurposes,
  RedisPurposeGroup,
  redisPurposeGroups,
} from "../functions/src/redis/command-purposes";
import type { RedisArg } from "../scripts/stack/upstash-gateway";

export { firstKey };

export const redisPurposes = redisPurposeGroups;
export type RedisPurpose = RedisPurposeGroup;

/** What an `other` command was about (to tell an expected one from a surprise). */
export type OtherKind = "freemiumThreshold" | "statsStream" | "noKey" | "unrecognised";

const otherKinds: Partial<Record<RedisCommandPurpose, OtherKind>> = {
  freemiumThreshold: "freemiumThreshold",
  statsPublish: "statsStream",
  statsRead: "statsStream",
  noKey: "noKey",
  unrecognised: "unrecognised",
};

export function classify(command: readonly RedisArg[]): { purpose: RedisPurpose; other?: OtherKind; detail: RedisCommandPurpose } {
  const detail = redisCommandPurpose(command);
  const purpose = redisCommandPurposes[detail];
  const other = otherKinds[detail];
  return other === undefined ? { purpose, detail } : { purpose, other, detail };
}

export interface RedisCommandCounts {
  total: number;
  byPurpose: Record<RedisPurpose, number>;
  /** Per purpose, by command name (`MGET`, `EVALSHA`, ...). */
  byCommand: Record<RedisPurpose, Record<string, number>>;
  /** `other` by what it was about. */
  otherByKind: Partial<Record<OtherKind, number>>;
  /**
   * By production's finer purpose (`markerPoll`, `markerBump`, `usageLedger`, ...), as cacheStats
   * shows them. Always set by the tally; optional so counts built elsewhere need not carry it.
   */
  byDetail?: Partial<Record<RedisCommandPurpose, number>>;
  /** A few unrecognised commands (name and first key), to look at. */
  unrecognised: string[];
}

const emptyCounts = (): RedisCommandCounts => ({
  total: 0,
  byPurpose: { coherence: 0, credits: 0, enrichment: 0, other: 0 },
  byCommand: { coherence: {}, credits: {}, enrichment: {}, other: {} },
  otherByKind: {},
  byDetail: {},
  unrecognised: [],
});

/** The gateway hook's tally; `take()` returns what was counted since the last take (or reset). */
export class RedisCommandTally {
  private counts = emptyCounts();

  /** For `startUpstashGateway({ onCommand })`: cheap, never throws. */
  readonly onCommand = (command: readonly RedisArg[]): void => {
    try {
      const { purpose, other, detail } = classify(command);
      const name = String(command[0] ?? "").toUpperCase();
      const counts = this.counts;
      counts.total++;
      counts.byPurpose[purpose]++;
      counts.byCommand[purpose][name] = (counts.byCommand[purpose][name] ?? 0) + 1;
      const byDetail = (counts.byDetail ??= {});
      byDetail[detail] = (byDetail[detail] ?? 0) + 1;
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
