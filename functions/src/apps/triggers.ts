import { isDeepStrictEqual } from "node:util";
import { FirestoreEvent, Change, DocumentSnapshot } from "firebase-functions/firestore";
import * as logs from "../logs";
import { bumpMarkers, scopes } from "../redis/markers";
import { storedAppFlags } from "./model";

type WrittenEvent<P> = FirestoreEvent<Change<DocumentSnapshot> | undefined, P>;

/**
 * Bumps `scopes` once per event: Firestore delivers at least once, and a second delivery of
 * the same event (same CloudEvent id) bumps nothing, so readers do not refetch again.
 */
export async function bumpOncePerEvent(trigger: string, eventId: string, stale: readonly string[], changedId?: string): Promise<void> {
  if (stale.length === 0) return;
  const applied = await bumpMarkers(stale, { onceForEvent: eventId, changedId });
  if (!applied) logs.triggerDuplicateIgnored({ trigger, eventId });
}

/** `testers/{uid}` written: every instance must drop that user's tester flag and tester apps. */
export async function onTesterWrittenHandler(event: WrittenEvent<{ uid: string }>): Promise<void> {
  await bumpOncePerEvent("onTesterWritten", event.id, [scopes.tester(event.params.uid)]);
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
 * `apps/{appId}` written: bump every view the change can touch, once per event, naming the
 * app so that a cached list can re-read it alone.
 */
export async function onAppWrittenHandler(event: WrittenEvent<{ appId: string }>): Promise<void> {
  await bumpOncePerEvent("onAppWritten", event.id, staleAppScopes(event.data?.before?.data(), event.data?.after?.data()), event.params.appId);
}
