/**
 * Applies an event's effect in ONE Firestore transaction: the subscription write (or the
 * pending state, or the customer link) and the `stripe_events/{eventId}` record commit
 * together or not at all, so a retry after any failure redoes exactly the missing work, and
 * a redelivery finds the record and changes nothing.
 *
 * Unresolvable user: a subscription event whose customer is not linked yet (it may arrive
 * before `checkout.session.completed`) is kept in `stripe_pending/{customerId}` (newest state
 * only) and applied when the checkout links the customer, in the linking transaction.
 */
import { DocumentReference, DocumentSnapshot, Firestore, Timestamp, Transaction } from "firebase-admin/firestore";
import { storedSubscriptionSchema, SubscriptionState } from "../credits/plans";
import { documentIdSchema, firestore, meterSnapshots, meterWrites } from "../firestore";
import { EventEffect, StripeEvent, endsAnotherSubscription, isNewer } from "./events";

export const eventsCollection = "stripe_events";
export const customersCollection = "stripe_customers";
export const pendingCollection = "stripe_pending";

export type EventResult =
  | "subscription_written"
  | "stale_ignored"
  | "other_subscription_ignored"
  | "pending_user_unknown"
  | "customer_linked"
  | "customer_linked_to_other_user"
  | "ignored";

export interface ApplyOutcome {
  duplicate: boolean;
  result: EventResult;
  /** The user whose subscription this event wrote (its credits marker must be bumped). */
  subscriptionWrittenFor: string | null;
  /**
   * The Stripe event the written subscription came from (`subscription.stripe_event_id`: this
   * event, or the pending one a checkout applied): the name of the change for its marker bump.
   */
  subscriptionEventId: string | null;
}

function safeId(id: string, what: string): string {
  if (!documentIdSchema.safeParse(id).success) throw new Error(`${what} is not a usable document id`);
  return id;
}

interface UserWrite {
  uid: string;
  state: SubscriptionState;
}

/** Decides whether `state` may replace what `users/{uid}` holds (reads only). */
async function decideUserWrite(tx: Transaction, userRef: DocumentReference, state: SubscriptionState): Promise<EventResult> {
  const stored: unknown = (await metered(tx.get(userRef))).get("subscription");
  if (!isNewer(state, stored)) return "stale_ignored";
  if (endsAnotherSubscription(state, stored)) return "other_subscription_ignored";
  return "subscription_written";
}

function writeUser(tx: Transaction, db: Firestore, write: UserWrite, customerId: string): void {
  // mergeFields replaces `subscription` whole (no field of an older state survives) and
  // leaves the rest of the user document alone.
  tx.set(
    db.collection("users").doc(write.uid),
    { subscription: storedSubscriptionSchema.parse(write.state), stripe_customer_id: customerId },
    { mergeFields: ["subscription", "stripe_customer_id"] },
  );
}

/** A transaction's read, metered (each attempt's reads are billed). */
async function metered(read: Promise<DocumentSnapshot>): Promise<DocumentSnapshot> {
  const snapshot = await read;
  meterSnapshots([snapshot]);
  return snapshot;
}

