/**
 * Admin callables over `testers/{uid}`. Each reads the document and writes on the condition
 * that nothing wrote it in between (a precondition on its update time, or that it still does
 * not exist), again if something did: right on Firestore whatever shape a stored document has
 * (a missing `apps` field included), and the write's own commit time names the change. Right
 * after the commit the callable bumps `tester:{uid}`, so every instance follows within 2 s of
 * the commit; the `testers/{uid}` trigger names the same change and bumps nothing more (it is
 * the path for writes made elsewhere, and the backstop when this bump fails).
 */
import { DocumentSnapshot, FieldValue } from "firebase-admin/firestore";
import { CallableRequest, HttpsError } from "firebase-functions/https";
import { z } from "zod";
import { requireAdmin } from "../auth";
import { parseData } from "../errors";
import { firestore, meterSnapshots, meterWrites } from "../firestore";
import { bumpAfterCommit, deleteChangeKey, writeChangeKey } from "../redis/change-bumps";
import { scopes } from "../redis/markers";
import { forgetTester } from "./catalog";
import { idSchema, maxTesterApps, storedTesterApps, testerAppsSchema, testersCollection } from "./model";

const addRequest = z.object({ uid: idSchema, apps: testerAppsSchema.optional() }).strict();
const removeRequest = z.object({ uid: idSchema }).strict();
const accessRequest = z.object({ uid: idSchema, appId: idSchema }).strict();

export interface TesterResult {
  uid: string;
  tester: boolean;
  apps: string[];
}

/** Attempts before a write that keeps losing to concurrent writes answers `unavailable`. */
const maxWriteAttempts = 5;

/** What a tester document should become: written whole, deleted, or left alone. */
type TesterWrite = { set: Record<string, unknown> } | "delete" | "none";

// gRPC codes of a lost race: ALREADY_EXISTS (create), NOT_FOUND (update of a deleted doc), FAILED_PRECONDITION.
const lostRace = (error: unknown) => [5, 6, 9].includes((error as { code?: unknown } | null)?.code as number);

/**
 * Reads `testers/{uid}`, writes what `decide` makes of it unless the document changed since,
 * then bumps the tester marker for that change. Resolves with what `decide` returned.
 */
async function writeTester<T>(uid: string, decide: (snapshot: DocumentSnapshot) => { write: TesterWrite; result: T }): Promise<T> {
  const ref = firestore().collection(testersCollection).doc(uid);
  const path = `${testersCollection}/${uid}`;
  for (let attempt = 1; ; attempt++) {
    const snapshot = await ref.get();
    meterSnapshots([snapshot]);
    const { write, result } = decide(snapshot);
    let changeKey: string | undefined;
    try {
      if (write === "delete" && snapshot.updateTime) {
        await ref.delete({ lastUpdateTime: snapshot.updateTime });
        changeKey = deleteChangeKey(path, snapshot.updateTime);
      } else if (write !== "none" && write !== "delete") {
        const written = snapshot.updateTime ? await ref.update(write.set, { lastUpdateTime: snapshot.updateTime }) : await ref.create(write.set);
        changeKey = writeChangeKey(path, written.writeTime);
      }
    } catch (error) {
      if (!lostRace(error)) throw error;
      if (attempt >= maxWriteAttempts) throw new HttpsError("unavailable", "The tester record kept changing; retry shortly.");
      continue;
    }
    forgetTester(uid);
    if (changeKey !== undefined) {
      meterWrites(testersCollection);
      await bumpAfterCommit("testerAdmin", changeKey, [scopes.tester(uid)]);
    }
    return result;
  }
}

/** Makes `uid` a tester whose list is exactly `apps` (keeping the first `added_at`). */
export async function addTesterHandler(request: CallableRequest<unknown>): Promise<TesterResult> {
  requireAdmin(request);
  const { uid, apps = [] } = parseData(addRequest, request.data);
  const list = testerAppsSchema.parse([...new Set(apps)]);
  return writeTester(uid, (existing) => {
    const addedAt: unknown = existing.exists ? existing.get("added_at") : undefined;
    return { write: { set: { uid, apps: list, added_at: addedAt ?? FieldValue.serverTimestamp() } }, result: { uid, tester: true, apps: list } };
  });
}

/** Idempotent: removing a user who is not a tester succeeds and writes nothing new. */
export async function removeTesterHandler(request: CallableRequest<unknown>): Promise<TesterResult> {
  requireAdmin(request);
  const { uid } = parseData(removeRequest, request.data);
  return writeTester(uid, (existing) => ({ write: existing.exists ? "delete" : "none", result: { uid, tester: false, apps: [] } }));
}

/** Adds (grant) or removes (revoke) one app of an existing tester's list; `not-found` for a non-tester. */
async function changeAccess(request: CallableRequest<unknown>, grant: boolean): Promise<TesterResult> {
  requireAdmin(request);
  const { uid, appId } = parseData(accessRequest, request.data);
  return writeTester(uid, (existing) => {
    // Granting must not silently make someone a tester: that is addTester's explicit job.
    if (!existing.exists) throw new HttpsError("not-found", `User "${uid}" is not a tester.`);
    const current = storedTesterApps(existing.get("apps"));
    const changed = grant !== current.includes(appId) || !Array.isArray(existing.get("apps"));
    const next = grant ? [...new Set([...current, appId])] : current.filter((id) => id !== appId);
    if (grant && next.length > maxTesterApps) {
      throw new HttpsError("resource-exhausted", `A tester may have at most ${maxTesterApps} apps.`);
    }
    // No write when nothing changes: a repeated grant or revoke costs no trigger, no bump.
    return { write: changed ? { set: { apps: testerAppsSchema.parse(next) } } : "none", result: { uid, tester: true, apps: next } };
  });
}

export function grantTesterAppAccessHandler(request: CallableRequest<unknown>): Promise<TesterResult> {
  return changeAccess(request, true);
}

export function revokeTesterAppAccessHandler(request: CallableRequest<unknown>): Promise<TesterResult> {
  return changeAccess(request, false);
}
