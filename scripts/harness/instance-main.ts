/**
 * One function instance in its own process (own module scope), serving every export of
 * functions/src/index.ts through its real onCall / onRequest / trigger wrapper, the way the
 * Functions Framework does: express, raw body kept as `req.rawBody`.
 * Control routes (prefixed `__`) let a test or the benchmark read cache figures and move the
 * instance clock. Started by `startInstance` (instance.ts).
 */
import express from "express";
import type { AddressInfo } from "node:net";
import { ManualClock, systemClock } from "../../functions/src/common/clock";
import { errorMessage } from "../../functions/src/error-message";
import * as deployed from "../../functions/src/index";
import { instanceRuntime } from "../../functions/src/instance/runtime";
import { applyParamDefaults } from "../stack/param-defaults";

// What deploy and the Functions emulator do before a function runs: params resolved into the env.
applyParamDefaults();

type Exported = Record<string, unknown>;
// A spec may load extra test-only exports beside the deployed ones (same module scope).
const extraModule = process.env.INSTANCE_EXTRA_MODULE;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const functions: Exported = { ...(deployed as unknown as Exported), ...(extraModule ? (require(extraModule) as Exported) : {}) };
let manualClock: ManualClock | undefined;

const app = express();
app.use(express.raw({ type: () => true, limit: "10mb" }));
app.use((req, res, next) => {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  (req as unknown as { rawBody: Buffer }).rawBody = raw;
  req.body = undefined;
  if (raw.length > 0 && (req.header("content-type") ?? "").includes("json")) {
    try {
      req.body = JSON.parse(raw.toString("utf8"));
    } catch {
      res.status(400).json({ error: "malformed JSON" });
      return;
    }
  }
  next();
});

app.get("/__stats", (_req, res) => {
  res.json(instanceRuntime().stats());
});

app.post("/__clock", (req, res) => {
  const body = req.body as { manual?: boolean; advanceMs?: number };
  if (body.manual === true) {
    // Whole milliseconds: a fractional start makes `start + 59_000 + 1_000 - start` come out
    // a hair under 60_000 about one time in seven, and a TTL check at exactly 60 s flaky.
    manualClock = new ManualClock(Math.ceil(systemClock.now()));
    instanceRuntime().useClock(manualClock);
  }
  if (body.manual === false) {
    // The system clock is behind wherever a test moved the manual one: every time this
    // instance noted (poll times, fetch ages) would lie in its future. A monotonic clock never
    // goes back, so going back is a cold start (which also puts the system clock back).
    manualClock = undefined;
    instanceRuntime().reset();
  }
  if (typeof body.advanceMs === "number") {
    if (!manualClock) {
      res.status(400).json({ error: "clock is not manual" });
      return;
    }
    manualClock.advance(body.advanceMs);
  }
  res.json({ nowMs: (manualClock ?? systemClock).now() });
});

app.post("/__trigger/:name", async (req, res) => {
  const trigger = functions[req.params.name];
  if (typeof trigger !== "function") {
    res.status(404).json({ error: `no export ${req.params.name}` });
    return;
  }
  try {
    await (trigger as (event: unknown) => Promise<unknown>)(req.body);
    res.json({ ok: true });
  } catch (error) {
    res.status(500).json({ error: errorMessage(error) });
  }
});

app.all("/:name", (req, res) => {
  const handler = functions[req.params.name];
  if (typeof handler !== "function") {
    res.status(404).json({ error: `no export ${req.params.name}` });
    return;
  }
  (handler as (req: express.Request, res: express.Response) => void)(req, res);
});

const server = app.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ port });
});
process.on("disconnect", () => process.exit(0));
