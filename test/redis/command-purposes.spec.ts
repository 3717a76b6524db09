/**
 * What each Redis command the product sends is for (functions/src/redis/command-purposes.ts),
 * from commands built with the production key names, as the client sends them.
 */
import assert from "node:assert/strict";
import { instanceWorkPurposes, redisCommandPurpose, redisCommandPurposes } from "../../functions/src/redis/command-purposes";
import { enabledAppsKey, installsKey, statsStreamKey, thresholdKey, usageLogKey, usageScope, usageStateKey } from "../../functions/src/redis/keys";
import { appliedEventKeyPrefix, markerKey, markerReadKeys, markerTimeKey, scopes } from "../../functions/src/redis/markers";
import { pollCommand, pollScriptSha, pollScriptSource } from "../../functions/src/redis/poll";
import { classify } from "../../bench/redis-commands";

const month = { year: 2026, month: 12 };
const usage = usageScope("u1", month);

/** The poll script's keys and arguments for a usage figure first, an enabled set, and install counts riding. */
const poll = pollCommand({ scopes: [usage, scopes.enabledApps("u1")], heldVersions: [undefined, "3"], riderKeys: [installsKey("a1")] });

const commands: [string, (string | number)[]][] = [
  ["markerPoll", ["evalsha_ro", pollScriptSha, poll.keys.length, ...poll.keys, ...poll.args]], // whatever key comes first
  ["markerPoll", ["eval_ro", pollScriptSource, poll.keys.length, ...poll.keys, ...poll.args]],
  ["markerPoll", ["mget", ...markerReadKeys([scopes.tester("u1"), scopes.publicApps])]],
  ["markerPoll", ["mget", ...markerReadKeys([usage, scopes.tester("u1")])]], // a usage figure first: still the poll
  ["markerBump", ["evalsha", "0123abcd", 3, `${appliedEventKeyPrefix}users/u1@1`, markerKey(scopes.mentor("u1")), markerTimeKey(scopes.mentor("u1"))]],
  ["markerBump", ["eval", "return 1", 3, `${appliedEventKeyPrefix}-`, markerKey(scopes.publicApps), markerTimeKey(scopes.publicApps)]],
  [
    "usageLedger",
    ["evalsha", "0123abcd", 5, markerKey(usage), markerTimeKey(usage), usageStateKey("u1", month), usageLogKey("u1", month), thresholdKey("u1", "s")],
  ],
  ["enabledApps", ["smembers", enabledAppsKey("u1")]],
  [
    "enabledApps",
    ["evalsha", "0123abcd", 4, enabledAppsKey("u1"), installsKey("a1"), markerKey(scopes.enabledApps("u1")), markerTimeKey(scopes.enabledApps("u1"))],
  ],
  ["installs", ["mget", installsKey("a1"), installsKey("a2")]],
  ["freemiumThreshold", ["set", thresholdKey("u1", "s1"), "1", "nx", "ex", 172800]],
  ["statsPublish", ["xadd", statsStreamKey, "minid", "=", "1", "*", "s", "{}"]],
  ["statsRead", ["xrange", statsStreamKey, "-", "+", "count", 20000]],
  ["noKey", ["time"]],
  ["unrecognised", ["get", "somebody-elses:key"]],
];

describe("Redis command purposes", () => {
  for (const [purpose, command] of commands) {
    it(`${String(command[0]).toUpperCase()} ${String(command[String(command[0]).startsWith("eval") ? 3 : 1] ?? "")}: ${purpose}`, () => {
      assert.equal(redisCommandPurpose(command), purpose);
    });
  }

  it("every purpose has a case above, and its group is the bench's purpose for the same command", () => {
    assert.deepEqual(new Set(commands.map(([purpose]) => purpose)), new Set(Object.keys(redisCommandPurposes)));
    for (const [purpose, command] of commands) {
      assert.equal(classify(command.map(String)).purpose, redisCommandPurposes[purpose as keyof typeof redisCommandPurposes], purpose);
    }
  });

  it("the instance's own work: the marker poll and the stats publish riding on it", () => {
    assert.deepEqual([...instanceWorkPurposes].sort(), ["markerPoll", "statsPublish"]);
  });
});
