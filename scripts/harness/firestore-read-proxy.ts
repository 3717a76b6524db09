/**
 * A cleartext gRPC (HTTP/2) proxy in front of a Firestore emulator that forwards every call
 * unchanged and counts billable document reads and writes at the wire, outside the code under
 * test. The official emulator is a Java process whose handlers cannot be wrapped, hence a proxy.
 *
 * Billing rules for reads, as Firestore's pricing states them (inside transactions too):
 * - BatchGetDocuments: one read per requested document, found or missing (counted from the
 *   responses' `found` and `missing` fields);
 * - RunQuery: one read per document returned, and at least one per query;
 * - RunAggregationQuery: one read per batch of up to 1,000 index entries matched, at least
 *   one. A SUM or AVG result does not say how many documents matched, so the proxy asks the
 *   emulator itself: the same structured query as a COUNT, sent directly (never counted).
 *
 * Billing rules for writes (Firestore bills what it applies, not what it is asked):
 * - Commit (a batch, a transaction's commit, a single set/update/delete): one write per `Write`
 *   of the request, counted only when the commit succeeds (gRPC status OK). A failed commit (a
 *   `create` whose document exists, an update of a missing document, an aborted transaction)
 *   applies nothing and bills nothing. A delete is one write. A field transform (increment,
 *   server timestamp, array union) is part of its write: `update_transforms` ride in the same
 *   `Write`; a transform-only `Write` (older clients) on a document another `Write` of the same
 *   commit already names is not counted again;
 * - BatchWrite: each write applies (and bills) on its own: one write per OK status in the
 *   response.
 * - Listen, BeginTransaction, Rollback, ...: forwarded, not counted.
 *
 * Reads are also counted by target (`byTarget`): the document a get read, or the collection
 * and filters of a query, so a spec can tell which cache key a read filled.
 *
 * `onCommitted` (optional) hears the documents each successful Commit wrote: the benchmark
 * checks with it that every write to a triggered document was one whose trigger it delivered.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { gunzipSync, inflateSync } from "node:zlib";

/** Billed operations of one kind (reads or writes), by gRPC method. */
export interface BilledCounter {
  /** Billed operations since start or the last reset. */
  total(): number;
  byMethod(): Record<string, number>;
  reset(): void;
}

/** Billable document reads: BatchGetDocuments, RunQuery, RunAggregationQuery. */
export interface ReadCounter extends BilledCounter {
  /**
   * Billed reads by what was read: a document's path (`testers/u1`, found or missing), or a
   * query's parent, collection and filters (`apps where uid == "u1"`; `count of ...` for an
   * aggregation). Order, limit and cursors are left out: queries that differ only there share one name.
   */
  byTarget(): Record<string, number>;
}
/** Billable document writes (deletes included): Commit, BatchWrite. */
export type WriteCounter = BilledCounter;

export interface ReadCountingProxy {
  /** 127.0.0.1:<port>, the value for FIRESTORE_EMULATOR_HOST. */
  host: string;
  port: number;
  reads: ReadCounter;
  writes: WriteCounter;
  close(): Promise<void>;
}

const service = "/google.firestore.v1.Firestore/";
const readsPerAggregationBatch = 1000;
const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;

// Just enough of the protobuf wire format to read field numbers and build one request.
interface Field {
  field: number;
  value: Buffer | number;
}

function readVarint(buffer: Buffer, offset: number): [value: number, next: number] {
  let value = 0;
  for (let shift = 1; ; shift *= 128) {
    const byte = buffer[offset++];
    if (byte === undefined) throw new Error("truncated protobuf varint");
    value += (byte & 0x7f) * shift; // multiplication, not <<, so values above 2^31 survive
    if (byte < 0x80) return [value, offset];
  }
}

function fields(message: Buffer): Field[] {
  const result: Field[] = [];
  for (let offset = 0; offset < message.length;) {
    const [tag, next] = readVarint(message, offset);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (wireType === 0) {
      const [value, end] = readVarint(message, next);
      result.push({ field, value });
      offset = end;
    } else if (wireType === 2) {
      const [length, start] = readVarint(message, next);
      result.push({ field, value: message.subarray(start, start + length) });
      offset = start + length;
    } else if (wireType === 1 || wireType === 5) {
      offset = next + (wireType === 1 ? 8 : 4);
    } else {
      throw new Error(`unsupported protobuf wire type ${wireType}`);
    }
  }
  return result;
}

