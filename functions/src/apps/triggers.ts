import { FirestoreEvent, Change, DocumentSnapshot } from "firebase-functions/v2/firestore";
import { bumpMarkers, scopes } from "../redis/markers";

type WrittenEvent<P> = FirestoreEvent<Change<DocumentSnapshot> | undefined, P>;

/** `testers/{uid}` written: every instance must drop that user's tester flag and tester apps. */
export async function onTesterWrittenHandler(event: WrittenEvent<{ uid: string }>): Promise<void> {
  await bumpMarkers([scopes.tester(event.params.uid)]);
}
