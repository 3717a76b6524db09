import type { Request, Response } from "firebase-functions/v2/https";
import { logger } from "firebase-functions/v2";
import { verifyIdToken } from "../auth";
import { instanceCacheStats } from "./instance";

/** `GET cacheStats` with an admin's ID token: this instance's cache and marker figures. */
export async function cacheStats(req: Request, res: Response): Promise<void> {
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
    logger.info("cacheStats: rejected ID token", { error: error instanceof Error ? error.message : String(error) });
    res.status(401).json({ error: "invalid ID token" });
    return;
  }
  if (admin !== true) {
    res.status(403).json({ error: "administrators only" });
    return;
  }
  res.json(instanceCacheStats());
}
