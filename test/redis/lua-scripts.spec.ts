/**
 * Upstash facts the Lua scripts must honour, checked on the real redis-server behind the
 * gateway:
 * - every key a script touches is declared in KEYS (Upstash loads declared keys before the
 *   script runs and reads undeclared ones from disk while holding its lock): each command a
 *   script runs is taken from MONITOR, Redis itself names its keys (COMMAND GETKEYS), and
 *   they must be among the KEYS of the EVALSHA/EVAL that ran it;
 * - the script cache is lost on a restart: after SCRIPT FLUSH, every script still applies
 *   (upstash's createScript falls back from EVALSHA to EVAL).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { redisUsageLedger } from "../../functions/src/credits/ledger";
import { bumpMarkers, markerKey, scopes } from "../../functions/src/redis/markers";
import { Instance, startInstance } from "../../scripts/harness/instance";
import { createApp } from "../support/apps";
import { markerVersion } from "../support/redis";
import { stack, triggersSettled } from "../support/stack";
import { pollIntervalMs } from "../support/instance";
import { waitUntil } from "../support/wait";

interface ScriptRun {
  via: string;
  declared: string[];
  commands: string[][];
}

/** Runs `work`, and returns every script it ran with the commands each ran inside. */
async function scriptsRunBy(work: () => Promise<unknown>): Promise<ScriptRun[]> {
  // MONITOR runs on a connection of its own (ioredis duplicates this one); this one sends the barrier.
  // No ready check (its INFO): a command MONITOR shows before ioredis has read MONITOR's own
  // reply fails the monitor connection with "Command queue state error" (seen once in CI).
  const client = new Redis(stack().redis.url, { enableReadyCheck: false });
  await client.ping();
  const monitor = await client.monitor();
  const runs: ScriptRun[] = [];
  const barrier = `lua-spec-barrier-${randomUUID()}`;
  let barrierSeen = false;
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    const name = args[0]?.toLowerCase();
    if (name === "echo" && args[1] === barrier) {
      barrierSeen = true;
    } else if (source !== "lua" && (name === "evalsha" || name === "eval" || name === "evalsha_ro" || name === "eval_ro")) {
      runs.push({ via: name, declared: args.slice(3, 3 + Number(args[2])), commands: [] });
    } else if (source === "lua") {
      runs.at(-1)?.commands.push(args);
    }
  });
  try {
    await work();
    // MONITOR lines arrive asynchronously, in the order Redis ran the commands: once a command
    // sent after the work shows, every line of the work has arrived (no fixed pause to hope on).
    await client.echo(barrier);
    await waitUntil(() => barrierSeen, "MONITOR to show the barrier command");
  } finally {
    client.disconnect();
    monitor.disconnect();
  }
  return runs;
}

async function undeclaredKeys(runs: ScriptRun[]): Promise<string[]> {
  const client = new Redis(stack().redis.url);
  const problems: string[] = [];
  try {
    for (const run of runs) {
      for (const command of run.commands) {
        const keys = (await client.call("COMMAND", "GETKEYS", ...command).catch(() => [])) as string[];
        for (const key of keys) if (!run.declared.includes(key)) problems.push(`${command.join(" ")}: ${key} not in KEYS ${JSON.stringify(run.declared)}`);
      }
    }
  } finally {
    client.disconnect();
  }
  return problems;
}

describe("Lua scripts on the real Redis (Upstash's rules)", function () {
  this.timeout(60_000);
  let instance: Instance;
  const appId = `lua-app-${randomUUID()}`;

  before(async () => {
    await createApp(appId, { uid: "dev", approved: true });
    await triggersSettled();
    instance = await startInstance();
    // A manual clock: each run's getAvailableApps finds a poll due, on any machine.
    await instance.useManualClock();
  });
  after(async () => {
    await instance?.stop();
  });

  /** Every script the suite has, once each: the marker poll (a due one), marker bumps, the ledger's count and rebuild, enable and disable. */
  async function runEveryScript(tag: string): Promise<void> {
    const uid = `lua-${tag}-${randomUUID()}`;
    await instance.advanceClock(pollIntervalMs);
    await instance.call("getAvailableApps", {}, { uid });
    const month = { year: 2026, month: 12 };
    await bumpMarkers([scopes.tester(uid), scopes.mentor(uid)], { onceForChange: `lua-test/${uid}@1`, changedId: "x" });
    await redisUsageLedger.rebuild(uid, month, 100, Date.now() * 1000);
    await redisUsageLedger.count(
      uid,
      month,
      { uid, month, reportKey: `r:${tag}`, seconds: 30, committedAtUs: Date.now() * 1000 },
      { sessionId: "s", limitSeconds: 1800, thresholdSeconds: 180, mayFire: true },
      { usedSeconds: 100, readAtUs: Date.now() * 1000 },
    );
    await instance.call("enableApp", { appId }, { uid });
    await instance.call("disableApp", { appId }, { uid });
  }

  it("every key each script touches is declared in KEYS", async () => {
    // An EVALSHA that Redis answers NOSCRIPT runs nothing; its EVAL retry does.
    const runs = (await scriptsRunBy(() => runEveryScript("keys"))).filter((run) => run.commands.length > 0);
    assert.ok(runs.length >= 6, `saw ${runs.length} script runs that ran commands`);
    assert.ok(
      runs.some((run) => run.commands.some((command) => command[0]?.toLowerCase() === "smembers")),
      "the marker poll ran, reading a new user's enabled set with their marker",
    );
    assert.deepEqual(await undeclaredKeys(runs), []);
  });

  it("a deliberately undeclared key is caught (the check can fail)", async () => {
    const client = new Redis(stack().redis.url);
    try {
      const runs = await scriptsRunBy(() =>
        client.eval("redis.call('SET', KEYS[1], '1'); return redis.call('GET', 'lua-undeclared-key')", 1, "lua-declared-key"),
      );
      assert.deepEqual(await undeclaredKeys(runs), [`GET lua-undeclared-key: lua-undeclared-key not in KEYS ["lua-declared-key"]`]);
    } finally {
      client.disconnect();
    }
  });

  it("SCRIPT FLUSH (Upstash loses its script cache on restart): every script still applies, through EVAL", async () => {
    await runEveryScript("warm"); // every script is loaded now
    const flusher = new Redis(stack().redis.url);
    try {
      await flusher.script("FLUSH");
    } finally {
      flusher.disconnect();
    }
    const scope = scopes.tester(`lua-flushed-${randomUUID()}`);
    const before = await markerVersion(scope);
    const runs = await scriptsRunBy(async () => {
      assert.equal(await bumpMarkers([scope]), true);
      await runEveryScript("flushed");
    });
    assert.notEqual(await markerVersion(scope), before, "the bump applied");
    const ran = runs.filter((run) => run.commands.length > 0);
    assert.ok(ran.length >= 6, "every script ran again after the flush");
    assert.ok(
      ran.some((run) => run.via === "eval"),
      "through EVAL: the source was sent again",
    );
    const client = new Redis(stack().redis.url);
    try {
      assert.equal(Number(await client.exists(markerKey(scope))), 1);
    } finally {
      client.disconnect();
    }
  });
});
