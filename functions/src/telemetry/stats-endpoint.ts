import type { Request, Response } from "firebase-functions/https";
import { verifyIdToken } from "../auth";
import * as logs from "../logs";
import type { CacheTelemetry } from "./cache-telemetry";
import { readPublishedSnapshots } from "./fleet-stats";
import { fleetText } from "./fleet-text";
import { listPrices } from "../prices";
import { fleetView } from "./fleet-view";

/**
 * `GET cacheStats` with an admin's ID token: the fleet's cache figures, measured freshness
 * first (see fleet-view.ts for the shape, docs/operations.md for how to read it), as JSON, or
 * with `?format=text` as the same figures in text tables (fleet-text.ts). Built from
 * the snapshots every instance of every function publishes; this instance's own figures
 * (if it served cached reads: not so in production, where cacheStats is its own service)
 * are taken now rather than read back, from `own` (the instance's telemetry of the moment). 503
 * when Redis cannot be read.
 */
export function cacheStatsHandler(own: () => CacheTelemetry): (req: Request, res: Response) => Promise<void> {
  return (req, res) => answerCacheStats(req, res, own);
}

async function answerCacheStats(req: Request, res: Response, own: () => CacheTelemetry): Promise<void> {
  if (req.method !== "GET") {
    res.set("Allow", "GET").status(405).json({ error: "method not allowed" });
    return;
  }
  const match = /^Bearer (.+)$/i.exec(req.header("authorization") ?? "");
  if (!match?.[1]) {
    res.status(401).json({ error: "missing ID token" });
    return;
  }
  let admin: unknown;
  try {
    ({ admin } = await verifyIdToken(match[1]));
  } catch (error) {
    logs.cacheStatsTokenRejected(error);
    res.status(401).json({ error: "invalid ID token" });
    return;
  }
  if (admin !== true) {
    res.status(403).json({ error: "administrators only" });
    return;
  }
  let fleet;
  try {
    fleet = await readPublishedSnapshots();
  } catch (error) {
    logs.cacheStatsUnavailable(error);
    res.status(503).json({ error: "fleet figures unavailable (Redis); retry shortly" });
    return;
  }
  const telemetry = own();
  const view = fleetView(fleet.published, fleet.redisNowMs, telemetry.hasFigures() ? telemetry.snapshot() : undefined, listPrices());
  if (req.query.format === "text") res.type("text/plain; charset=utf-8").send(fleetText(view));
  else res.json(view);
}
