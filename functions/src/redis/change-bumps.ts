/**
 * Marker bumps for one committed change, made by whoever sees the change first: the callable
 * or webhook that wrote it (right after its commit, so every instance follows within a poll
 * of the commit), or the change's Firestore trigger (the path for writes made elsewhere, and
 * the backstop when the writer's bump failed). Both name the change the same way, so the
 * bump script applies it once whichever comes first, and a trigger delivered again bumps
 * nothing either.
 *
 * A change is named by its document and the version it made: `<path>@<update time>` for a
 * create or update (the commit time, which the writer gets from its WriteResult and the trigger
 * from the document after), `<path>@<update time>:deleted` for a delete (the deleted version,
 * which the writer read before deleting on that condition and the trigger has as the
 * document before). The webhook's subscription writes are named by their Stripe event
 * (`stripeChangeKey`), which its transaction knows and the written document carries.
 */
import { Timestamp } from "firebase-admin/firestore";
import * as logs from "../logs";
import { bumpMarkers } from "./markers";

/** A Firestore timestamp as text, at its full (ns) precision. */
function exactTime(time: Timestamp): string {
  return `${time.seconds}.${String(time.nanoseconds).padStart(9, "0")}`;
}

/** The change that wrote the version of `path` committed at `updateTime` (a create or update). */
export function writeChangeKey(path: string, updateTime: Timestamp): string {
  return `${path}@${exactTime(updateTime)}`;
}

/** The change that deleted the version of `path` last updated at `deletedVersionTime`. */
export function deleteChangeKey(path: string, deletedVersionTime: Timestamp): string {
  return `${path}@${exactTime(deletedVersionTime)}:deleted`;
}

/** The subscription write the Stripe event `eventId` made to `users/{uid}` (stored as `subscription.stripe_event_id`). */
export function stripeChangeKey(uid: string, eventId: string): string {
  return `users/${uid}#stripe:${eventId}`;
}

/** The change a trigger saw: named by its document versions, or (no version time at all) by the event. */
export function triggeredChangeKey(path: string, eventId: string, before?: { updateTime?: Timestamp }, after?: { updateTime?: Timestamp }): string {
  if (after?.updateTime) return writeChangeKey(path, after.updateTime);
  if (before?.updateTime) return deleteChangeKey(path, before.updateTime);
  return `event:${eventId}`;
}

/**
 * Bumps `stale` once for the change `changeKey` (see redis/markers.ts `bumpMarkers`). Resolves
 * false when it was already bumped. Throws when Redis does not confirm.
 */
export async function bumpOncePerChange(source: string, changeKey: string, stale: readonly string[], changedId?: string): Promise<boolean> {
  if (stale.length === 0) return true;
  const applied = await bumpMarkers(stale, { onceForChange: changeKey, changedId });
  if (!applied) logs.changeAlreadyBumped({ source, changeKey });
  return applied;
}

/**
 * A callable's bump right after its commit. The commit stands whatever happens here: a failed
 * bump is logged, and the change's trigger (`retry: true`) bumps instead, within 2 s of its
 * own delivery rather than of the commit.
 */
export async function bumpAfterCommit(source: string, changeKey: string, stale: readonly string[]): Promise<void> {
  try {
    await bumpOncePerChange(source, changeKey, stale);
  } catch (error) {
    logs.directBumpFailed({ source, changeKey, error });
  }
}
