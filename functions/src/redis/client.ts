import { channel } from "node:diagnostics_channel";
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

/**
 * Every command this process sends, as Upstash bills them: each command of a pipeline, a
 * script's EVALSHA and, when Redis lacked the script, its EVAL. Published where the request
 * leaves the client, in the async context of the code that sent it, before the round trip. A
 * diagnostics channel, so that this floor keeps no observer of its own: whoever listens holds
 * its observer (the instance runtime, which counts them in its usage meter), and with no one
 * listening a command costs one check.
 */
const commandsSent = channel("voice-cache:redis-command");

/**
 * Hears every command this process sends (see `commandsSent`) until the returned function is
 * called. `observer` must be cheap; what it throws is swallowed: counting must never fail a command.
 */
export function observeRedisCommands(observer: RedisCommandObserver): () => void {
  const listener = (command: unknown) => {
    try {
      observer(command as readonly unknown[]);
    } catch {
      // Swallowed here: a listener's throw would reach the process as an uncaught exception.
    }
  };
  commandsSent.subscribe(listener);
  return () => commandsSent.unsubscribe(listener);
}

/** The commands one REST request carries: a pipeline's or transaction's list, or one command. */
function noteCommands(request: UpstashRequest): void {
  if (!commandsSent.hasSubscribers || !Array.isArray(request.body)) return;
  const route = request.path?.[0];
  if (route === "pipeline" || route === "multi-exec") {
    for (const command of request.body as unknown[]) if (Array.isArray(command)) commandsSent.publish(command);
  } else {
    commandsSent.publish(request.body);
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
export function luaScript(source: string, options: { readonly?: boolean } = {}): (keys: string[], args: string[]) => Promise<unknown> {
  let script: { exec(keys: string[], args: string[]): Promise<unknown> } | undefined;
  return (keys, args) => {
    // Read-only (EVALSHA_RO / EVAL_RO): Redis refuses a write in it, and may run it on a replica.
    script ??= options.readonly === true ? redis().createScript(source, { readonly: true }) : redis().createScript(source);
    return script.exec(keys, args);
  };
}
