/**
 * Helpers for what the cache stores: a size estimate that is cheap and honest, and a deep
 * freeze so that no caller can change the copy every other caller will be served.
 */

/**
 * Approximate heap bytes of a JSON-like value, by V8's layout: strings take 2 bytes per
 * UTF-16 unit plus a header, numbers are boxed doubles, objects and arrays carry headers and
 * a slot per property. Not exact, but proportional, and it never undercounts by an order
 * of magnitude the way a JSON length would for number-heavy values.
 */
export function estimateBytes(value: unknown): number {
  const seen = new Set<object>();
  const walk = (v: unknown): number => {
    switch (typeof v) {
      case "string":
        return 16 + 2 * v.length;
      case "number":
      case "bigint":
        return 16;
      case "boolean":
      case "undefined":
        return 8;
      case "object": {
        if (v === null) return 8;
        if (seen.has(v)) return 8;
        seen.add(v);
        if (v instanceof Date) return 32;
        if (Array.isArray(v)) {
          let total = 32 + 8 * v.length;
          for (const item of v) total += walk(item);
          return total;
        }
        let total = 32;
        for (const [key, item] of Object.entries(v)) total += 8 + 16 + 2 * key.length + walk(item);
        return total;
      }
      default:
        return 8;
    }
  };
  return walk(value);
}

/** Freezes a value and everything reachable from it; returns the same value. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const item of Object.values(value as object)) deepFreeze(item);
  return value;
}
