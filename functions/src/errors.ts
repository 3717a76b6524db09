/**
 * The edge between our code and the client: input validation with zod, and the mapping of
 * internal failures to standard HttpsError codes (without leaking internals).
 */
import { errors as upstashErrors } from "@upstash/redis";
import { HttpsError } from "firebase-functions/https";
import { z } from "zod";
import { meteredAs } from "./instance/runtime";
import * as logs from "./logs";

/** Parses callable `data`, or throws `invalid-argument` naming the first bad field. Writes nothing. */
export function parseData<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const parsed = schema.safeParse(data ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : undefined;
  if (issue?.code === "unrecognized_keys") {
    throw new HttpsError("invalid-argument", `Unknown field(s): ${issue.keys.join(", ")}`);
  }
  throw new HttpsError("invalid-argument", field ? `Invalid field "${field}": ${issue?.message}` : `Invalid request: ${issue?.message}`);
}

const noFields = z.object({}).strict();

/** For callables that take `{}`: any field is `invalid-argument`, naming it. */
export function requireNoData(data: unknown): void {
  parseData(noFields, data);
}

/** A dependency (Firestore, Redis) failed or timed out: the client may retry. */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: "firestore" | "redis",
    options: { cause: unknown },
  ) {
    super(`${dependency} unavailable`, options);
    this.name = "DependencyUnavailableError";
  }
}

/**
 * How long a callable (or the Stripe webhook) waits on Firestore and Redis before answering
 * `unavailable` (503). Answers normally take milliseconds; without a bound, an unreachable
 * Firestore keeps a request waiting while the SDK retries (about 40 s for a read, minutes for
 * a commit), past the function's timeout, and the client sees a timeout instead of a code it
 * can act on. The work is not cancelled: a write may still land after the answer (see
 * docs/operations.md); the webhook and the admin and settings writes are idempotent.
 */
export const dependencyDeadlineMs = 10_000;

/** The dependencies did not answer within `dependencyDeadlineMs`. */
export class DeadlineExceededError extends Error {
  constructor(deadlineMs: number) {
    super(`no answer from a dependency within ${deadlineMs} ms`);
    this.name = "DeadlineExceededError";
  }
}

/** `work`, or DeadlineExceededError once `deadlineMs` has passed. */
export async function withinDeadline<T>(work: Promise<T>, deadlineMs: number = dependencyDeadlineMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(deadlineMs)), deadlineMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// gRPC codes a retry can fix: CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE.
const retryableGrpcCodes = new Set([1, 2, 4, 8, 10, 13, 14]);

function isDependencyFailure(error: unknown): boolean {
  if (error instanceof DependencyUnavailableError || error instanceof DeadlineExceededError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "number" && retryableGrpcCodes.has(code)) return true;
  if (error instanceof upstashErrors.UpstashError) return true;
  // A Redis command that outran redisTimeoutMs (DOMException names) or never reached Upstash.
  return ["AbortError", "TimeoutError"].includes(error.name) || error.message === "fetch failed";
}

/**
 * Wraps a callable handler: HttpsErrors pass through; a failing dependency becomes
 * `unavailable`; anything else is logged and becomes `internal`. Each call is a request of
 * `name` for the usage meter.
 */
export function atEdge<Req, Res>(name: string, handler: (request: Req) => Promise<Res>): (request: Req) => Promise<Res> {
  return meteredAs(name, async (request: Req) => {
    try {
      return await withinDeadline(handler(request));
    } catch (error) {
      if (error instanceof HttpsError) throw error;
      if (isDependencyFailure(error)) {
        logs.callableDependencyUnavailable({ callable: name, error });
        throw new HttpsError("unavailable", "A backend service is unavailable; retry shortly.");
      }
      logs.callableFailed({ callable: name, error });
      throw new HttpsError("internal", "Internal error.");
    }
  });
}