function field(message: Buffer, number: number): Buffer | number | undefined {
  return fields(message).find((f) => f.field === number)?.value;
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
  bytes.push(value);
  return Buffer.from(bytes);
}

function lengthDelimited(number: number, value: Buffer): Buffer {
  return Buffer.concat([varint(number * 8 + 2), varint(value.length), value]);
}

function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** Splits a gRPC byte stream into messages, whatever the chunk boundaries. */
function deframer(encoding: unknown, onMessage: (message: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const message = pending.subarray(5, 5 + pending.readUInt32BE(1));
      const compressed = pending[0] === 1;
      pending = pending.subarray(5 + message.length);
      onMessage(!compressed ? message : encoding === "gzip" ? gunzipSync(message) : inflateSync(message));
    }
  };
}

/** The document a `Write` (google.firestore.v1.Write) names: update.name, delete, or transform.document. */
function writtenDocument(write: Buffer): { document: string; transformOnly: boolean } {
  let document = "";
  let transformOnly = false;
  for (const f of fields(write)) {
    if (!(f.value instanceof Buffer)) continue;
    if (f.field === 1)
      document = String(field(f.value, 1) ?? ""); // update: Document.name
    else if (f.field === 2)
      document = f.value.toString("utf8"); // delete: the document name
    else if (f.field === 6) {
      document = String(field(f.value, 1) ?? ""); // transform: DocumentTransform.document
      transformOnly = true;
    }
  }
  return { document, transformOnly };
}

/** The full names of the documents a CommitRequest writes, each once, in order. */
function committedDocuments(request: Buffer): string[] {
  const names = new Set<string>();
  for (const f of fields(request)) {
    if (f.field === 2 && f.value instanceof Buffer) names.add(writtenDocument(f.value).document);
  }
  return [...names];
}

/**
 * The billed writes of a successful CommitRequest: one per `Write` (field 2), a transform-only
 * write on a document an earlier write of the same commit names being part of that write.
 */
function billedCommitWrites(request: Buffer): number {
  const named = new Set<string>();
  let writes = 0;
  for (const f of fields(request)) {
    if (f.field !== 2 || !(f.value instanceof Buffer)) continue;
    const { document, transformOnly } = writtenDocument(f.value);
    if (!(transformOnly && named.has(document))) writes++;
    named.add(document);
  }
  return writes;
}

/** The writes a BatchWriteResponse reports applied: its statuses (field 2) whose code (field 1) is OK (0, left off the wire). */
function appliedBatchWrites(response: Buffer): number {
  return fields(response).filter((f) => f.field === 2 && f.value instanceof Buffer && !field(f.value, 1)).length;
}

/** A document or parent name relative to the database's root: `testers/u1`, or "" for the root itself. */
function relativePath(name: string): string {
  return name.replace(/^projects\/[^/]+\/databases\/[^/]+\/documents\/?/, "");
}

// FieldFilter.Operator and UnaryFilter.Operator (google/firestore/v1/query.proto).
const fieldOperators: Record<number, string> = {
  1: "<",
  2: "<=",
  3: ">",
  4: ">=",
  5: "==",
  6: "!=",
  7: "array-contains",
  8: "in",
  9: "array-contains-any",
  10: "not-in",
};
const unaryOperators: Record<number, string> = { 2: "is NaN", 3: "is null", 4: "is not NaN", 5: "is not null" };

