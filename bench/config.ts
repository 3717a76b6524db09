/**
 * The bench's size and timing, in one place: every knob `npm run bench`, `bench:interval` and
 * `bench:curve` read from the environment (BENCH_*), with its default. Written into each
 * results file as its `config`.
 */
import { markerPollIntervalMsParam } from "../functions/src/config";
import type { SeedConfig } from "./model";

/** A numeric knob from the environment: its value as `parse` reads it, or `defaultValue` when unset. */
export function envNumber(name: string, defaultValue: number, parse: (raw: string) => number = Number): number {
  const raw = process.env[name];
  return raw ? parse(raw) : defaultValue;
}

const envInt = (name: string, defaultValue: number) => envNumber(name, defaultValue, (raw) => Number.parseInt(raw, 10));

/** The product's poll interval when MARKER_POLL_INTERVAL_MS is not set (its param's default). */
const declaredPollIntervalMs: unknown = markerPollIntervalMsParam.options.default;
export const defaultPollIntervalMs = typeof declaredPollIntervalMs === "number" ? declaredPollIntervalMs : 1000;

export const benchConfig = {
  instances: envInt("BENCH_INSTANCES", 3),
  simulatedMinutes: envInt("BENCH_MINUTES", 4),
  liveSessions: envInt("BENCH_SESSIONS", 24),
  /** Sessions that end (and are replaced by other users' new sessions) every simulated minute. */
  sessionTurnoverPerMinute: 6,
  tickMs: 250,
  /**
   * The marker poll interval of the instances (MARKER_POLL_INTERVAL_MS in their environment);
   * the product's default when BENCH_POLL_INTERVAL_MS is not set.
   */
  pollIntervalMs: envInt("BENCH_POLL_INTERVAL_MS", defaultPollIntervalMs),
  /**
   * Changes come at seeded random times: the first this far into a phase, then one every gap
   * drawn (whole ms) from this range, 19 s on average. A range 10 s wide (a whole number of
   * every poll interval measured) spreads the changes evenly over the phase of each instance's
   * poll, and off the reference's 30 s TTL grid.
   */
  firstChangeMs: { min: 5_000, max: 10_000 },
  changeGapMs: { min: 14_000, max: 24_000 },
  /**
   * Simulated time from a change's commit to its Firestore trigger's delivery (BENCH_TRIGGER_DELAY_MS).
   * It applies to every change: a change made elsewhere is bumped only then; a callable-driven
   * change was bumped at its commit, and its trigger must bump nothing.
   */
  triggerDelayMs: envInt("BENCH_TRIGGER_DELAY_MS", 3_000),
  /** A change is made only if its trigger is delivered this long before its phase ends (so it is probed in that phase). */
  changeTailMs: 5_000,
  /** The contract's bound (instance clock): from the commit for a callable-driven change, from the trigger's marker write for one made elsewhere. */
  freshnessBoundMs: 2_000,
  /** Probing a change stops after this long (from its commit) even if an instance still serves the old state. */
  probeTimeoutMs: 45_000,
  bucketMs: 30_000,
  /** The low-load phase after the main run: this long, one request per simulated second per instance. */
  lowLoadSimulatedSeconds: envInt("BENCH_LOW_LOAD_SECONDS", 120),
  /** In the low-load phase, every this many seconds an instance's request is a recordTranscriptionUsage. */
  lowLoadUsageEverySeconds: 60,
  /** Seconds in each usage report. */
  reportSeconds: 60,
  /**
   * The share of the main run's usage reports delivered twice: the same data and reportId again,
   * on a random instance, 1 to `reportRetryMaxTicks` ticks after the first delivery was answered
   * (a client retrying a call whose answer it lost). Drawn from their own seeded stream, so the
   * rest of the workload is the same calls as without them.
   */
  reportRetryShare: 0.05,
  reportRetryMaxTicks: 8,
  /**
   * The share of the main run's usage reports after which the same user asks getCredits on
   * another instance (a random one), 0 to `creditProbeMaxDelayMs` (in whole ticks) after the
   * report was answered: where the fleet's 2 s lag shows. Drawn from their own seeded stream.
   */
  creditProbeShare: 0.25,
  creditProbeMaxDelayMs: 3_000,
  seed: {
    users: envInt("BENCH_USERS", 200),
    heavyUsers: 20,
    publicApps: 200,
    privateApps: 30,
    unapprovedApps: 30,
    disabledApps: 5,
    testers: 12,
    basicLimitSeconds: 1800,
  } satisfies SeedConfig,
};
export type BenchConfig = typeof benchConfig;

/** What one policy run measures: its length and the instances' poll interval. */
export interface RunOptions {
  simulatedMinutes: number;
  lowLoadSimulatedSeconds: number;
  pollIntervalMs: number;
}
