/**
 * A local Upstash Redis REST API, backed by a real `redis-server`, so the
 * official `@upstash/redis` client can run offline against real Redis semantics.
 *
 * Protocol (https://upstash.com/docs/redis/features/restapi):
 * - `POST /` with `["CMD", ...args]`; `POST /pipeline` and `POST /multi-exec` with `[[...], ...]`;
 *   `GET|POST /cmd/arg/...` (a POST body is appended as the last, binary-safe argument, then the
 *   query parameters as name/value pairs).
 * - `Authorization: Bearer <token>` or `?_token=`; otherwise 401.
 * - `{"result": ...}` or `{"error": ...}` (400); pipeline and multi-exec answer with an array of
 *   those, except a discarded transaction, which is a single 400 error.
 * - `Upstash-Encoding: base64`: every string in the result is base64, except a top-level "OK"
 *   (documented; the client special-cases it and would decode "OK" nested in an array to "8").
 *
 * Run directly: `npm run upstash:local -- --port 8079 --redis-url redis://127.0.0.1:6379 --token t`
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, IncomingMessage, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { errorMessage } from "../../functions/src/error-message";
import Redis, { ReplyError } from "ioredis";

export interface UpstashGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface UpstashGatewayOptions {
  port?: number;
  host?: string;
  redisUrl: string;
  token: string;
  /** Upper bound on one Redis round trip, so a stalled Redis yields an error instead of a hang. */
  commandTimeoutMs?: number;
  /**
   * Called once per command a client sent, as Upstash bills them: a single command is one, a
   * pipeline or multi-exec of N commands is N (EVAL/EVALSHA is one, whatever the script runs
   * inside). Called when the request is parsed, before Redis runs it, so refused and failed
   * commands are counted too. Synchronous and on the request path: keep it cheap. It must not
   * throw (a throw fails the request with a 500).
   */
  onCommand?: (command: readonly RedisArg[]) => void;
}

