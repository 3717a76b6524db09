/**
 * Admin callables over `testers/{uid}`. They only write Firestore; the `testers/{uid}`
 * trigger bumps the tester marker, which every instance follows within 2 s. Writes are
 * transactional read-modify-writes rather than arrayUnion/arrayRemove: right on Firestore
 * whatever shape a stored document has (a missing `apps` field included).
 */
import { FieldValue } from "firebase-admin/firestore";
import { CallableRequest, HttpsError } from "firebase-functions/https";
import { z } from "zod";
import { requireAdmin } from "../auth";
import { parseData } from "../errors";
import { firestore } from "../firestore";
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

function testerDoc(uid: string) {
  return firestore().collection(testersCollection).doc(uid);
}

/** Makes `uid` a tester whose list is exactly `apps` (keeping the first `added_at`). */
export async function addTesterHandler(request: CallableRequest<unknown>): Promise<TesterResult> {
  requireAdmin(request);
  const { uid, apps = [] } = parseData(addRequest, request.data);
  const list = [...new Set(apps)];
  await firestore().runTransaction(async (tx) => {
    const ref = testerDoc(uid);
    const existing = await tx.get(ref);
    const addedAt: unknown = existing.exists ? existing.get("added_at") : undefined;
    tx.set(ref, { uid, apps: testerAppsSchema.parse(list), added_at: addedAt ?? FieldValue.serverTimestamp() });
  });
  forgetTester(uid);
  return { uid, tester: true, apps: list };
}

/** Idempotent: removing a user who is not a tester succeeds and writes nothing new. */
export async function removeTesterHandler(request: CallableRequest<unknown>): Promise<TesterResult> {
  requireAdmin(request);
  const { uid } = parseData(removeRequest, request.data);
  await testerDoc(uid).delete();
  forgetTester(uid);
  return { uid, tester: false, apps: [] };
}

/** Adds (grant) or removes (revoke) one app of an existing tester's list; `not-found` for a non-tester. */
async function changeAccess(request: CallableRequest<unknown>, grant: boolean): Promise<TesterResult> {
  requireAdmin(request);
  const { uid, appId } = parseData(accessRequest, request.data);
  const apps = await firestore().runTransaction(async (tx) => {
    const ref = testerDoc(uid);
    const existing = await tx.get(ref);
    // Granting must not silently make someone a tester: that is addTester's explicit job.
    if (!existing.exists) throw new HttpsError("not-found", `User "${uid}" is not a tester.`);
    const current = storedTesterApps(existing.get("apps"));
    const changed = grant !== current.includes(appId) || !Array.isArray(existing.get("apps"));
    const next = grant ? [...new Set([...current, appId])] : current.filter((id) => id !== appId);
    if (grant && next.length > maxTesterApps) {
      throw new HttpsError("resource-exhausted", `A tester may have at most ${maxTesterApps} apps.`);
    }
    // No write when nothing changes: a repeated grant or revoke costs no trigger, no bump.
    if (changed) tx.update(ref, { apps: testerAppsSchema.parse(next) });
    return next;
  });
  forgetTester(uid);
  return { uid, tester: true, apps };
}

export function grantTesterAppAccessHandler(request: CallableRequest<unknown>): Promise<TesterResult> {
  return changeAccess(request, true);
}

export function revokeTesterAppAccessHandler(request: CallableRequest<unknown>): Promise<TesterResult> {
  return changeAccess(request, false);
}
