/**
 * Freshness as measured in production: for each marker change an instance sees, how long
 * after the marker write the instance went on answering from the old version (see
 * MarkerWatcher for how one sample is taken and how clock skew is bounded). Samples go into a
 * fixed-bucket histogram per scope family (tester, mentor, credits, apps, ...): histograms of
 * many instances add up exactly, which per-instance percentiles would not, so `cacheStats`
 * can give fleet-wide p50/p99 from the snapshots every instance publishes.
 */
import { freshnessPromiseMs } from "../cache/settings";

/**
 * Upper bounds of the histogram buckets, in ms. Fine around the 2 s promise, coarse beyond.
 * A reported percentile is the upper bound of the bucket it falls in (never an under-report),
 * capped at the exact maximum. Appending bounds is safe; changing one changes what old
 * snapshots mean, so bump `histogramVersion` then.
 */
export const bucketBoundsMs = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  300,
  500,
  750,
  1000,
  1250,
  1500,
  1750,
  2000,
  2500,
  3000,
  5000,
  10_000,
  30_000,
  60_000,
  300_000,
  Infinity,
] as const;
export const histogramVersion = 1;

/** At most this many families per instance; anything beyond is counted as `other`. */
const maxFamilies = 16;

export interface FreshnessHistogram {
  /** Samples per bucket, aligned with `bucketBoundsMs`. */
  buckets: number[];
  samples: number;
  maxMs: number;
  /** Samples above the promise: answers from the old version served more than 2 s after the write. */
  overPromise: number;
  /** Changes seen without a write time (a marker written by an older writer): not measured. */
  unmeasured: number;
}

export interface FreshnessSummary {
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  overPromise: number;
  unmeasured: number;
  /** No sample above the promise (true with no samples: nothing was late). */
  promiseKept: boolean;
}

/** `tester:abc` → `tester`, `apps:owner:abc` → `apps`: the kind of data a marker guards. */
export function scopeFamily(scope: string): string {
  const colon = scope.indexOf(":");
  return colon === -1 ? scope : scope.slice(0, colon);
}

export function emptyHistogram(): FreshnessHistogram {
  return { buckets: bucketBoundsMs.map(() => 0), samples: 0, maxMs: 0, overPromise: 0, unmeasured: 0 };
}

export function addSample(histogram: FreshnessHistogram, delayMs: number): void {
  const ms = Math.max(0, delayMs);
  const index = bucketBoundsMs.findIndex((bound) => ms <= bound);
  histogram.buckets[index] = (histogram.buckets[index] ?? 0) + 1;
  histogram.samples++;
  histogram.maxMs = Math.max(histogram.maxMs, ms);
  if (ms > freshnessPromiseMs) histogram.overPromise++;
}

/** Sums histograms (of many instances, or of many families). Ignores malformed input. */
export function mergeHistograms(histograms: readonly FreshnessHistogram[]): FreshnessHistogram {
  const total = emptyHistogram();
  for (const h of histograms) {
    if (!Array.isArray(h.buckets) || h.buckets.length !== bucketBoundsMs.length) continue;
    h.buckets.forEach((count, i) => (total.buckets[i] = (total.buckets[i] ?? 0) + (Number(count) || 0)));
    total.samples += Number(h.samples) || 0;
    total.maxMs = Math.max(total.maxMs, Number(h.maxMs) || 0);
    total.overPromise += Number(h.overPromise) || 0;
    total.unmeasured += Number(h.unmeasured) || 0;
  }
  return total;
}

/** The q-quantile (0 < q ≤ 1) as the upper bound of its bucket, capped at the maximum. */
export function percentileMs(histogram: FreshnessHistogram, q: number): number | null {
  if (histogram.samples === 0) return null;
  const rank = Math.max(1, Math.ceil(q * histogram.samples));
  let seen = 0;
  for (let i = 0; i < bucketBoundsMs.length; i++) {
    seen += histogram.buckets[i] ?? 0;
    if (seen >= rank) return Math.round(Math.min(bucketBoundsMs[i] ?? Infinity, histogram.maxMs));
  }
  return Math.round(histogram.maxMs);
}

export function summarize(histogram: FreshnessHistogram): FreshnessSummary {
  const empty = histogram.samples === 0;
  return {
    samples: histogram.samples,
    p50Ms: percentileMs(histogram, 0.5),
    p99Ms: percentileMs(histogram, 0.99),
    maxMs: empty ? null : Math.round(histogram.maxMs),
    overPromise: histogram.overPromise,
    unmeasured: histogram.unmeasured,
    promiseKept: histogram.overPromise === 0,
  };
}

/** One instance's samples, per family, since the instance started. */
export class FreshnessRecorder {
  private readonly families = new Map<string, FreshnessHistogram>();

  /** `delayMs` undefined: a change seen whose write time is unknown. */
  record(scope: string, delayMs: number | undefined): void {
    const histogram = this.histogramFor(scopeFamily(scope));
    if (delayMs === undefined) histogram.unmeasured++;
    else addSample(histogram, delayMs);
  }

  /** A copy, safe to serialize while samples keep coming. */
  snapshot(): Record<string, FreshnessHistogram> {
    const copy: Record<string, FreshnessHistogram> = {};
    for (const [family, h] of this.families) copy[family] = { ...h, buckets: [...h.buckets] };
    return copy;
  }

  reset(): void {
    this.families.clear();
  }

  private histogramFor(family: string): FreshnessHistogram {
    const name = this.families.has(family) || this.families.size < maxFamilies ? family : "other";
    let histogram = this.families.get(name);
    if (!histogram) {
      histogram = emptyHistogram();
      this.families.set(name, histogram);
    }
    return histogram;
  }
}
