import { logger } from "firebase-functions/v2";
import { Clock } from "./cache/clock";

/**
 * A warning about a failing dependency, logged at most once per `intervalMs` per instance:
 * a Redis outage is worth one line a minute, not one per request.
 */
export class ThrottledWarning {
  private lastLoggedAtMs = -Infinity;

  constructor(
    private readonly message: string,
    private readonly intervalMs: number,
    private readonly clock: Clock,
  ) {}

  warn(error: unknown): void {
    const nowMs = this.clock.now();
    if (nowMs - this.lastLoggedAtMs < this.intervalMs) return;
    this.lastLoggedAtMs = nowMs;
    logger.warn(this.message, { error: error instanceof Error ? error.message : String(error) });
  }

  /** Log the next failure at once (a cold start, in tests). */
  reset(): void {
    this.lastLoggedAtMs = -Infinity;
  }
}
