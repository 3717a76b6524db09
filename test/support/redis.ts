import { Redis } from "@upstash/redis";
import { markerKey } from "../../functions/src/redis/markers";
import { stack } from "./stack";
import { waitUntil } from "./wait";

/** An official Upstash client on the test stack's gateway, for assertions on Redis state. */
export function testRedis(): Redis {
  const { gatewayUrl, gatewayToken } = stack().local;
  return new Redis({ url: gatewayUrl, token: gatewayToken, automaticDeserialization: false });
}

export async function markerVersion(scope: string): Promise<string | null> {
  return testRedis().get<string>(markerKey(scope));
}

/**
 * Starts the stopped test Redis again and waits until the gateway reaches it: other specs (and
 * the rest of the one that stopped it) need Redis back behind the gateway, not just started.
 */
export async function restartTestRedis(): Promise<void> {
  await stack().redis.restart();
  await waitUntil(
    async () =>
      (await testRedis()
        .ping()
        .catch(() => "")) === "PONG",
    "Redis behind the gateway",
  );
}
