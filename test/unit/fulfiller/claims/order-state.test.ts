import { expect } from "chai";
import { at, firstClaim as claimed, request, T0, firstClaim } from "../../../support/order-claims.js";
import {
  assertClaimHeld,
  ClaimLostError,
  concludeOrder,
  HISTORY_LIMIT,
  planClaim,
  releaseOrder,
  type OrderRecord,
} from "../../../../services/fulfiller/claims/order-state.js";

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

// The order record's exact shape through the state machine (what `orders show` prints
// and what the next attempt reads).
describe("unit: order records, exactly", () => {
  it("when the first delivery claims an order, then the record is complete and its history says claimed", () => {
    expect(firstClaim()).to.deep.equal({
      session_id: "cs_test_1",
      status: "processing",
      reason: null,
      claim_id: "claim-a",
      lease_expires_at: at(60_000),
      attempts: 1,
      event_ids: ["evt_1"],
      last_event_type: "checkout.session.completed",
      email: { state: "none" },
      history: [{ at: T0, status: "processing", reason: "claimed", event_id: "evt_1" }],
      created_at: T0,
      updated_at: T0,
      details: null,
      subscription_marker: null,
    });
  });

  it("when a claimable order is claimed again, then attempts grow, the lease is renewed forward, and the history says from what", () => {
    const failed = concludeOrder(firstClaim(), {
      status: "failed",
      reason: "boom",
      now: at(1000),
      eventId: "evt_1",
    });
    const plan = planClaim(failed, request({ claimId: "claim-b", eventId: "evt_2", now: at(5000) }));
    expect(plan.outcome).to.equal("claimed");
    expect(plan.order).to.include({ status: "processing", claim_id: "claim-b", attempts: 2 });
    expect(plan.order.lease_expires_at).to.deep.equal(at(65_000));
    expect(plan.order.event_ids).to.deep.equal(["evt_1", "evt_2"]);
    expect(plan.order.history.at(-1)).to.deep.equal({
      at: at(5000),
      status: "processing",
      reason: "claimed (was failed)",
      event_id: "evt_2",
    });
  });

  it("when a lease ends exactly now, then it is expired (claimable), one millisecond before it is busy", () => {
    const order = firstClaim();
    expect(planClaim(order, request({ claimId: "b", now: at(59_999) })).outcome).to.equal("busy");
    expect(planClaim(order, request({ claimId: "b", now: at(60_000) })).outcome).to.equal("claimed");
    // A lease only holds a processing order; a live-looking lease on another status does not.
    const awaiting = { ...order, status: "awaiting_payment" as const };
    expect(planClaim(awaiting, request({ claimId: "b", now: at(1000) })).outcome).to.equal("claimed");
    const noLease = { ...order, lease_expires_at: null };
    expect(planClaim(noLease, request({ claimId: "b", now: at(1000) })).outcome).to.equal("claimed");
  });

  it("when a crashed send is found, then needs_review with the reason in the record and its history", () => {
    const sending = { ...firstClaim(), email: { state: "sending" as const }, lease_expires_at: at(1000) };
    const plan = planClaim(sending, request({ claimId: "b", eventId: "evt_3", now: at(2000) }));
    const reason = "an earlier attempt started sending the email and never recorded the outcome";
    expect(plan.outcome).to.equal("needs_review");
    expect(plan.order).to.include({ status: "needs_review", reason, claim_id: null, lease_expires_at: null });
    expect(plan.order.history.at(-1)).to.deep.equal({
      at: at(2000),
      status: "needs_review",
      reason,
      event_id: "evt_3",
    });
  });

  it("when more than 50 events name one order, then the newest 50 are kept, each once", () => {
    let order = concludeOrder(firstClaim(), { status: "failed", reason: "x", now: T0 });
    for (let i = 2; i <= 60; i++) {
      const plan = planClaim(order, request({ eventId: `evt_${i}`, claimId: `c${i}`, now: at(i * 100_000) }));
      order = concludeOrder(plan.order, { status: "failed", reason: "x", now: at(i * 100_000 + 1) });
    }
    expect(order.event_ids).to.have.length(50);
    expect(order.event_ids[0]).to.equal("evt_11");
    expect(order.event_ids.at(-1)).to.equal("evt_60");
    const again = planClaim(order, request({ eventId: "evt_60", claimId: "z", now: at(10_000_000) }));
    expect(again.order.event_ids).to.have.length(50);
  });

  it("when a claim is checked, then each way of losing it says why", () => {
    const order = firstClaim();
    const lost = (o: OrderRecord | undefined, claimId: string, now: Date, live = true, min?: number) => {
      try {
        assertClaimHeld(o, claimId, now, {
          requireLiveLease: live,
          ...(min === undefined ? {} : { minRemainingMs: min }),
        });
        return "held";
      } catch (err) {
        expect(err).to.be.instanceOf(ClaimLostError);
        return (err as Error).message;
      }
    };
    expect(lost(undefined, "claim-a", T0)).to.equal("claim on order (unknown) lost: order does not exist");
    expect(lost(order, "claim-b", T0)).to.equal(
      "claim on order cs_test_1 lost: held by claim-a in status processing",
    );
    expect(lost({ ...order, status: "needs_review" }, "claim-a", T0)).to.equal(
      "claim on order cs_test_1 lost: held by claim-a in status needs_review",
    );
    expect(lost({ ...order, claim_id: null, status: "fulfilled" }, "claim-a", T0)).to.equal(
      "claim on order cs_test_1 lost: held by nobody in status fulfilled",
    );
    expect(lost(order, "claim-a", at(60_000))).to.equal("claim on order cs_test_1 lost: lease has 0 ms left");
    expect(lost({ ...order, lease_expires_at: null }, "claim-a", T0)).to.equal(
      `claim on order cs_test_1 lost: lease has ${-T0.getTime()} ms left`,
    );
    expect(lost(order, "claim-a", at(50_000), true, 10_000)).to.equal(
      "claim on order cs_test_1 lost: lease has 10000 ms left",
    );
    expect(lost(order, "claim-a", at(50_000), true, 9_999)).to.equal("held");
    expect(lost(order, "claim-a", at(120_000), false)).to.equal("held");
  });

  it("when an attempt concludes or releases, then the record and its history say so", () => {
    const done = concludeOrder(firstClaim(), { status: "skipped", reason: "no scale", now: at(10) });
    expect(done).to.include({
      status: "skipped",
      reason: "no scale",
      claim_id: null,
      lease_expires_at: null,
    });
    expect(done.updated_at).to.deep.equal(at(10));
    expect(done.history.at(-1)).to.deep.equal({
      at: at(10),
      status: "skipped",
      reason: "no scale",
      event_id: null,
    });
    const released = releaseOrder(firstClaim(), at(20), "Stripe 503");
    expect(released).to.include({ status: "processing", reason: "Stripe 503", claim_id: null });
    expect(released.lease_expires_at).to.deep.equal(at(20));
    expect(released.history.at(-1)).to.deep.equal({
      at: at(20),
      status: "processing",
      reason: "released: Stripe 503",
    });
  });
});