/** A google.firestore.v1.Value as a filter names it: strings quoted, numbers, booleans, null, arrays; other kinds as `?`. */
function describeValue(value: Buffer): string {
  const [kind] = fields(value);
  if (kind === undefined) return "?";
  const { field: number, value: content } = kind;
  if (number === 1) return content === 1 ? "true" : "false";
  if (number === 2 && typeof content === "number") return String(content);
  if (number === 11) return "null";
  if (number === 17 && content instanceof Buffer) return JSON.stringify(content.toString("utf8"));
  if (number === 5 && content instanceof Buffer) return relativePath(content.toString("utf8"));
  if (number === 9 && content instanceof Buffer) {
    const items = fields(content).filter((f) => f.field === 1 && f.value instanceof Buffer);
    return `[${items.map((f) => describeValue(f.value as Buffer)).join(", ")}]`;
  }
  return "?";
}

/** A google.firestore.v1.StructuredQuery.Filter: field filters, unary filters, and AND / OR of them. */
function describeFilter(filter: Buffer): string {
  const [kind] = fields(filter);
  if (kind === undefined || !(kind.value instanceof Buffer)) return "?";
  if (kind.field === 1) {
    const op = field(kind.value, 1) === 2 ? " or " : " and ";
    const parts = fields(kind.value).filter((f) => f.field === 2 && f.value instanceof Buffer);
    const described = parts.map((f) => describeFilter(f.value as Buffer));
    return described.length > 1 && op === " or " ? `(${described.join(op)})` : described.join(op);
  }
  const fieldPath = (reference: unknown) => (reference instanceof Buffer ? String(field(reference, 2) ?? "") : "");
  if (kind.field === 2) {
    const value = field(kind.value, 3);
    return `${fieldPath(field(kind.value, 1))} ${fieldOperators[Number(field(kind.value, 2))] ?? "?"} ${value instanceof Buffer ? describeValue(value) : "?"}`;
  }
  if (kind.field === 3) return `${fieldPath(field(kind.value, 2))} ${unaryOperators[Number(field(kind.value, 1))] ?? "?"}`;
  return "?";
}

/** What a StructuredQuery under `parent` reads: `apps where uid == "u1"`, `users/u1/hourly_usage where ...`, `**\/x` for a collection group. */
function describeQuery(parent: string, query: Buffer): string {
  const from = fields(query)
    .filter((f) => f.field === 2 && f.value instanceof Buffer)
    .map((f) => {
      const selector = f.value as Buffer;
      const collection = String(field(selector, 2) ?? "");
      return field(selector, 3) === 1 ? `**/${collection}` : collection;
    })
    .join(", ");
  const where = field(query, 3);
  const base = [relativePath(parent), from].filter((part) => part !== "").join("/");
  return where instanceof Buffer ? `${base} where ${describeFilter(where)}` : base;
}

/** The target of a RunQueryRequest (parent 1, structured_query 2) or a RunAggregationQueryRequest (parent 1, structured_aggregation_query 2 holding the query as 1). */
function queryTarget(method: string, request: Buffer): string {
  const parent = String(field(request, 1) ?? "");
  const body = field(request, 2);
  if (!(body instanceof Buffer)) return "?";
  if (method === "RunQuery") return describeQuery(parent, body);
  const query = field(body, 1);
  return `count of ${query instanceof Buffer ? describeQuery(parent, query) : "?"}`;
}

/**
 * How many documents the aggregation `request` matches: its structured query (with its
 * transaction or read time, so it reads the same snapshot) as a COUNT, sent directly.
 */
