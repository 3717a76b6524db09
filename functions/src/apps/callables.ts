/**
 * The marketplace callables: `getAvailableApps`, `enableApp`, `disableApp`.
 * Plain handlers; index.ts wraps them in onCall + atEdge.
 */
import { CallableRequest, HttpsError } from "firebase-functions/https";
import { z } from "zod";
import { requireUid } from "../auth";
import { parseData, requireNoData } from "../errors";
import { luaScript } from "../redis/client";
import { bumpMarkerLua, markerKey, markerTimeKey, markerTtlSeconds, scopes } from "../redis/markers";
import { visibleApps } from "./catalog";
import { enabledAppsKey, enrich, expectEnrichment, forgetEnabledApps, installsKey, noteServed } from "./enrichment";
import { AvailableApp, idSchema } from "./model";

const appRequest = z.object({ appId: idSchema }).strict();

/**
 * Atomic and idempotent: the install counter and the user's `enabled:{uid}` marker move only
 * when set membership changed, so enabling twice counts one install and disabling twice
 * uncounts one, and every instance's cached enabled set follows the marker.
 * KEYS[1] = the user's enabled set, KEYS[2] = the app's install counter, KEYS[3], KEYS[4] = the
 * user's enabled marker and its time key; ARGV[1] = app id, ARGV[2] = `markerTtlSeconds`,
 * ARGV[3] = the caller's clock (Unix ms, if Redis refuses TIME in a script).
 */
const enableScript = luaScript(`${bumpMarkerLua}
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('INCR', KEYS[2])
  bumpMarker(KEYS[3], KEYS[4], ARGV[2], redisTimeMs(ARGV[3]), '')
end
return 1`);
const disableScript = luaScript(`${bumpMarkerLua}
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  if (tonumber(redis.call('GET', KEYS[2])) or 0) > 0 then redis.call('DECR', KEYS[2]) end
  bumpMarker(KEYS[3], KEYS[4], ARGV[2], redisTimeMs(ARGV[3]), '')
end
return 0`);

export async function getAvailableAppsHandler(request: CallableRequest<unknown>): Promise<{ apps: AvailableApp[] }> {
  const uid = requireUid(request);
  requireNoData(request.data);
  expectEnrichment(uid);
  const apps = await visibleApps(uid, { personal: noteServed });
  return { apps: await enrich(uid, apps) };
}

async function setEnabled(request: CallableRequest<unknown>, enabled: boolean): Promise<{ enabled: boolean }> {
  const uid = requireUid(request);
  const { appId } = parseData(appRequest, request.data);
  const visible = await visibleApps(uid);
  // Same answer for "no such app" and "not yours to see": no probing for private app ids.
  if (!visible.some((app) => app.id === appId)) throw new HttpsError("not-found", `No app "${appId}" is available to you.`);
  const marker = scopes.enabledApps(uid);
  await (enabled ? enableScript : disableScript)(
    [enabledAppsKey(uid), installsKey(appId), markerKey(marker), markerTimeKey(marker)],
    [appId, String(markerTtlSeconds), String(Date.now())],
  );
  // Read-your-writes on this instance, also when the set was already so (another instance's
  // change whose marker this one has not polled yet).
  forgetEnabledApps(uid);
  return { enabled };
}

export function enableAppHandler(request: CallableRequest<unknown>): Promise<{ enabled: boolean }> {
  return setEnabled(request, true);
}

export function disableAppHandler(request: CallableRequest<unknown>): Promise<{ enabled: boolean }> {
  return setEnabled(request, false);
}
