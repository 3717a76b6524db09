import { isDeepStrictEqual } from "node:util";
import { Change, DocumentSnapshot, FirestoreEvent } from "firebase-functions/firestore";
import { mentorFrequencyField } from "../notifications/mentor-frequency";
import { bumpOncePerEvent } from "../apps/triggers";
import { scopes } from "../redis/markers";

/** The marker scopes a change of `users/{uid}` makes stale: only fields that actually changed. */
export function staleUserScopes(uid: string, before: DocumentSnapshot | undefined, after: DocumentSnapshot | undefined): string[] {
  const changed = (field: string) => !isDeepStrictEqual(before?.get(field), after?.get(field));
  const stale: string[] = [];
  if (changed(mentorFrequencyField)) stale.push(scopes.mentor(uid));
  if (changed("subscription")) stale.push(scopes.credits(uid));
  return stale;
}

/** `users/{uid}` written: bump the markers of what changed (a no-op for other fields), once per event. */
export async function onUserWrittenHandler(event: FirestoreEvent<Change<DocumentSnapshot> | undefined, { uid: string }>): Promise<void> {
  await bumpOncePerEvent("onUserWritten", event.id, staleUserScopes(event.params.uid, event.data?.before, event.data?.after));
}
