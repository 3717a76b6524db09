import { Redis } from "@upstash/redis";
import { requiredString, upstashRedisRestToken, upstashRedisRestUrl } from "../config";

/**
 * A slow Redis must not stall a callable: every command gives up after this long, and the
 * caller decides what an unanswered command means (fail closed or serve within TTL).
 */
export const redisTimeoutMs = 800;

let client: Redis | undefined;

/** The Upstash client, created on first use. */
export function redis(): Redis {
  if (!client) {
    client = new Redis({
      url: requiredString(upstashRedisRestUrl),
      token: requiredString(upstashRedisRestToken),
      // Strings stay strings: marker versions and counters are compared as text.
      automaticDeserialization: false,
      // Retries would multiply the timeout; callers already have a fallback for failure.
      retry: { retries: 0 },
      signal: () => AbortSignal.timeout(redisTimeoutMs),
      keepAlive: true,
    });
  }
  return client;
}

/** Forget the client so the next call builds one from the current environment (tests). */
export function resetRedisClient(): void {
  client = undefined;
}
