import { Redis } from "@upstash/redis";
import { requiredString, upstashRedisRestToken, upstashRedisRestUrl } from "../config";

/**
 * A slow Redis must not stall a callable: every command gives up after this long, and the
 * caller decides what an unanswered command means (fail closed or serve within a bound).
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

/**
 * A Lua script, run with upstash's `createScript`: EVALSHA, falling back to EVAL (which loads
 * it) when Redis does not know the script yet, so the source is sent once per Redis rather than
 * with every call. Created on first use, on the shared client.
 */
export function luaScript(source: string): (keys: string[], args: string[]) => Promise<unknown> {
  let script: { exec(keys: string[], args: string[]): Promise<unknown> } | undefined;
  return (keys, args) => {
    script ??= redis().createScript(source);
    return script.exec(keys, args);
  };
}
