/**
 * Test-only callables on the real cache core, loaded into instance processes beside the
 * deployed functions: one security-sensitive cache and one fail-open cache, each reading
 * `probes/{id}.value` from Firestore under the marker scope `probe:{id}`.
 */
import { createCache } from "../../functions/src/instance/runtime";
import { firestore } from "../../functions/src/firestore";
import { firebaseFunctionsHttps } from "../../scripts/stack/functions-deps";

const { onCall } = firebaseFunctionsHttps();

const sensitiveCache = createCache<unknown>({ name: "probeSensitive", ttlMs: 30_000, maxEntries: 100, maxBytes: 100_000, securitySensitive: true });
const openCache = createCache<unknown>({ name: "probeOpen", ttlMs: 30_000, maxEntries: 100, maxBytes: 100_000 });

async function readProbe(id: string): Promise<unknown> {
  return (await firestore().collection("probes").doc(id).get()).get("value") ?? null;
}

export const probeSensitive = onCall(async (request) => {
  const id = String((request.data as { id: string }).id);
  return { value: await sensitiveCache.get(`probe:${id}`, [`probe:${id}`], () => readProbe(id)) };
});

export const probeOpen = onCall(async (request) => {
  const id = String((request.data as { id: string }).id);
  return { value: await openCache.get(`probe:${id}`, [`probe:${id}`], () => readProbe(id)) };
});
