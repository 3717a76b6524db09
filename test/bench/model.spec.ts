/**
 * The benchmark's checker (bench/checker.ts): what counts as stale, as a violation of the
 * contract, and as a credit figure allowed by the fleet's 2 s lag. No servers: the checker is
 * plain bookkeeping over the model.
 */
import assert from "node:assert/strict";
import { Change, createChecker, freshEverywhereMs, staleForMs } from "../../bench/checker";
import type { ModelState } from "../../bench/model";

const boundMs = 2_000;
const limitSeconds = 1_800;

function state(): ModelState {
  return {
    apps: new Map(),
    testers: new Map(),
    mentor: new Map([["u1", 3]]),
    plan: new Map([["u1", "basic"]]),
    seededUsage: new Map([["u1", 600]]),
  };
}

/** A mentor change of u1 from 2 to 3, committed at `atMs`, its marker written at `markerAtMs`. */
function mentorChange(atMs: number, markerAtMs: number, path: Change["path"]): Change {
  return {
    id: 1,
    kind: "setMentor",
    path,
    phase: "main",
    atMs,
    markerAtMs,
    triggerAtMs: atMs + 3_000,
    probeFromMs: atMs,
    uid: "u1",
    before: { mentor: 2 },
    probe: { name: "getMentorNotificationFrequency", uid: "u1" },
    handledBy: 0,
    lastOldMs: [-1, -1],
    freshSeen: [false, false],
    freshAtMs: [-1, -1],
    violations: 0,
    timedOut: false,
    done: false,
  };
}

describe("bench checker (bench/checker.ts)", () => {
  it("a callable-driven change: its old state is a violation more than 2 s after the commit", () => {
    const checker = createChecker(state(), boundMs);
    const change = mentorChange(10_000, 10_000, "callable");
    checker.changes.push(change);
    assert.equal(checker.checkMentor("u1", 1, 11_750, 2).violations, 0);
    assert.equal(checker.checkMentor("u1", 1, 12_250, 2).violations, 1);
    assert.equal(checker.checkMentor("u1", 0, 12_500, 3).wrong, 0, "the new state is right");
    assert.equal(staleForMs(change, change.atMs), 2_250);
  });

  it("a change made elsewhere: the contract's 2 s count from its trigger's marker write, not the commit", () => {
    const checker = createChecker(state(), boundMs);
    const change = mentorChange(10_000, 13_000, "elsewhere");
    checker.changes.push(change);
    const beforeMarker = checker.checkMentor("u1", 0, 12_750, 2);
    assert.equal(beforeMarker.violations, 0);
    assert.ok(beforeMarker.staleFor.has(1), "old state before the trigger is stale, not wrong");
    assert.equal(checker.checkMentor("u1", 0, 14_750, 2).violations, 0, "1.75 s after the marker write");
    assert.equal(checker.checkMentor("u1", 1, 15_250, 2).violations, 1, "2.25 s after the marker write");
    assert.equal(staleForMs(change, change.atMs), 5_250);
    assert.equal(staleForMs(change, change.markerAtMs), 2_250);
  });

  it("freshEverywhereMs: when the last instance first served the new state; undefined until every one has", () => {
    const change = mentorChange(10_000, 10_000, "callable");
    change.freshAtMs = [10_250, -1];
    assert.equal(freshEverywhereMs(change, change.atMs), undefined);
    change.freshAtMs = [10_250, 10_750];
    assert.equal(freshEverywhereMs(change, change.atMs), 750);
    assert.equal(staleForMs(mentorChange(10_000, 10_000, "callable"), 10_000), 0, "never old after the commit");
  });

  it("credits: the figure from before a report is allowed (and counted as lagged) for less than 2 s after its answer", () => {
    const checker = createChecker(state(), boundMs);
    const report = checker.startReport("u1", "s1-1", 60, 0);
    const own = checker.checkReport(report, 0, 5_000, { remainingSeconds: limitSeconds - 660, duplicate: false }, limitSeconds);
    assert.equal(own.wrong, 0);
    assert.equal(own.lagged, false);
    const lagged = checker.checkCredits("u1", 1, 6_750, limitSeconds - 600, limitSeconds);
    assert.equal(lagged.wrong, 0, "1.75 s after the report answered, another instance may not know it yet");
    assert.equal(lagged.lagged, true);
    assert.equal(checker.checkCredits("u1", 1, 6_750, limitSeconds - 660, limitSeconds).lagged, false, "the current figure is not lagged");
    assert.equal(checker.checkCredits("u1", 1, 7_000, limitSeconds - 600, limitSeconds).wrong, 1, "2 s after, the old figure is wrong");
    assert.deepEqual(checker.figuresChecked, { total: 4, ownReport: 1, lagged: 1 });
  });
});
