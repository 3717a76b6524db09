/**
 * Invalidation markers: one versioned key per scope (`inv:<scope>`), bumped with INCR by
 * every writer. Readers remember the version they cached under; any change means refetch.
 * A counter, not a flag: a change is never hidden by a flag's expiry or a second writer.
 */
import { redis } from "./client";

export const markerKeyPrefix = "inv:";

/**
 * Far longer than the longest TTL a marker guards (credits, 15 min): a marker that expired
 * reads as null, which a reader that remembered a number treats as a change (a refetch).
 */
export const markerTtlSeconds = 24 * 60 * 60;

/** The scopes of invalidation. A cached entry names the scopes whose change makes it stale. */
export const scopes = {
  tester: (uid: string) => `tester:${uid}`,
  mentor: (uid: string) => `mentor:${uid}`,
  credits: (uid: string) => `credits:${uid}`,
  appOwner: (uid: string) => `apps:owner:${uid}`,
  publicApps: "apps:public",
  unapprovedApps: "apps:unapproved",
} as const;

export function markerKey(scope: string): string {
  return markerKeyPrefix + scope;
}

/**
 * Bumps each scope's version (INCR + EXPIRE in one round trip). Idempotent in effect: a
 * duplicate delivery only bumps again, which costs readers one extra refetch.
 * Throws when Redis does not confirm every bump, so the caller can retry or answer 5xx.
 */
export async function bumpMarkers(scopeNames: readonly string[]): Promise<void> {
  const unique = [...new Set(scopeNames)];
  if (unique.length === 0) return;
  const pipeline = redis().pipeline();
  for (const scope of unique) {
    pipeline.incr(markerKey(scope));
    pipeline.expire(markerKey(scope), markerTtlSeconds);
  }
  await pipeline.exec();
}
