import { Redis, type UpstashRequest } from "@upstash/redis";
import { requiredString, upstashRedisRestToken, upstashRedisRestUrl } from "../config";

/**
 * A slow Redis must not stall a callable: every command gives up after this long, and the
 * caller decides what an unanswered command means (fail closed or serve within a bound).
 */
export const redisTimeoutMs = 800;

let client: Redis | undefined;

/** Hears one command as it is sent: its name, then its arguments. */
export type RedisCommandObserver = (command: readonly unknown[]) => void;

let commandObserver: RedisCommandObserver | undefined;

/**
 * Hears every command this process sends, as Upstash bills them: each command of a pipeline,
 * a script's EVALSHA and, when Redis lacked the script, its EVAL. Called where the request
 * leaves the client, in the async context of the code that sent it, before the round trip
 * (cache/instance.ts counts them in the usage meter). One observer; it must be cheap.
 */
export function observeRedisCommands(observer: RedisCommandObserver | undefined): void {
  commandObserver = observer;
}

/** The commands one REST request carries: a pipeline's or transaction's list, or one command. */
function noteCommands(request: UpstashRequest): void {
  const observer = commandObserver;
  if (!observer || !Array.isArray(request.body)) return;
  const route = request.path?.[0];
  try {
    if (route === "pipeline" || route === "multi-exec") {
      for (const command of request.body as unknown[]) if (Array.isArray(command)) observer(command);
    } else {
      observer(request.body);
    }
  } catch {
    // Counting must never fail a command.
  }
}

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
    // Every request passes here, auto-pipelined ones included (a batch is sent in the context
    // of the call that opened it: see telemetry/meter.ts for what that means for attribution).
    client.use((request, send) => {
      noteCommands(request);
      return send(request);
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
