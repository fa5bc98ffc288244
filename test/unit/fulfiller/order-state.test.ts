import { expect } from "chai";
import { at, firstClaim as claimed, request, T0 } from "../../support/order-claims.js";
import {
  assertClaimHeld,
  ClaimLostError,
  concludeOrder,
  HISTORY_LIMIT,
  planClaim,
  releaseOrder,
} from "../../../services/fulfiller/order-state.js";

describe("unit: order state machine", () => {
  it("when no order exists, then the delivery claims it with a lease", () => {
    const order = claimed();
    expect(order).to.include({ status: "processing", claim_id: "claim-a", attempts: 1 });
    expect(order.lease_expires_at?.getTime()).to.equal(T0.getTime() + 60_000);
  });

  it("when the lease is live, then another delivery is busy; once expired, it can claim", () => {
    const order = claimed();
    expect(planClaim(order, request({ claimId: "b", now: at(59_999) })).outcome).to.equal("busy");
    const again = planClaim(order, request({ claimId: "b", now: at(60_001), eventId: "evt_2" }));
    expect(again.outcome).to.equal("claimed");
    expect(again.order).to.include({ claim_id: "b", attempts: 2 });
    expect(again.order.event_ids).to.deep.equal(["evt_1", "evt_2"]);
  });

  it("when the order is final, then every later delivery is a duplicate, never moving it back", () => {
    for (const status of ["fulfilled", "skipped", "payment_failed", "needs_review"] as const) {
      const done = concludeOrder(claimed(), { status, reason: "r", now: at(1) });
      const plan = planClaim(done, request({ claimId: "late", now: at(10_000_000) }));
      expect(plan.outcome).to.equal("duplicate");
      expect(plan.order.status).to.equal(status);
    }
  });

  it("when failed or awaiting_payment, then a later delivery claims it again", () => {
    for (const status of ["failed", "awaiting_payment"] as const) {
      const order = concludeOrder(claimed(), { status, reason: "r", now: at(1) });
      expect(planClaim(order, request({ claimId: "next", now: at(2) })).outcome).to.equal("claimed");
    }
  });

  it("when an expired attempt left email.state sending, then the next delivery makes it needs_review", () => {
    const order = { ...claimed(), email: { state: "sending" as const, started_at: T0 } };
    expect(planClaim(order, request({ now: at(30_000) })).outcome).to.equal("busy");
    const plan = planClaim(order, request({ claimId: "b", now: at(61_000) }));
    expect(plan.outcome).to.equal("needs_review");
    expect(plan.order).to.include({ status: "needs_review", claim_id: null });
  });

  it("when a claim is checked, then a lost claim or an expired lease stops the attempt", () => {
    const order = claimed();
    expect(() => assertClaimHeld(order, "claim-a", at(1000), { requireLiveLease: true })).to.not.throw();
    expect(() => assertClaimHeld(order, "other", at(1000), { requireLiveLease: true })).to.throw(
      ClaimLostError,
    );
    expect(() => assertClaimHeld(order, "claim-a", at(60_000), { requireLiveLease: true })).to.throw(
      ClaimLostError,
    );
    expect(() =>
      assertClaimHeld(order, "claim-a", at(50_000), { requireLiveLease: true, minRemainingMs: 20_000 }),
    ).to.throw(ClaimLostError);
    expect(() => assertClaimHeld(order, "claim-a", at(90_000), { requireLiveLease: false })).to.not.throw();
    const released = releaseOrder(order, at(5), "stripe 503");
    expect(() => assertClaimHeld(released, "claim-a", at(6), { requireLiveLease: false })).to.throw(
      ClaimLostError,
    );
    expect(planClaim(released, request({ claimId: "c", now: at(6) })).outcome).to.equal("claimed");
  });

  it("when many transitions happen, then the history keeps only the latest entries", () => {
    let order = claimed();
    for (let i = 0; i < 50; i++) order = releaseOrder(order, at(i), `r${i}`);
    expect(order.history).to.have.length(HISTORY_LIMIT);
    expect(order.history.at(-1)?.reason).to.equal("released: r49");
  });
});
