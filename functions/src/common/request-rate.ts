import { Clock } from "./clock";

/**
 * How many events a second happen lately: an exponentially decaying count (each event weighs
 * e^(-age / windowMs)), so a burst is seen at once and an idle spell fades in about a window.
 * Constant memory and time per event; the clock is injected so tests move it by hand.
 */
export class RequestRate {
  private weight = 0;
  private lastMs: number | undefined;

  /** `windowMs`: the decay time constant (ms); a steady rate r reads r once the count has run for a few windows. */
  constructor(
    private readonly clock: Clock,
    private readonly windowMs = 10_000,
  ) {}

  note(): void {
    const nowMs = this.clock.now();
    this.weight = this.decayedTo(nowMs) + 1;
    this.lastMs = nowMs;
  }

  /** Events per ms lately. */
  perMs(): number {
    return this.decayedTo(this.clock.now()) / this.windowMs;
  }

  private decayedTo(nowMs: number): number {
    if (this.lastMs === undefined) return 0;
    return this.weight * Math.exp(-Math.max(0, nowMs - this.lastMs) / this.windowMs);
  }
}