export type RedisArg = string | Buffer;
type JsonReply = string | number | null | JsonReply[];
interface EntryReply {
  result?: JsonReply;
  error?: string;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 2_000;
const MAX_RECONNECT_DELAY_MS = 500;
const OK = Buffer.from("OK");

/**
 * Commands that would change the state of the shared connection (and so leak into every other
 * request) or block it for everyone. Upstash exposes transactions only through /multi-exec.
 */
const UNSUPPORTED_COMMANDS = new Set([
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "select",
  "quit",
  "reset",
  "hello",
  "auth",
  "client",
  "monitor",
  "sync",
  "psync",
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "blpop",
  "brpop",
  "brpoplpush",
  "blmove",
  "blmpop",
  "bzpopmin",
  "bzpopmax",
  "bzmpop",
  "wait",
  "waitaof",
]);

/** Streaming (server-sent events) endpoints of Upstash that this gateway does not provide. */
const UNSUPPORTED_ROUTES = new Set(["monitor", "subscribe", "psubscribe"]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startUpstashGateway(options: UpstashGatewayOptions): Promise<UpstashGateway> {
  const host = options.host ?? "127.0.0.1";
  const redis = new Redis(options.redisUrl, {
    lazyConnect: true,
    // Fail fast instead of queueing while Redis is away; reconnect in the background.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Re-sending an INCR the client was already told failed would apply it twice.
    autoResendUnfulfilledCommands: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: options.commandTimeoutMs ?? 10_000,
    retryStrategy: (attempt) => Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS),
  });
  let lastRedisError = "";
  redis.on("error", (err: Error) => {
    lastRedisError = err.message;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`upstash-gateway: cannot reach Redis at ${options.redisUrl}: ${lastRedisError || (err as Error).message}`);
  }

  const expectedTokenDigest = sha256(options.token);
  const { onCommand } = options;
  let syncToken = 0;

  const server = createServer((req, res) => {
    handle(req).then(
      ({ status, body }) => send(res, status, body, ++syncToken),
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500) console.error("upstash-gateway: unexpected error", err);
        send(res, status, { error: errorMessage(err) }, ++syncToken);
      },
    );
  });

  async function handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    if (!authorized(req, url)) throw new HttpError(401, "Unauthorized");
    const method = req.method ?? "GET";
    if (!["GET", "HEAD", "POST", "PUT"].includes(method)) throw new HttpError(405, "Method Not Allowed");
    const hasBody = method === "POST" || method === "PUT";
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const segments = url.pathname.split("/").slice(1).map(decodeSegment);
    const [route = ""] = segments;

    if (route === "pipeline" || route === "multi-exec") {
      if (segments.length > 1) throw new HttpError(404, `Not Found: ${url.pathname}`);
      if (!hasBody) throw new HttpError(405, `${url.pathname} accepts POST only`);
      const commands = parseCommandList(parseJson(await readBody(req)));
      if (onCommand) for (const command of commands) onCommand(command);
      return route === "pipeline" ? runPipeline(commands, base64) : runTransaction(commands, base64);
    }
    if (route === "") {
      if (segments.length > 1) throw new HttpError(404, `Not Found: ${url.pathname}`);
      if (!hasBody) throw new HttpError(405, "POST a JSON command array to /");
      const command = parseCommand(parseJson(await readBody(req)));
      onCommand?.(command);
      return runSingle(command, base64);
    }
    if (UNSUPPORTED_ROUTES.has(route.toLowerCase())) {
      throw new HttpError(404, `/${route} (server-sent events) is not provided by the local gateway`);
    }
    const command: RedisArg[] = segments;
    if (hasBody) {
      const body = await readBody(req);
      if (body.length > 0) command.push(body);
    }
    for (const [name, value] of url.searchParams) {
      if (name === "_token") continue;
      command.push(name);
      if (value !== "") command.push(value);
    }
    onCommand?.(command);
    return runSingle(command, base64);
  }

  function authorized(req: IncomingMessage, url: URL): boolean {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const token = match?.[1] ?? url.searchParams.get("_token");
    // Comparing digests keeps the comparison constant-time whatever the token length.
    return token !== null && token !== undefined && timingSafeEqual(sha256(token), expectedTokenDigest);
  }

  function requireRedis(): void {
    if (redis.status !== "ready") {
      throw new HttpError(503, `ERR Redis is unreachable (${redis.status}${lastRedisError ? `: ${lastRedisError}` : ""})`);
    }
  }

  async function runSingle(command: RedisArg[], base64: boolean): Promise<{ status: number; body: EntryReply }> {
    rejectUnsupported(command);
    requireRedis();
    const [name = "", ...args] = command;
    try {
      const reply = await redis.callBuffer(wireName(name), ...args);
      return { status: 200, body: { result: toJson(reply, base64, true) } };
    } catch (err) {
      throw asHttpError(err);
    }
  }

  async function runPipeline(commands: RedisArg[][], base64: boolean): Promise<{ status: number; body: EntryReply[] }> {
    requireRedis();
    const pipeline = redis.pipeline();
    const rejected = new Map<number, string>();
    commands.forEach((command, index) => {
      try {
        rejectUnsupported(command);
        const [name = "", ...args] = command;
        pipeline.callBuffer(wireName(name), ...args);
      } catch (err) {
        rejected.set(index, (err as Error).message);
      }
    });
    const replies = pipeline.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    let next = 0;
    const body = commands.map((_, index): EntryReply => {
      const rejection = rejected.get(index);
      if (rejection !== undefined) return { error: rejection };
      const [err, reply] = replies[next++] ?? [new Error("missing pipeline reply"), null];
      return entryReply(err, reply, base64);
    });
    return { status: 200, body };
  }

  async function runTransaction(commands: RedisArg[][], base64: boolean): Promise<{ status: number; body: EntryReply[] }> {
    // Upstash discards the whole transaction when one command is unsupported.
    commands.forEach(rejectUnsupported);
    requireRedis();
    // ioredis writes MULTI, the commands and EXEC in one go on the connection, so Redis runs them
    // as one isolated unit.
    const transaction = redis.multi();
    for (const [name = "", ...args] of commands) transaction.callBuffer(wireName(name), ...args);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await transaction.exec();
    } catch (err) {
      // EXECABORT: a command was refused at queue time (unknown command, wrong arity).
      const previous = (err as { previousErrors?: Error[] }).previousErrors ?? [];
      const detail = previous.map((e) => e.message).join("; ");
      const httpError = asHttpError(err);
      throw new HttpError(httpError.status, detail ? `${httpError.message} (${detail})` : httpError.message);
    }
    if (replies === null) throw new HttpError(400, "EXECABORT Transaction aborted");
    return { status: 200, body: replies.map(([err, reply]) => entryReply(err, reply, base64)) };
  }

  function entryReply(err: Error | null, reply: unknown, base64: boolean): EntryReply {
    if (err) {
      // A lost connection is not a per-command answer: fail the whole request.
      if (!(err instanceof ReplyError)) throw asHttpError(err);
      return { error: err.message };
    }
    try {
      return { result: toJson(reply, base64, true) };
    } catch (nested) {
      return { error: (nested as Error).message };
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onListenError = (err: Error) => {
      redis.disconnect();
      reject(err);
    };
    server.once("error", onListenError);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", onListenError);
      server.on("error", (err) => console.error("upstash-gateway: server error", err));
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets from fetch would otherwise hold close() open for seconds.
        server.closeAllConnections();
      });
      redis.disconnect();
    },
  };
}

