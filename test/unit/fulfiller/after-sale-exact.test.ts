// Exact outcomes of the after-sale rules, reasons and history included: operators read
// them in `orders show`, and the boundaries decide between a notice and none.
import { expect } from "chai";
import { planStopNotice } from "../../../services/fulfiller/after-sale-state.js";
import { handledEventTypes } from "../../../services/fulfiller/classify-event.js";
import { isTrialSession, judgePayment } from "../../../services/fulfiller/decide-fulfilment.js";
import {
  assertClaimHeld,
  ClaimLostError,
  HISTORY_LIMIT,
  isFinal,
  RETRYABLE_STATUSES,
  type OrderRecord,
} from "../../../services/fulfiller/order-state.js";
import type { CheckoutSession } from "../../../services/fulfiller/session.js";
import { at, firstClaim, noticeRequest as request, sale, shipped } from "../../support/order-claims.js";

const NOW = at(120_000);

const afterSale = (over: Partial<NonNullable<OrderRecord["after_sale"]>> = {}) => ({
  kind: "refunded" as const,
  at: NOW,
  event_id: "evt_r1",
  charge_id: "ch_1",
  payment_intent_id: "pi_1",
  dispute_id: null,
  currency: "eur",
  amount: 5000,
  amount_refunded: 5000,
  notice: "owed" as const,
  ...over,
});
const lastHistory = (order: OrderRecord) => order.history.at(-1);

