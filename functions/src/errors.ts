/**
 * The edge between our code and the client: input validation with zod, and the mapping of
 * internal failures to standard HttpsError codes (without leaking internals).
 */
import { logger } from "firebase-functions/v2";
import { HttpsError } from "firebase-functions/v2/https";
import { z } from "zod";

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

// gRPC codes a retry can fix: CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE.
const retryableGrpcCodes = new Set([1, 2, 4, 8, 10, 13, 14]);

function isDependencyFailure(error: unknown): boolean {
  if (error instanceof DependencyUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "number" && retryableGrpcCodes.has(code)) return true;
  return ["UpstashError", "AbortError", "TimeoutError"].includes(error.name) || error.message === "fetch failed";
}

/**
 * Wraps a callable handler: HttpsErrors pass through; a failing dependency becomes
 * `unavailable`; anything else is logged and becomes `internal`.
 */
export function atEdge<Req, Res>(name: string, handler: (request: Req) => Promise<Res>): (request: Req) => Promise<Res> {
  return async (request) => {
    try {
      return await handler(request);
    } catch (error) {
      if (error instanceof HttpsError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (isDependencyFailure(error)) {
        logger.warn(`${name}: dependency unavailable`, { error: message });
        throw new HttpsError("unavailable", "A backend service is unavailable; retry shortly.");
      }
      logger.error(`${name} failed`, { error: message, stack: error instanceof Error ? error.stack : undefined });
      throw new HttpsError("internal", "Internal error.");
    }
  };
}
