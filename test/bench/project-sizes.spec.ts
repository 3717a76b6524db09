/**
 * The month table's Upstash plan choice (bench/project-sizes.ts): the free tier while the month
 * fits in it, the fixed $10 plan when it is cheaper and its 10K commands/s hold the peak,
 * pay-as-you-go otherwise.
 */
import assert from "node:assert/strict";
import { cheapestUpstashPlan } from "../../bench/project-sizes";

describe("bench month table: the cheapest Upstash plan", () => {
  it("is the free tier up to 500K commands a month", () => {
    assert.deepEqual(cheapestUpstashPlan(500_000, 1), { plan: "free", usdPerMonth: 0 });
  });

  it("is pay-as-you-go while it costs less than $10 ($0.20 per 100K: under 5M commands)", () => {
    const plan = cheapestUpstashPlan(1_000_000, 1);
    assert.equal(plan.plan, "pay-as-you-go");
    assert.ok(Math.abs(plan.usdPerMonth - 2) < 1e-9);
  });

  it("is the fixed $10 plan above that, while the peak fits in 10K commands/s", () => {
    assert.deepEqual(cheapestUpstashPlan(50_000_000, 10_000), { plan: "fixed $10", usdPerMonth: 10 });
  });

  it("is pay-as-you-go when the peak is beyond the fixed plan's 10K commands/s", () => {
    const plan = cheapestUpstashPlan(50_000_000, 10_001);
    assert.equal(plan.plan, "pay-as-you-go");
    assert.ok(Math.abs(plan.usdPerMonth - 100) < 1e-9);
  });
});