async function countMatches(session: http2.ClientHttp2Session, headers: http2.IncomingHttpHeaders, request: Buffer): Promise<number> {
  const original = fields(request);
  const query = field(field(request, 2) as Buffer, 1) as Buffer;
  // Aggregation { count: {}, alias: "n" } as StructuredAggregationQuery.aggregations (field 3).
  const count = lengthDelimited(3, Buffer.concat([lengthDelimited(1, Buffer.alloc(0)), lengthDelimited(7, Buffer.from("n"))]));
  const countRequest = Buffer.concat([
    ...original.filter((f) => f.field === 1).map((f) => lengthDelimited(1, f.value as Buffer)),
    lengthDelimited(2, Buffer.concat([lengthDelimited(1, query), count])),
    // new_transaction (5) is left out: a second transaction would contend with the first.
    ...original.filter((f) => f.field === 4 || f.field === 6).map((f) => lengthDelimited(f.field, f.value as Buffer)),
  ]);
  const { "grpc-timeout": _timeout, ...sameCallerHeaders } = headers;
  const stream = session.request(sameCallerHeaders);
  stream.end(frame(countRequest));
  const responses: Buffer[] = [];
  stream.on(
    "data",
    deframer(undefined, (message) => responses.push(message)),
  );
  const status = await new Promise<unknown>((resolve, reject) => {
    stream.on("response", (h) => h["grpc-status"] !== undefined && resolve(h["grpc-status"]));
    stream.on("trailers", (h) => resolve(h["grpc-status"]));
    stream.on("error", reject);
    stream.on("close", () => reject(new Error(`count query closed without a status (rst ${stream.rstCode})`)));
  });
  if (status !== "0") throw new Error(`count query failed with gRPC status ${String(status)}`);
  const result = field(responses[0] ?? Buffer.alloc(0), 1);
  const entry = result instanceof Buffer ? field(result, 2) : undefined;
  const value = entry instanceof Buffer ? field(entry, 2) : undefined;
  const integer = value instanceof Buffer ? field(value, 2) : undefined;
  return typeof integer === "number" ? integer : 0; // proto3 leaves a zero integer_value off the wire
}

