import { Redis } from "@upstash/redis";
import { markerKey } from "../../functions/src/redis/markers";
import { stack } from "./stack";

/** An official Upstash client on the test stack's gateway, for assertions on Redis state. */
export function testRedis(): Redis {
  const { gatewayUrl, gatewayToken } = stack().local;
  return new Redis({ url: gatewayUrl, token: gatewayToken, automaticDeserialization: false });
}

export async function markerVersion(scope: string): Promise<string | null> {
  return testRedis().get<string>(markerKey(scope));
}
