import { Clock } from "./clock";

/**
 * At most one run per `intervalMs` per instance: a Redis outage is worth one log line a
 * minute, not one per request. Each run is told how many calls were skipped since the last.
 */
export class Throttle {
  private lastRunAtMs = -Infinity;
  private skipped = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly clock: Clock,
  ) {}

  run(action: (skippedSinceLastRun: number) => void): void {
    const nowMs = this.clock.now();
    if (nowMs - this.lastRunAtMs < this.intervalMs) {
      this.skipped++;
      return;
    }
    this.lastRunAtMs = nowMs;
    const skipped = this.skipped;
    this.skipped = 0;
    action(skipped);
  }

  /** Run the next call at once (a cold start, in tests). */
  reset(): void {
    this.lastRunAtMs = -Infinity;
    this.skipped = 0;
  }
}
