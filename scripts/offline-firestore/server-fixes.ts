/**
 * Two gaps of `@firestore-emulator/server` closed in front of its gRPC handlers, because
 * behaviours that matter (the Stripe webhook's idempotency record committed with the
 * subscription; concurrent deliveries of one event) depend on them:
 *
 * - Transactions are serialized: a transaction's first read (or BeginTransaction) waits
 *   until no other transaction is open, and Commit/Rollback ends it. That is stricter than
 *   Firestore (which locks per document) but gives the same isolation to what we test:
 *   10 concurrent read-modify-write transactions on one document leave 10 increments.
 *   A transaction left open (a crashed client) is ended after `abandonedTransactionMs`.
 * - Commits are atomic for precondition failures: every write's `exists` precondition is
 *   checked against the state, in order, before any write is applied, so a `create` of an
 *   existing document fails the whole commit instead of leaving its sibling writes applied.
 *
 * Non-transactional reads and writes are not blocked by an open transaction (Firestore would
 * make a write wait for a document lock): nothing here depends on that.
 */
import type { FirestoreState } from "@firestore-emulator/server";

const service = "/google.firestore.v1.Firestore/";
const abandonedTransactionMs = 30_000;
// gRPC status codes the package itself uses for failed preconditions.
const grpcNotFound = 5;
const grpcAlreadyExists = 6;

type Callback = (error: { code: number; message: string } | null, value?: unknown) => void;
interface Handler {
  func: (call: Call, callback?: Callback) => unknown;
}
interface Write {
  has_delete?: boolean;
  delete?: string;
  has_update?: boolean;
  update?: { name: string };
  has_current_document?: boolean;
  current_document?: { has_exists?: boolean; exists?: boolean };
}
interface Call {
  request: {
    has_new_transaction?: boolean;
    consistency_selector?: string;
    transaction?: Uint8Array;
    writes?: Write[];
  };
}

/** One open transaction at a time, first come first served. */
class TransactionTurns {
  private open = false;
  private readonly waiting: (() => void)[] = [];
  private abandonTimer: NodeJS.Timeout | undefined;

  begin(): Promise<void> {
    return new Promise((resolve) => {
      const start = () => {
        this.open = true;
        this.abandonTimer = setTimeout(() => this.end(), abandonedTransactionMs);
        this.abandonTimer.unref();
        resolve();
      };
      if (this.open) this.waiting.push(start);
      else start();
    });
  }

  end(): void {
    if (!this.open) return;
    clearTimeout(this.abandonTimer);
    this.open = false;
    this.waiting.shift()?.();
  }
}

export function closeFallbackGaps(grpcServer: unknown, state: FirestoreState): void {
  const handlers = (grpcServer as { handlers: Map<string, Handler> }).handlers;
  const turns = new TransactionTurns();
  const wrap = (method: string, wrapper: (original: Handler["func"]) => Handler["func"]) => {
    const handler = handlers.get(service + method);
    if (!handler) throw new Error(`the Firestore server has no ${method} handler`);
    handler.func = wrapper(handler.func);
  };
  const beginsTransaction = (call: Call) => call.request.has_new_transaction === true || call.request.consistency_selector === "new_transaction";
  const inTransaction = (call: Call) => (call.request.transaction?.length ?? 0) > 0;

  wrap("BeginTransaction", (original) => (call, callback) => void turns.begin().then(() => original(call, callback)));
  for (const method of ["BatchGetDocuments", "RunQuery", "RunAggregationQuery"]) {
    wrap(method, (original) => (call, callback) => {
      if (!beginsTransaction(call)) return original(call, callback);
      return void turns.begin().then(() => original(call, callback));
    });
  }
  wrap("Rollback", (original) => (call, callback) => {
    turns.end();
    return original(call, callback);
  });
  wrap("Commit", (original) => (call, callback) => {
    const ends = inTransaction(call);
    const done: Callback = (error, value) => {
      if (ends) turns.end();
      callback?.(error, value);
    };
    const failed = firstFailedPrecondition(state, call.request.writes ?? []);
    if (failed) return done(failed);
    return original(call, done);
  });
}

/** The error the commit would fail with, checked before anything is written. */
function firstFailedPrecondition(state: FirestoreState, writes: readonly Write[]): { code: number; message: string } | undefined {
  const existsAfter = new Map<string, boolean>();
  const exists = (path: string) => existsAfter.get(path) ?? state.getDocument(path).metadata.hasExist;
  for (const write of writes) {
    const path = write.has_delete ? write.delete : write.has_update ? write.update?.name : undefined;
    if (!path) continue;
    const precondition = write.has_current_document && write.current_document?.has_exists ? write.current_document.exists : undefined;
    if (precondition === true && !exists(path)) return { code: grpcNotFound, message: `no entity to update: ${path}` };
    if (precondition === false && exists(path)) return { code: grpcAlreadyExists, message: `entity already exists: ${path}` };
    existsAfter.set(path, !write.has_delete);
  }
  return undefined;
}
