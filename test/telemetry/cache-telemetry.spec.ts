/**
 * The operators' figures line (logs.cacheFigures, every 5 minutes per instance): flat numbers
 * a log-based metric can extract (docs/operations.md), then the detail per family and cache.
 */
import assert from "node:assert/strict";
import { figuresFields } from "../../functions/src/telemetry/cache-telemetry";
import { InstanceSnapshot } from "../../functions/src/telemetry/fleet-stats";
import { addSample, emptyHistogram } from "../../functions/src/telemetry/freshness";

describe("the cache figures log line", () => {
  it("carries the fields docs/operations.md filters and extracts", () => {
    const tester = emptyHistogram();
    addSample(tester, 300);
    addSample(tester, 2_500);
    const cache = {
      name: "testerRecords",
      entries: 3,
      bytes: 300,
      maxEntries: 10,
      maxBytes: 1000,
      hits: 6,
      misses: 2,
      hitRate: 0.75,
      evictions: 1,
      fetches: 2,
      fetchErrors: 0,
      collapsedFetches: 0,
      patchedFetches: 0,
      adoptedEntries: 0,
      invalidations: 0,
      discardedFetches: 0,
      tooLarge: 0,
      securitySensitive: true,
      bypassedWhileMarkersUnreadable: 4,
      servedWhileMarkersUnreadable: 0,
      readThroughLookups: 0,
    };
    const snapshot: InstanceSnapshot = {
      v: 1,
      function: "getAvailableApps",
      instance: "abc",
      startedAtMs: 1_000,
      publishedAtMs: 61_000,
      caches: [cache],
      freshness: { tester },
      markers: { markerChecks: 50, markerCheckErrors: 2, markerChangesSeen: 2, trackedScopes: 3, markersHealthy: true },
    };
    const fields = figuresFields(snapshot);
    assert.deepEqual(
      [fields.function, fields.instance, fields.uptimeMs, fields.lookups, fields.hitRate, fields.failClosedBypasses, fields.markerCheckErrors],
      ["getAvailableApps", "abc", 60_000, 8, 0.75, 4, 2],
    );
    assert.deepEqual([fields.freshnessSamples, fields.freshnessP50Ms, fields.freshnessMaxMs, fields.freshnessOverPromise], [2, 300, 2_500, 1]);
    assert.deepEqual(Object.keys(fields.caches as object), ["testerRecords"]);
    assert.equal((fields.freshness as Record<string, { samples: number }>).tester?.samples, 2);
  });
});
