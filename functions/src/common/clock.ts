/** Milliseconds on a monotonic clock. Injected so TTL logic is testable without sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };

/** Unix ms: for comparing with times stamped by another machine (Redis's TIME). */
export const wallClock: Clock = { now: () => Date.now() };

/**
 * A clock that only moves when told to: for tests and compressed-time benchmarks.
 * It never reads 0: lru-cache takes a start time of 0 to mean "no TTL".
 */
export class ManualClock implements Clock {
  constructor(private nowMs = 1_000_000) {
    if (nowMs <= 0) throw new RangeError("ManualClock must start after 0 (lru-cache reads 0 as no TTL)");
  }
  now(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
}
