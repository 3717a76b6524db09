import { isDeepStrictEqual } from "node:util";
import { FirestoreEvent, Change, DocumentSnapshot } from "firebase-functions/firestore";
import { bumpOncePerChange, triggeredChangeKey } from "../redis/change-bumps";
import { scopes } from "../redis/markers";
import { storedAppFlags } from "./model";

type WrittenEvent<P> = FirestoreEvent<Change<DocumentSnapshot> | undefined, P>;

/** The change a `testers/{uid}` event carries, as the admin callables name it too. */
export function testerChangeKey(event: WrittenEvent<{ uid: string }>): string {
  return triggeredChangeKey(`testers/${event.params.uid}`, event.id, event.data?.before, event.data?.after);
}

/**
 * `testers/{uid}` written: every instance must drop that user's tester flag and tester apps.
 * The admin callables bump the same change right after their commit; this bump is for writes
 * made elsewhere and the backstop when theirs failed.
 */
export async function onTesterWrittenHandler(event: WrittenEvent<{ uid: string }>): Promise<void> {
  await bumpOncePerChange("onTesterWritten", testerChangeKey(event), [scopes.tester(event.params.uid)]);
}

/**
 * The marker scopes a change of one app makes stale, from its state before and after:
 * - the public list if it is or was public + approved (a disabled flip included);
 * - the owner's slice, old and new owner (a transfer changes both);
 * - testers' views if it is or was unapproved (they hold unapproved apps of their list).
 */
export function staleAppScopes(before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined): string[] {
  if (isDeepStrictEqual(before, after)) return [];
  const stale = new Set<string>();
  for (const flags of [storedAppFlags(before), storedAppFlags(after)]) {
    if (flags === undefined) continue;
    if (flags.publicApproved) stale.add(scopes.publicApps);
    if (flags.unapproved) stale.add(scopes.unapprovedApps);
    if (flags.owner !== "") stale.add(scopes.appOwner(flags.owner));
  }
  return [...stale];
}

/**
 * `apps/{appId}` written (by operators: no function writes apps): bump every view the change
 * can touch, once per change, naming the app so that a cached list can re-read it alone.
 */
export async function onAppWrittenHandler(event: WrittenEvent<{ appId: string }>): Promise<void> {
  const changeKey = triggeredChangeKey(`apps/${event.params.appId}`, event.id, event.data?.before, event.data?.after);
  await bumpOncePerChange("onAppWritten", changeKey, staleAppScopes(event.data?.before?.data(), event.data?.after?.data()), event.params.appId);
}
