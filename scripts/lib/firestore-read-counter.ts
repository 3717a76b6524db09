/**
 * Counts billable document reads at the Firestore server, not in the code under test, by
 * Firestore's pricing rules: a get costs one read per requested document (found or not), a
 * query one per document returned and at least one, an aggregation one per batch of up to
 * 1,000 matched index entries and at least one. Listen streams are not counted (unused here).
 */
import type { FirestoreState } from "@firestore-emulator/server";

type Handler = { func: (call: ServerCall, ...rest: unknown[]) => unknown };
interface ServerCall {
  request: Record<string, unknown> & {
    documents?: unknown[];
    parent?: string;
    structured_query?: unknown;
    structured_aggregation_query?: { structured_query?: unknown };
  };
  write: (message: { has_document?: boolean }, ...rest: unknown[]) => boolean;
  end: (...rest: unknown[]) => unknown;
}

export interface ReadCounter {
  /** Billable reads since start or the last reset. */
  total(): number;
  byMethod(): Record<string, number>;
  reset(): void;
}

const service = "/google.firestore.v1.Firestore/";

export function countReads(grpcServer: unknown, state: FirestoreState): ReadCounter {
  const handlers = (grpcServer as { handlers: Map<string, Handler> }).handlers;
  const counts: Record<string, number> = { BatchGetDocuments: 0, RunQuery: 0, RunAggregationQuery: 0 };
  const wrap = (method: string, count: (call: ServerCall) => void) => {
    const handler = handlers.get(service + method);
    if (!handler) throw new Error(`the Firestore server has no ${method} handler to count`);
    const original = handler.func;
    handler.func = function (this: unknown, call: ServerCall, ...rest: unknown[]) {
      count(call);
      return original.call(this, call, ...rest);
    };
  };

  wrap("BatchGetDocuments", (call) => {
    counts.BatchGetDocuments! += call.request.documents?.length ?? 0;
  });
  wrap("RunQuery", (call) => {
    let documents = 0;
    const write = call.write.bind(call);
    const end = call.end.bind(call);
    call.write = (message, ...rest) => {
      if (message.has_document) documents++;
      return write(message, ...rest);
    };
    call.end = (...rest) => {
      counts.RunQuery! += Math.max(1, documents);
      return end(...rest);
    };
  });
  wrap("RunAggregationQuery", (call) => {
    const query = call.request.structured_aggregation_query?.structured_query;
    const matched = (state.v1Query as (parent: unknown, query: unknown) => unknown[])(call.request.parent, query).length;
    counts.RunAggregationQuery! += Math.max(1, Math.ceil(matched / 1000));
  });

  return {
    total: () => Object.values(counts).reduce((sum, n) => sum + n, 0),
    byMethod: () => ({ ...counts }),
    reset: () => {
      for (const method of Object.keys(counts)) counts[method] = 0;
    },
  };
}