function rejectUnsupported(command: RedisArg[]): void {
  const name = String(command[0] ?? "").toLowerCase();
  const blocks = (name === "xread" || name === "xreadgroup") && command.some((arg) => String(arg).toLowerCase() === "block");
  if (UNSUPPORTED_COMMANDS.has(name) || blocks) {
    throw new HttpError(
      400,
      `ERR Command is not available: '${name}'. Use /multi-exec for transactions; blocking and connection-state commands are not supported by the local gateway`,
    );
  }
}

/**
 * ioredis rewrites the replies and arguments of some commands (HGETALL into an object, HSET/MSET
 * object arguments), looked up by the lower-case name. Redis ignores the case of command names, so
 * sending upper case keeps every reply exactly as Redis sent it.
 */
function wireName(name: RedisArg): string {
  return String(name).toUpperCase();
}

function asHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const message = errorMessage(err);
  // Redis' own answers are the caller's problem (400); anything else means Redis is not reachable.
  return err instanceof ReplyError ? new HttpError(400, message) : new HttpError(503, `ERR Redis is unreachable: ${message}`);
}

/** Redis replies (RESP2 via callBuffer: Buffer, number, null, arrays, nested errors) to JSON. */
function toJson(reply: unknown, base64: boolean, topLevel: boolean): JsonReply {
  if (reply === null || typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) {
    if (!base64) return reply.toString("utf8");
    return topLevel && reply.equals(OK) ? "OK" : reply.toString("base64");
  }
  if (Array.isArray(reply)) return reply.map((element) => toJson(element, base64, false));
  if (reply instanceof Error) throw reply;
  throw new Error(`unexpected Redis reply type: ${typeof reply}`);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new HttpError(400, `ERR failed to parse request body as JSON: ${(err as Error).message}`);
  }
}

function parseCommandList(body: unknown): RedisArg[][] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new HttpError(400, "ERR request body must be a non-empty JSON array of command arrays");
  }
  return body.map(parseCommand);
}

function parseCommand(body: unknown): RedisArg[] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new HttpError(400, 'ERR a command must be a non-empty JSON array such as ["GET", "key"]');
  }
  return body.map((arg): string => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new HttpError(400, `ERR command arguments must be strings or numbers, got ${JSON.stringify(arg)}`);
  });
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `ERR malformed percent-encoding in path segment: ${segment}`);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let sizeBytes = 0;
    req.on("data", (chunk: Buffer) => {
      sizeBytes += chunk.length;
      // Keep draining so the response can still be delivered, but stop buffering.
      if (sizeBytes <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (sizeBytes > MAX_BODY_BYTES) reject(new HttpError(413, `ERR request body exceeds ${MAX_BODY_BYTES} bytes`));
      else resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, syncToken: number): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    // The client stores it and sends it back (readYourWrites); a counter is enough with one Redis.
    "upstash-sync-token": String(syncToken),
  });
  res.end(payload);
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

const CLI_USAGE = "usage: upstash-gateway --token <t> [--port <p>] [--host <h>] [--redis-url <url>]";

function parseCliArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: { port: { type: "string" }, host: { type: "string" }, "redis-url": { type: "string" }, token: { type: "string" } },
      strict: true,
    }).values;
  } catch (err) {
    throw new Error(`${errorMessage(err)}\n${CLI_USAGE}`);
  }
}

async function main(): Promise<void> {
  const args = parseCliArgs(process.argv.slice(2));
  const token = args.token ?? process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!token) throw new Error(CLI_USAGE);
  const port = Number(args.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`invalid --port: ${args.port}`);
  const gateway = await startUpstashGateway({
    port,
    host: args.host,
    redisUrl: args["redis-url"] ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    token,
  });
  console.log(`Upstash REST gateway listening on ${gateway.url}`);
  const shutdown = () => {
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(errorMessage(err));
    process.exit(1);
  });
}