export async function applyEvent(event: StripeEvent, effect: EventEffect, db: Firestore = firestore()): Promise<ApplyOutcome> {
  const eventRef = db.collection(eventsCollection).doc(safeId(event.id, "event id"));
  // The collections the attempt that commits writes (a retried attempt's writes never land).
  let committing: string[] = [];
  const outcome = await db.runTransaction(async (tx) => {
    committing = [];
    // Reads first (a Firestore transaction reads everything before it writes).
    const recorded = await metered(tx.get(eventRef));
    if (recorded.exists) {
      const uid: unknown = recorded.get("subscription_written_for");
      const from: unknown = recorded.get("subscription_event_id");
      return {
        duplicate: true,
        result: recorded.get("result") as EventResult,
        subscriptionWrittenFor: typeof uid === "string" ? uid : null,
        subscriptionEventId: typeof uid !== "string" ? null : typeof from === "string" ? from : event.id,
      };
    }

    let result: EventResult = "ignored";
    let writtenFor: string | null = null;
    let writtenFrom: string | null = null;
    let detail: Record<string, unknown> = {};
    const writes: { ref: DocumentReference; apply: (tx: Transaction) => void }[] = [];

    if (effect.kind === "subscription") {
      const customerId = safeId(effect.customerId, "customer id");
      const customerRef = db.collection(customersCollection).doc(customerId);
      const linked = await metered(tx.get(customerRef));
      const linkedUid: unknown = linked.get("uid");
      const uid = effect.metadataUid ?? (typeof linkedUid === "string" ? linkedUid : null);
      if (uid === null) {
        const pendingRef = db.collection(pendingCollection).doc(customerId);
        const pending: unknown = (await metered(tx.get(pendingRef))).get("state");
        result = "pending_user_unknown";
        if (isNewer(effect.state, pending)) {
          writes.push({
            ref: pendingRef,
            apply: (t) => t.set(pendingRef, { customer_id: customerId, state: storedSubscriptionSchema.parse(effect.state), updated_at: Timestamp.now() }),
          });
        }
      } else {
        result = await decideUserWrite(tx, db.collection("users").doc(safeId(uid, "uid")), effect.state);
        if (result === "subscription_written") {
          writtenFor = uid;
          writtenFrom = effect.state.stripe_event_id;
          writes.push({ ref: db.collection("users").doc(uid), apply: (t) => writeUser(t, db, { uid, state: effect.state }, customerId) });
        }
        // Metadata named the user: link the customer too, so later events without metadata resolve.
        if (!linked.exists) writes.push({ ref: customerRef, apply: (t) => t.set(customerRef, { uid, linked_at: Timestamp.now(), linked_by_event: event.id }) });
        detail = { uid };
      }
    } else if (effect.kind === "link") {
      const customerId = safeId(effect.customerId, "customer id");
      const uid = safeId(effect.uid, "uid");
      const customerRef = db.collection(customersCollection).doc(customerId);
      const pendingRef = db.collection(pendingCollection).doc(customerId);
      const userRef = db.collection("users").doc(uid);
      const [linked, pending] = [await metered(tx.get(customerRef)), await metered(tx.get(pendingRef))];
      const linkedUid: unknown = linked.get("uid");
      detail = { uid };
      if (linked.exists && linkedUid !== uid) {
        // A customer belongs to one user; relinking silently would move a paid plan.
        result = "customer_linked_to_other_user";
      } else {
        result = "customer_linked";
        const storedPending = storedSubscriptionSchema.safeParse(pending.get("state"));
        const pendingState = storedPending.success ? storedPending.data : undefined;
        const pendingResult = pendingState ? await decideUserWrite(tx, userRef, pendingState) : undefined;
        if (!linked.exists) writes.push({ ref: customerRef, apply: (t) => t.set(customerRef, { uid, linked_at: Timestamp.now(), linked_by_event: event.id }) });
        if (pendingState && pendingResult === "subscription_written") {
          writtenFor = uid;
          writtenFrom = pendingState.stripe_event_id;
          writes.push({ ref: userRef, apply: (t) => writeUser(t, db, { uid, state: pendingState }, customerId) });
        } else {
          writes.push({ ref: userRef, apply: (t) => t.set(userRef, { stripe_customer_id: customerId }, { merge: true }) });
        }
        if (pending.exists) writes.push({ ref: pendingRef, apply: (t) => t.delete(pendingRef) });
      }
    } else {
      detail = { reason: effect.reason };
    }

    for (const write of writes) write.apply(tx);
    committing = [...writes.map((write) => write.ref.parent.id), eventsCollection];
    tx.create(eventRef, {
      type: event.type,
      created: event.created,
      result,
      subscription_written_for: writtenFor,
      subscription_event_id: writtenFrom,
      ...detail,
      processed_at: Timestamp.now(),
    });
    return { duplicate: false, result, subscriptionWrittenFor: writtenFor, subscriptionEventId: writtenFrom };
  });
  for (const collection of committing) meterWrites(collection);
  return outcome;
}
