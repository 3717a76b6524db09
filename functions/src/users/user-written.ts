import { isDeepStrictEqual } from "node:util";
import { Change, DocumentSnapshot, FirestoreEvent } from "firebase-functions/firestore";
import { mentorFrequencyField } from "../notifications/mentor-frequency";
import { bumpOncePerChange, stripeChangeKey, triggeredChangeKey } from "../redis/change-bumps";
import { scopes } from "../redis/markers";

/** The marker scopes a change of `users/{uid}` makes stale: only fields that actually changed. */
export function staleUserScopes(uid: string, before: DocumentSnapshot | undefined, after: DocumentSnapshot | undefined): string[] {
  const changed = (field: string) => !isDeepStrictEqual(before?.get(field), after?.get(field));
  const stale: string[] = [];
  if (changed(mentorFrequencyField)) stale.push(scopes.mentor(uid));
  if (changed("subscription")) stale.push(scopes.credits(uid));
  return stale;
}

/**
 * `users/{uid}` written: bump the markers of what changed (a no-op for other fields), once per
 * change. `setMentorNotificationFrequency` and the Stripe webhook bump their own changes right
 * after their commit; this bump is for writes made elsewhere and the backstop when theirs
 * failed. A subscription the webhook wrote carries the Stripe event that wrote it, the name the
 * webhook's bump used.
 */
export async function onUserWrittenHandler(event: FirestoreEvent<Change<DocumentSnapshot> | undefined, { uid: string }>): Promise<void> {
  const { uid } = event.params;
  const before = event.data?.before;
  const after = event.data?.after;
  let stale = staleUserScopes(uid, before, after);
  const stripeEventId: unknown = after?.get("subscription.stripe_event_id");
  if (stale.includes(scopes.credits(uid)) && typeof stripeEventId === "string" && stripeEventId !== before?.get("subscription.stripe_event_id")) {
    await bumpOncePerChange("onUserWritten", stripeChangeKey(uid, stripeEventId), [scopes.credits(uid)]);
    stale = stale.filter((scope) => scope !== scopes.credits(uid));
  }
  await bumpOncePerChange("onUserWritten", triggeredChangeKey(`users/${uid}`, event.id, before, after), stale);
}