describe("unit: the after-sale rules, exactly", () => {
  it("when a shipped order is refunded, then the claim, the record and its history line are exactly these", () => {
    const before = shipped({ stop_notice: { state: "not_sent", error: "SendGrid 500", message_id: null } });
    const plan = planStopNotice(before, request());
    expect(plan.outcome).to.equal("claimed");
    if (plan.outcome !== "claimed") return;
    expect(plan.order.after_sale).to.deep.equal(afterSale());
    expect(plan.order.stop_notice).to.deep.equal({
      state: "not_sent",
      error: "SendGrid 500",
      message_id: null,
      claim_id: "notice-a",
      lease_expires_at: at(180_000),
    });
    expect(lastHistory(plan.order)).to.deep.equal({
      at: NOW,
      status: "fulfilled",
      reason: "after sale: refunded in full; sending a stop-shipment notice",
      event_id: "evt_r1",
    });
    expect(plan.order.history).to.have.length(before.history.length + 1);
    expect(plan.order.updated_at).to.deep.equal(NOW);
  });

  it("when a dispute arrives, then it is named as one", () => {
    const plan = planStopNotice(shipped(), request({ sale: sale({ kind: "disputed", disputeId: "dp_1" }) }));
    if (plan.outcome !== "claimed") return expect.fail(plan.outcome);
    expect(lastHistory(plan.order)?.reason).to.equal(
      "after sale: payment disputed; sending a stop-shipment notice",
    );
    expect(plan.order.after_sale).to.deep.equal(afterSale({ kind: "disputed", dispute_id: "dp_1" }));
  });

  it("when the same kind arrives again, then the newer event's figures are kept", () => {
    const previous = afterSale({
      event_id: "evt_r0",
      amount_refunded: 100,
      kind: "partially_refunded",
      notice: "not_needed",
    });
    const plan = planStopNotice(
      shipped({ after_sale: previous }),
      request({ sale: sale({ kind: "partially_refunded", amountRefunded: 300 }) }),
    );
    if (plan.outcome !== "recorded") return expect.fail(plan.outcome);
    expect(plan.order.after_sale).to.deep.equal(
      afterSale({ kind: "partially_refunded", amount_refunded: 300, notice: "not_needed" }),
    );
    expect(plan.why).to.equal("a partial refund after the email is recorded, with no notice");
    expect(lastHistory(plan.order)?.reason).to.equal("after sale: partly refunded, no notice");
  });

  it("when the order email has not gone out, then the record says so and why, for a refund and for a partial refund", () => {
    const waiting = {
      ...firstClaim(),
      status: "awaiting_payment" as const,
      claim_id: null,
      lease_expires_at: null,
    };
    const full = planStopNotice(waiting, request());
    if (full.outcome !== "recorded") return expect.fail(full.outcome);
    expect(full.why).to.equal("refunded in full; the order email has not gone out (awaiting_payment)");
    expect(full.order.after_sale?.notice).to.equal("not_emailed_yet");
    expect(lastHistory(full.order)).to.deep.equal({
      at: NOW,
      status: "awaiting_payment",
      reason: "after sale: refunded in full before the order email",
      event_id: "evt_r1",
    });
    const partial = planStopNotice(waiting, request({ sale: sale({ kind: "partially_refunded" }) }));
    if (partial.outcome !== "recorded") return expect.fail(partial.outcome);
    expect(partial.order.after_sale?.notice).to.equal("not_needed");
  });

  it("when the notice went out, then a repeat is recorded as sent, with its reason", () => {
    const plan = planStopNotice(
      shipped({ stop_notice: { state: "sent" }, after_sale: afterSale({ notice: "sent" }) }),
      request({ sale: sale({ eventId: "evt_r2" }) }),
    );
    if (plan.outcome !== "recorded") return expect.fail(plan.outcome);
    expect(plan.why).to.equal("the stop-shipment notice was already sent");
    expect(lastHistory(plan.order)?.reason).to.equal(
      "after sale: refunded in full; stop notice already sent",
    );
  });

  it("when a partial refund follows an owed notice, then the notice is still claimed", () => {
    const plan = planStopNotice(
      shipped({ after_sale: afterSale({ notice: "owed" }) }),
      request({ sale: sale({ kind: "partially_refunded" }) }),
    );
    expect(plan.outcome).to.equal("claimed");
  });

  it("when the order is in review, then the refund is owed (or in review with the notice), with its reason", () => {
    const review = shipped({ status: "needs_review" });
    const owed = planStopNotice(review, request());
    if (owed.outcome !== "recorded") return expect.fail(owed.outcome);
    expect(owed.why).to.equal("the order is in review; `orders resolve` settles it");
    expect(owed.order.after_sale?.notice).to.equal("owed");
    expect(lastHistory(owed.order)?.reason).to.equal("after sale: refunded in full while in review");
    const noticeInDoubt = planStopNotice({ ...review, stop_notice: { state: "sending" } }, request());
    if (noticeInDoubt.outcome !== "recorded") return expect.fail(noticeInDoubt.outcome);
    expect(noticeInDoubt.order.after_sale?.notice).to.equal("needs_review");
  });

  it("when leases end exactly now, then they are over (the order's and the notice's)", () => {
    const order = { ...firstClaim(), lease_expires_at: NOW };
    expect(planStopNotice(order, request()).outcome).to.equal("recorded");
    const busy = planStopNotice({ ...firstClaim(), lease_expires_at: at(120_001) }, request());
    expect(busy).to.deep.equal({ outcome: "busy", why: "an attempt holds the order" });
    const lapsed = shipped({ stop_notice: { state: "none", claim_id: "x", lease_expires_at: NOW } });
    expect(planStopNotice(lapsed, request()).outcome).to.equal("claimed");
    const held = shipped({ stop_notice: { state: "none", claim_id: "x", lease_expires_at: at(120_001) } });
    expect(planStopNotice(held, request())).to.deep.equal({
      outcome: "busy",
      why: "another attempt is sending the stop notice",
    });
    const noLease = shipped({ stop_notice: { state: "none", claim_id: "x", lease_expires_at: null } });
    expect(planStopNotice(noLease, request()).outcome).to.equal("claimed");
    const processingNoLease = { ...firstClaim(), lease_expires_at: null };
    expect(planStopNotice(processingNoLease, request()).outcome).to.equal("recorded");
    const otherStatus = { ...firstClaim(), status: "failed" as const, lease_expires_at: at(200_000) };
    expect(planStopNotice(otherStatus, request()).outcome).to.equal("recorded");
  });

  it("when a notice attempt crashed mid-send, then needs_review with exactly this reason and history", () => {
    const crashed = shipped({
      stop_notice: { state: "sending", claim_id: "x", lease_expires_at: at(100_000) },
    });
    const plan = planStopNotice(crashed, request());
    if (plan.outcome !== "needs_review") return expect.fail(plan.outcome);
    const reason =
      "stop-shipment notice: an earlier attempt started sending it and never recorded the outcome";
    expect(plan.why).to.equal(reason);
    expect(plan.order.reason).to.equal(reason);
    expect(plan.order.history.slice(-1)).to.deep.equal([
      { at: NOW, status: "needs_review", reason, event_id: "evt_r1" },
    ]);
    expect(plan.order.history).to.have.length(crashed.history.length + 1);
  });

  it("when the history is full, then the oldest entries go", () => {
    const full = shipped({
      history: Array.from({ length: HISTORY_LIMIT }, (_, i) => ({
        at: at(i),
        status: "fulfilled" as const,
        reason: `r${i}`,
      })),
    });
    const plan = planStopNotice(full, request());
    if (plan.outcome !== "claimed") return expect.fail(plan.outcome);
    expect(plan.order.history).to.have.length(HISTORY_LIMIT);
    expect(plan.order.history[0]?.reason).to.equal("r1");
    const crashed = planStopNotice(
      { ...full, stop_notice: { state: "sending", claim_id: "x", lease_expires_at: at(1) } },
      request(),
    );
    if (crashed.outcome !== "needs_review") return expect.fail(crashed.outcome);
    expect(crashed.order.history).to.have.length(HISTORY_LIMIT);
    expect(crashed.order.history[0]?.reason).to.equal("r1");
  });
});

