/**
 * What the marketplace reads from Firestore, behind module-scope caches that survive warm
 * starts. Four entries make up one caller's view:
 *
 * | cache         | key                 | scopes                               | on unreadable markers     |
 * |---------------|---------------------|--------------------------------------|---------------------------|
 * | publicApps    | `all`               | `apps:public`                        | served at most 30 s old   |
 * | ownApps       | `{uid}`             | `apps:owner:{uid}`                   | read from Firestore       |
 * | testerRecords | `{uid}`             | `tester:{uid}`                       | read from Firestore       |
 * | testerApps    | `{uid}#{listHash}`  | `tester:{uid}`, `apps:unapproved`,   | read from Firestore       |
 * |               |                     | `apps:public`                        |                           |
 *
 * Every change to an app or a tester bumps the markers these depend on, so their TTL is only
 * the safety net (`markerGuardedTtlMs`). A change to one public app is re-read alone: the
 * trigger names the app in the `apps:public` marker's log, and the cached list is patched.
 *
 * The tester-app entry is keyed by a hash of the tester list it was built from, so a tester
 * record fetched fresher than a tester-app entry (say after an LRU eviction, before the
 * trigger's marker lands) can never be served with apps of another list; a non-tester never
 * reads it at all. `apps:unapproved` is only a dependency of testers' entries, so a change
 * to an unapproved app refetches the few testers' views, not every user's.
 *
 * The owner's and the tester's views each decide alone whether the apps they name are
 * visible: they keep an app that has become public and approved, although the public list
 * carries it too. Each entry is read at its own time, and a change made outside the suite
 * reaches the markers only when its trigger runs: a view read after an approval, joined to a
 * public list read before it, would otherwise drop the app from both (neither the old state
 * nor the new). So the owner's entry holds all their apps (every change to one bumps
 * `apps:owner:{uid}`), and a tester's entry also depends on `apps:public`, the marker every
 * change to a public app bumps.
 */
import { createHash } from "node:crypto";
import { cacheNames } from "../cache/names";
import { markerGuardedTtlMs } from "../cache/settings";
import { firestore, getDocuments, runQuery } from "../firestore";
import { createCache, instanceRuntime } from "../instance/runtime";
import { scopes } from "../redis/markers";
import { App, appFromSnapshot, appsCollection, isPublicApproved, storedTesterApps, testersCollection } from "./model";

/** The contract's bound on a public list served while markers cannot be read. */
export const publicAppsUnverifiedMaxAgeMs = 30_000;

export interface TesterRecord {
  tester: boolean;
  /** App ids the tester may see while unapproved: unique, sorted (the key of their tester-app entry). */
  apps: string[];
}

const notATester: TesterRecord = { tester: false, apps: [] };

const publicAppsCache = createCache<App[]>({
  name: cacheNames.publicApps,
  ttlMs: markerGuardedTtlMs,
  unverifiedMaxAgeMs: publicAppsUnverifiedMaxAgeMs,
  maxEntries: 1,
  maxBytes: 32 * 1024 * 1024,
});

const ownAppsCache = createCache<App[]>({
  name: cacheNames.ownApps,
  ttlMs: markerGuardedTtlMs,
  maxEntries: 50_000,
  maxBytes: 32 * 1024 * 1024,
  securitySensitive: true,
});

const testerRecordCache = createCache<TesterRecord>({
  name: cacheNames.testerRecords,
  ttlMs: markerGuardedTtlMs,
  maxEntries: 100_000,
  maxBytes: 16 * 1024 * 1024,
  securitySensitive: true,
});

const testerAppsCache = createCache<App[]>({
  name: cacheNames.testerApps,
  ttlMs: markerGuardedTtlMs,
  maxEntries: 10_000,
  maxBytes: 16 * 1024 * 1024,
  securitySensitive: true,
});

const byId = (a: App, b: App) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const isListedPublicly = (app: App) => !app.disabled && isPublicApproved(app);

async function readPublicApps(): Promise<App[]> {
  // Equality filters only: served by single-field indexes, no composite index needed.
  const snapshot = await runQuery(appsCollection, firestore().collection(appsCollection).where("private", "==", false).where("approved", "==", true));
  return snapshot.docs.map(appFromSnapshot).filter(isListedPublicly).sort(byId);
}

