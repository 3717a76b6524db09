/**
 * The marketplace callables: `getAvailableApps`, `enableApp`, `disableApp`.
 * Plain handlers; index.ts wraps them in onCall + atEdge.
 */
import { CallableRequest, HttpsError } from "firebase-functions/https";
import { z } from "zod";
import { requireUid } from "../auth";
import { parseData, requireNoData } from "../errors";
import { luaScript } from "../redis/client";
import { visibleApps } from "./catalog";
import { enabledAppsKey, enrich, installsKey } from "./enrichment";
import { AvailableApp, idSchema } from "./model";

const appRequest = z.object({ appId: idSchema }).strict();

/**
 * Atomic and idempotent: the install counter moves only when set membership changed, so
 * enabling twice counts one install and disabling twice uncounts one.
 * KEYS[1] = the user's enabled set, KEYS[2] = the app's install counter, ARGV[1] = app id.
 */
const enableScript = luaScript(`
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then redis.call('INCR', KEYS[2]) end
return 1`);
const disableScript = luaScript(`
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  if (tonumber(redis.call('GET', KEYS[2])) or 0) > 0 then redis.call('DECR', KEYS[2]) end
end
return 0`);

export async function getAvailableAppsHandler(request: CallableRequest<unknown>): Promise<{ apps: AvailableApp[] }> {
  const uid = requireUid(request);
  requireNoData(request.data);
  const apps = await visibleApps(uid);
  return { apps: await enrich(uid, apps) };
}

async function setEnabled(request: CallableRequest<unknown>, enabled: boolean): Promise<{ enabled: boolean }> {
  const uid = requireUid(request);
  const { appId } = parseData(appRequest, request.data);
  const visible = await visibleApps(uid);
  // Same answer for "no such app" and "not yours to see": no probing for private app ids.
  if (!visible.some((app) => app.id === appId)) throw new HttpsError("not-found", `No app "${appId}" is available to you.`);
  await (enabled ? enableScript : disableScript)([enabledAppsKey(uid), installsKey(appId)], [appId]);
  return { enabled };
}

export function enableAppHandler(request: CallableRequest<unknown>): Promise<{ enabled: boolean }> {
  return setEnabled(request, true);
}

export function disableAppHandler(request: CallableRequest<unknown>): Promise<{ enabled: boolean }> {
  return setEnabled(request, false);
}