export async function startReadCountingProxy(options: {
  /** host:port of the emulator. */
  targetHost: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Called with the full document names each successful Commit wrote (BatchWrite is not reported). */
  onCommitted?: (documents: readonly string[]) => void;
}): Promise<ReadCountingProxy> {
  const counts: Record<string, number> = { BatchGetDocuments: 0, RunQuery: 0, RunAggregationQuery: 0 };
  const targets = new Map<string, number>();
  const add = (method: string, reads: number, target: string) => {
    counts[method] = (counts[method] ?? 0) + reads;
    targets.set(target, (targets.get(target) ?? 0) + reads);
  };
  const writeCounts: Record<string, number> = { Commit: 0, BatchWrite: 0 };
  const addWrites = (method: string, writes: number) => (writeCounts[method] = (writeCounts[method] ?? 0) + writes);

  let upstream: http2.ClientHttp2Session | undefined;
  const emulator = () => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = http2.connect(`http://${options.targetHost}`);
      upstream.on("error", () => {}); // surfaces on each stream, which resets its caller's stream
    }
    return upstream;
  };

  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });

  server.on("stream", (downstream, headers) => {
    const method = String(headers[":path"]).startsWith(service) ? String(headers[":path"]).slice(service.length) : "";
    const onward = emulator().request(headers, { endStream: false });
    downstream.pipe(onward);

    // A query's request names its target; the emulator answers only once it has the request.
    const requests: Buffer[] = [];
    if (method === "RunQuery" || method === "RunAggregationQuery") {
      downstream.on(
        "data",
        deframer(headers["grpc-encoding"], (message) => requests.push(message)),
      );
    }
    const queryRead = () => queryTarget(method, requests[0] ?? Buffer.alloc(0));

    let readsCounted: Promise<void> = Promise.resolve();
    if (method === "RunAggregationQuery") {
      readsCounted = new Promise((resolve) => {
        downstream.on("end", () => {
          countMatches(emulator(), headers, requests[0] ?? Buffer.alloc(0))
            .catch(() => 0) // a query the emulator rejects still costs the minimum
            .then((matched) => add(method, Math.max(1, Math.ceil(matched / readsPerAggregationBatch)), queryRead()))
            .then(() => resolve());
        });
      });
    }

    // Writes: Commit's are in its request, billed once its status says it applied.
    let commitWrites = 0;
    const commitDocuments: string[] = [];
    if (method === "Commit") {
      downstream.on(
        "data",
        deframer(headers["grpc-encoding"], (message) => {
          commitWrites += billedCommitWrites(message);
          if (options.onCommitted) commitDocuments.push(...committedDocuments(message));
        }),
      );
    }

    let answered = false;
    let trailers: http2.IncomingHttpHeaders = {};
    onward.on("trailers", (received) => (trailers = received));
    onward.on("response", async (responseHeaders, flags) => {
      answered = true;
      // The caller may see the answer only once its reads are counted.
      await readsCounted;
      if (downstream.closed || downstream.destroyed) return;
      if (flags & NGHTTP2_FLAG_END_STREAM) {
        downstream.respond(responseHeaders, { endStream: true }); // trailers-only: a gRPC error
        return;
      }
      downstream.respond(responseHeaders, { waitForTrailers: true });
      let batchWrites = 0;
      if (method === "BatchWrite") {
        onward.on(
          "data",
          deframer(responseHeaders["grpc-encoding"], (message) => (batchWrites += appliedBatchWrites(message))),
        );
      }
      downstream.on("wantTrailers", () => {
        // Counted before the caller sees the status, like reads. A failed call applied nothing.
        if (String(trailers["grpc-status"]) === "0") {
          if (method === "Commit") {
            addWrites(method, commitWrites);
            options.onCommitted?.(commitDocuments);
          }
          if (method === "BatchWrite") addWrites(method, batchWrites);
        }
        downstream.sendTrailers(trailers);
      });
      if (method === "BatchGetDocuments" || method === "RunQuery") {
        // Counted as each message passes, before it is forwarded (this listener runs before the
        // pipe's): a client may take its answer before the stream ends (the Node client stops
        // reading a query at `done`), and must find its reads counted by then.
        let documents = 0;
        let minimumCounted = false;
        const countMinimum = () => {
          // A query that returns no documents is billed one read.
          if (method === "RunQuery" && documents === 0 && !minimumCounted) add(method, 1, queryRead());
          minimumCounted = true;
        };
        // RunQueryResponse.document and BatchGetDocumentsResponse.found are field 1 (a Document,
        // its name field 1), BatchGetDocumentsResponse.missing is 2 (the name); RunQueryResponse.done is 6.
        const isRead = (f: Field) => f.field === 1 || (method === "BatchGetDocuments" && f.field === 2);
        const documentRead = (f: Field) => relativePath(f.field === 2 ? (f.value as Buffer).toString("utf8") : String(field(f.value as Buffer, 1) ?? ""));
        onward.on(
          "data",
          deframer(responseHeaders["grpc-encoding"], (message) => {
            const parts = fields(message);
            const reads = parts.filter(isRead);
            if (method === "RunQuery" && reads.length > 0) add(method, reads.length, queryRead());
            if (method === "BatchGetDocuments") for (const read of reads) add(method, 1, documentRead(read));
            documents += reads.length;
            if (method === "RunQuery" && parts.some((f) => f.field === 6 && f.value === 1)) countMinimum();
          }),
        );
        onward.on("end", countMinimum);
      }
      onward.pipe(downstream);
    });

    // A reset on either side (a cancelled Listen, an emulator failure) resets the other.
    onward.on("close", () => {
      if (downstream.closed || downstream.destroyed) return;
      if (!answered) {
        const unavailable = { "grpc-status": "14", "grpc-message": "Firestore emulator unreachable" };
        downstream.respond({ ":status": 200, "content-type": "application/grpc", ...unavailable }, { endStream: true });
      } else if (onward.rstCode) {
        downstream.close(onward.rstCode);
      }
    });
    onward.on("error", () => {});
    downstream.on("close", () => {
      if (!onward.destroyed) onward.close(downstream.rstCode || NGHTTP2_CANCEL);
    });
    downstream.on("error", () => {});
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const port = (server.address() as AddressInfo).port;

  return {
    host: `127.0.0.1:${port}`,
    port,
    reads: {
      total: () => Object.values(counts).reduce((sum, n) => sum + n, 0),
      byMethod: () => ({ ...counts }),
      byTarget: () => Object.fromEntries(targets),
      reset: () => {
        for (const method of Object.keys(counts)) counts[method] = 0;
        targets.clear();
      },
    },
    writes: {
      total: () => Object.values(writeCounts).reduce((sum, n) => sum + n, 0),
      byMethod: () => ({ ...writeCounts }),
      reset: () => {
        for (const method of Object.keys(writeCounts)) writeCounts[method] = 0;
      },
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Clients keep their sessions open; without this the server would never close.
      for (const session of sessions) session.destroy();
      upstream?.destroy();
      await closed;
    },
  };
}