/** The public list after changes to `changedIds`: those apps re-read, the others kept. */
async function patchPublicApps(previous: readonly App[], changedIds: readonly string[]): Promise<App[]> {
  const changed = new Set(changedIds);
  const db = firestore();
  const snapshots = changedIds.length === 0 ? [] : await getDocuments(changedIds.map((id) => db.collection(appsCollection).doc(id)));
  const current = snapshots
    .filter((s) => s.exists)
    .map(appFromSnapshot)
    .filter(isListedPublicly);
  return [...previous.filter((app) => !changed.has(app.id)), ...current].sort(byId);
}

/** The caller's own enabled apps, in every state: the owner sees each of them. */
async function readOwnApps(uid: string): Promise<App[]> {
  const snapshot = await runQuery(appsCollection, firestore().collection(appsCollection).where("uid", "==", uid));
  return snapshot.docs.map(appFromSnapshot).filter((app) => !app.disabled && app.uid === uid);
}

async function readTesterRecord(uid: string): Promise<TesterRecord> {
  const [snapshot] = await getDocuments([firestore().collection(testersCollection).doc(uid)]);
  if (!snapshot?.exists) return notATester;
  return { tester: true, apps: storedTesterApps(snapshot.get("apps")).sort() };
}

/** The enabled apps of a tester list that a tester sees: unapproved ones, and public approved ones (one batched get, however long the list). */
async function readTesterApps(appIds: readonly string[]): Promise<App[]> {
  if (appIds.length === 0) return [];
  const db = firestore();
  const snapshots = await getDocuments(appIds.map((id) => db.collection(appsCollection).doc(id)));
  return snapshots
    .filter((s) => s.exists)
    .map(appFromSnapshot)
    .filter((app) => !app.disabled && (!app.approved || isPublicApproved(app)));
}

/** A short, stable name for a list of app ids (cache keys). */
export function listHash(appIds: readonly string[]): string {
  return createHash("sha256").update(appIds.join("\n")).digest("base64url").slice(0, 22);
}

export function publicApps(): Promise<App[]> {
  return publicAppsCache.get("all", [scopes.publicApps], readPublicApps, { patch: patchPublicApps });
}

export function ownApps(uid: string, options: { leavePoll?: boolean } = {}): Promise<App[]> {
  return ownAppsCache.get(uid, [scopes.appOwner(uid)], () => readOwnApps(uid), options);
}

export function testerRecord(uid: string, options: { leavePoll?: boolean } = {}): Promise<TesterRecord> {
  return testerRecordCache.get(uid, [scopes.tester(uid)], () => readTesterRecord(uid), options);
}

export function testerApps(uid: string, record: TesterRecord): Promise<App[]> {
  if (!record.tester || record.apps.length === 0) return Promise.resolve([]);
  return testerAppsCache.get(`${uid}#${listHash(record.apps)}`, [scopes.tester(uid), scopes.unapprovedApps, scopes.publicApps], () =>
    readTesterApps(record.apps),
  );
}

/**
 * Every app `uid` may see: public approved + own private + own unapproved + (tester) the
 * unapproved apps of their tester list; disabled ones left out; each id once (the first
 * source wins). The apps are the cached, frozen objects: callers build new ones. Most callers
 * see just the public list, and get that cached array itself.
 */
export async function visibleApps(uid: string, options: { personal?: (apps: readonly App[]) => void } = {}): Promise<readonly App[]> {
  // The caller's own view first. For a caller new to this instance it is read at once, with no
  // poll (there is nothing cached to check), and the poll the public list then makes carries
  // what the caller's apps need (`personal`: their install counts, apps/enrichment.ts). For a
  // known caller the first lookup polls when one is due, as any would.
  // The public list's scope is named first, so whichever lookup polls reads it with the rest.
  instanceRuntime().markerWatcher().expect([scopes.publicApps]);
  const [own, record] = await Promise.all([ownApps(uid, { leavePoll: true }), testerRecord(uid, { leavePoll: true })]);
  options.personal?.(own);
  const tested = await testerApps(uid, record);
  options.personal?.(tested);
  const publicList = await publicApps();
  if (own.length === 0 && tested.length === 0) return publicList;
  const byId = new Map<string, App>();
  for (const app of [...publicList, ...own, ...tested]) {
    if (!app.disabled && !byId.has(app.id)) byId.set(app.id, app);
  }
  return [...byId.values()];
}

/** The caller changed tester data on this instance: drop it here at once (others follow the marker). */
export function forgetTester(uid: string): void {
  testerRecordCache.invalidate(uid);
  testerAppsCache.invalidatePrefix(`${uid}#`);
}