describe("unit: the stop notice's claim check, and the states it adds", () => {
  const held = (over: Partial<NonNullable<OrderRecord["stop_notice"]>> = {}) =>
    shipped({ stop_notice: { state: "none", claim_id: "notice-a", lease_expires_at: at(180_000), ...over } });
  const check =
    (order: OrderRecord, claimId: string, now: Date, requireLiveLease: boolean, minRemainingMs?: number) =>
    () =>
      assertClaimHeld(order, claimId, now, {
        kind: "stop_notice",
        requireLiveLease,
        ...(minRemainingMs === undefined ? {} : { minRemainingMs }),
      });

  it("when the notice's claim is held and its lease live, then writes go ahead, whatever the order's status", () => {
    expect(check(held(), "notice-a", NOW, true)).to.not.throw();
    expect(check(held(), "notice-a", at(179_999), true)).to.not.throw();
    expect(check(held({ lease_expires_at: null }), "notice-a", NOW, false)).to.not.throw();
  });

  it("when another attempt holds it, or nobody, then the claim is lost, saying who holds it", () => {
    expect(check(held(), "notice-b", NOW, false)).to.throw(ClaimLostError, /stop notice held by notice-a$/);
    expect(check(shipped(), "notice-b", NOW, false)).to.throw(ClaimLostError, /stop notice held by nobody$/);
  });

  it("when its lease has run out, or has less than the minimum left, then the claim is lost, saying how much was left", () => {
    expect(check(held(), "notice-a", at(180_000), true)).to.throw(
      ClaimLostError,
      /stop notice lease has 0 ms left$/,
    );
    expect(check(held({ lease_expires_at: null }), "notice-a", at(0), true)).to.throw(
      ClaimLostError,
      /lease has -\d+ ms left$/,
    );
    expect(check(held(), "notice-a", NOW, true, 60_000)).to.throw(
      ClaimLostError,
      /stop notice lease has 60000 ms left$/,
    );
    expect(check(held(), "notice-a", NOW, true, 59_999)).to.not.throw();
  });

  it("when an order is not processing, the order's own claim is still refused (the kind decides which claim)", () => {
    expect(() => assertClaimHeld(held(), "notice-a", NOW, { requireLiveLease: false })).to.throw(
      ClaimLostError,
    );
    expect(() =>
      assertClaimHeld(held(), "notice-a", NOW, { requireLiveLease: false, kind: "order" }),
    ).to.throw(ClaimLostError);
  });

  it("then cancelled is final, and retry decides exactly these five statuses again", () => {
    expect(isFinal("cancelled")).to.equal(true);
    expect([...RETRYABLE_STATUSES]).to.deep.equal([
      "skipped",
      "failed",
      "payment_failed",
      "cancelled",
      "awaiting_payment",
    ]);
  });
});

describe("unit: payments and trials, exactly", () => {
  const check = {
    payment_intent_id: "pi_1",
    charge_id: null,
    currency: "usd",
    amount: 0,
    amount_refunded: 0,
    refunded: false,
    disputed: false,
  };

  it("when nothing was charged (amount 0), then nothing counts as refunded", () => {
    expect(judgePayment(check)).to.deep.equal({ ships: true, refunded: 0 });
  });

  it("when the charge id is unknown, then the reason says so", () => {
    expect(judgePayment({ ...check, disputed: true })).to.deep.equal({
      ships: false,
      reason: "the payment is disputed (charge ?)",
    });
    expect(judgePayment({ ...check, refunded: true })).to.deep.equal({
      ships: false,
      reason: "the payment was refunded in full (charge ?)",
    });
  });

  it("when a session is a subscription with nothing to pay, then it is a trial; nothing else is", () => {
    const s = (mode: string, payment_status: string) => ({ mode, payment_status }) as CheckoutSession;
    expect(isTrialSession(s("subscription", "no_payment_required"))).to.equal(true);
    expect(isTrialSession(s("subscription", "paid"))).to.equal(false);
    expect(isTrialSession(s("payment", "no_payment_required"))).to.equal(false);
  });

  it("then the webhook's event types are exactly these seven", () => {
    expect(handledEventTypes()).to.deep.equal([
      "checkout.session.completed",
      "checkout.session.async_payment_succeeded",
      "checkout.session.async_payment_failed",
      "charge.refunded",
      "charge.dispute.created",
      "invoice.paid",
      "customer.subscription.deleted",
    ]);
  });
});
