/**
 * The floor: the fewest Firestore document reads the calls a run actually made could cost,
 * whatever the cache design. Each cache key is read once per instance, the first time that
 * instance needs it, and each changed document once more per instance. Nothing is re-read
 * on a TTL, after a failure, or to confirm freshness.
 *
 * From the calls (name, uid, instance) and the model (bench/model.ts: the state at run start
 * plus the changes applied so far, read when the key is first needed):
 * - per instance that served any getAvailableApps, enableApp or disableApp: the public
 *   approved list once (the public, approved, non-disabled apps at run start);
 * - per (instance, uid) that called getAvailableApps:
 *   - the uid's own apps: max(1, the uid's non-disabled apps that are not public and
 *     approved). A query that returns no documents is billed 1 read;
 *   - the tester record: 1;
 *   - the tester's apps: the size of the uid's tester list, if the uid is a tester;
 * - per (instance, uid) that called getMentorNotificationFrequency: 1 (the user document);
 * - per (instance, uid) that called recordTranscriptionUsage or getCredits: 1 (the user
 *   document), plus 1 (the month's usage aggregation) when the uid is on the basic plan;
 * - per change: 1 read per instance (the changed document, once on each instance).
 */
import type { ModelState } from "./model";

export interface FloorParts {
  publicList: number;
  ownApps: number;
  testerRecords: number;
  testerApps: number;
  mentor: number;
  credits: number;
  changes: number;
}

export interface FloorFigures {
  reads: number;
  parts: FloorParts;
}

const appListCalls = new Set(["getAvailableApps", "enableApp", "disableApp"]);
const creditCalls = new Set(["recordTranscriptionUsage", "getCredits"]);

export class FloorCounter {
  private readonly parts: FloorParts = { publicList: 0, ownApps: 0, testerRecords: 0, testerApps: 0, mentor: 0, credits: 0, changes: 0 };
  private readonly seen = new Set<string>();
  private readonly publicAtStart: number;

  constructor(
    private readonly state: ModelState,
    private readonly instances: number,
  ) {
    this.publicAtStart = [...state.apps.values()].filter((app) => app.approved && !app.private && !app.disabled).length;
  }

  /** True the first time `key` is seen. */
  private first(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  /** One call the harness made (workload, probe or change call), before the state changes it applies. */
  noteCall(name: string, uid: string, instance: number): void {
    const { state, parts } = this;
    if (appListCalls.has(name) && this.first(`public|${instance}`)) parts.publicList += this.publicAtStart;
    if (name === "getAvailableApps" && this.first(`apps|${instance}|${uid}`)) {
      let own = 0;
      for (const app of state.apps.values()) if (app.owner === uid && !app.disabled && !(app.approved && !app.private)) own++;
      parts.ownApps += Math.max(1, own);
      parts.testerRecords += 1;
      parts.testerApps += state.testers.get(uid)?.size ?? 0;
    }
    if (name === "getMentorNotificationFrequency" && this.first(`mentor|${instance}|${uid}`)) parts.mentor += 1;
    if (creditCalls.has(name) && this.first(`credits|${instance}|${uid}`)) parts.credits += state.plan.get(uid) === "basic" ? 2 : 1;
  }

  /** A change was applied: its document is read once more on every instance. */
  noteChange(): void {
    this.parts.changes += this.instances;
  }

  figures(): FloorFigures {
    const parts = { ...this.parts };
    return { reads: Object.values(parts).reduce((sum, n) => sum + n, 0), parts };
  }
}
