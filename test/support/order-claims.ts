import { planClaim, type ClaimRequest, type OrderRecord } from "../../services/fulfiller/order-state.js";

/** A fixed clock for the order state machine's tests. */
export const T0 = new Date("2026-11-27T12:00:00Z");
export const at = (ms: number) => new Date(T0.getTime() + ms);

export const request = (over: Partial<ClaimRequest> = {}): ClaimRequest => ({
  sessionId: "cs_test_1",
  eventId: "evt_1",
  eventType: "checkout.session.completed",
  claimId: "claim-a",
  now: T0,
  leaseMs: 60_000,
  ...over,
});

/** The order as the first delivery claims it. */
export function firstClaim(): OrderRecord {
  const plan = planClaim(undefined, request());
  if (plan.outcome !== "claimed") throw new Error("expected a claim");
  return plan.order;
}
