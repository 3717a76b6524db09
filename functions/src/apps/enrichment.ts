/**
 * Per-caller data that lives in Redis: which apps the caller enabled
 * (`users:{uid}:enabled_apps`, a set) and each app's install count (`apps:{appId}:installs`).
 * Read fresh on every call in one pipeline (SMEMBERS + MGET: two commands, one round trip,
 * whatever the number of apps), never cached, so an enable shows up at once everywhere.
 */
import { LRUCache } from "lru-cache";
import { instanceClock } from "../cache/instance";
import { redis } from "../redis/client";
import * as logs from "../logs";
import { Throttle } from "../throttle";
import { App, AvailableApp } from "./model";

export const enabledAppsKey = (uid: string) => `users:${uid}:enabled_apps`;
export const installsKey = (appId: string) => `apps:${appId}:installs`;

const enrichmentWarning = new Throttle(60_000, instanceClock);

/** Install counts seen last, served while Redis cannot be read (a count is public, not per user). */
const lastKnownInstalls = new LRUCache<string, number>({ max: 50_000 });

function parseCount(raw: unknown): number {
  const count = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : 0;
  return Number.isFinite(count) && count > 0 ? Math.floor(count) : 0;
}

/** A new object per app and caller: the cached app is frozen and shared by every caller. */
function toAvailable(app: App, enabled: boolean, installs: number): AvailableApp {
  // `disabled` is left out: it is always false here (disabled apps are never served).
  return {
    id: app.id,
    name: app.name,
    uid: app.uid,
    private: app.private,
    approved: app.approved,
    status: app.status,
    category: app.category,
    description: app.description,
    image: app.image,
    capabilities: [...app.capabilities],
    created_at: app.created_at,
    enabled,
    installs,
    rejected: app.status === "rejected",
  };
}

/**
 * The apps with the caller's `enabled` and the current `installs`. When Redis fails, the apps
 * are still served: `enabled: false` (never another user's value) and the last known counts.
 */
export async function enrich(uid: string, apps: readonly App[]): Promise<AvailableApp[]> {
  if (apps.length === 0) return [];
  try {
    const pipeline = redis().pipeline();
    pipeline.smembers(enabledAppsKey(uid));
    pipeline.mget(...apps.map((app) => installsKey(app.id)));
    const [members, counts] = (await pipeline.exec()) as [unknown, unknown];
    const enabled = new Set(Array.isArray(members) ? members.map(String) : []);
    const countList = Array.isArray(counts) ? counts : [];
    return apps.map((app, i) => {
      const installs = parseCount(countList[i]);
      lastKnownInstalls.set(app.id, installs);
      return toAvailable(app, enabled.has(app.id), installs);
    });
  } catch (error) {
    enrichmentWarning.run((skipped) => logs.enrichmentUnavailable(error, { failuresSinceLastLine: skipped + 1 }));
    return apps.map((app) => toAvailable(app, false, lastKnownInstalls.get(app.id) ?? 0));
  }
}
