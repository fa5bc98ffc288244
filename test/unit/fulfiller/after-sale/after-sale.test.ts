// The after-sale rules as pure functions (section 5a): the payment verdict before the
// order email, the stop-notice claim after it, and the notice's text.
import { expect } from "chai";
import { planStopNotice } from "../../../../services/fulfiller/after-sale/after-sale-state.js";
import { judgePayment, isTrialSession } from "../../../../services/fulfiller/checkout/decide-fulfilment.js";
import { composeStopNotice } from "../../../../services/fulfiller/email/compose-stop-notice.js";
import {
  type OrderRecord,
  type PaymentCheck,
  assertClaimHeld,
  ClaimLostError,
  HISTORY_LIMIT,
  isFinal,
  RETRYABLE_STATUSES,
} from "../../../../services/fulfiller/claims/order-state.js";
import { confirmSentChange, emailInDoubt } from "../../../../services/fulfiller/operator/review.js";
import {
  at,
  firstClaim,
  noticeRequest as notice,
  sale,
  shipped,
  T0,
  noticeRequest as request,
} from "../../../support/order-claims.js";
import { handledEventTypes } from "../../../../services/fulfiller/classify-event.js";
import { type CheckoutSession } from "../../../../services/fulfiller/session.js";

const check = (over: Partial<PaymentCheck> = {}): PaymentCheck => ({
  payment_intent_id: "pi_1",
  charge_id: "ch_1",
  currency: "eur",
  amount: 5000,
  amount_refunded: 0,
  refunded: false,
  disputed: false,
  ...over,
});

describe("unit: the payment re-checked before the order email", () => {
  it("when nothing was charged (a trial, a 100% coupon), then it ships with nothing refunded", () => {
    expect(judgePayment(null)).to.deep.equal({ ships: true, refunded: 0 });
  });
  it("when paid and untouched, then it ships", () => {
    expect(judgePayment(check())).to.deep.equal({ ships: true, refunded: 0 });
  });
  it("when partly refunded, then it ships and says how much", () => {
    expect(judgePayment(check({ amount_refunded: 1250 }))).to.deep.equal({ ships: true, refunded: 1250 });
  });
  it("when refunded in full (by the flag, or by the amounts), then it is cancelled with the charge named", () => {
    const reason = "the payment was refunded in full (charge ch_1)";
    expect(judgePayment(check({ refunded: true, amount_refunded: 5000 }))).to.deep.equal({
      ships: false,
      reason,
    });
    expect(judgePayment(check({ amount_refunded: 5000 }))).to.deep.equal({ ships: false, reason });
  });
  it("when disputed, even partly refunded, then it is cancelled", () => {
    expect(judgePayment(check({ disputed: true, amount_refunded: 100 }))).to.deep.equal({
      ships: false,
      reason: "the payment is disputed (charge ch_1)",
    });
  });
});

describe("unit: the stop-shipment notice's claim", () => {
  it("when a shipped order is refunded in full, then the notice is claimed and the order keeps its status", () => {
    const plan = planStopNotice(shipped(), notice());
    expect(plan.outcome).to.equal("claimed");
    if (plan.outcome !== "claimed") return;
    expect(plan.order.status).to.equal("fulfilled");
    expect(plan.order.stop_notice).to.deep.include({
      state: "none",
      claim_id: "notice-a",
      lease_expires_at: at(180_000),
    });
    expect(plan.order.after_sale).to.deep.include({ kind: "refunded", notice: "owed", charge_id: "ch_1" });
  });

  it("when the notice was sent, then a later dispute is recorded and nothing is claimed", () => {
    const plan = planStopNotice(
      shipped({ stop_notice: { state: "sent" }, after_sale: { ...afterSale(), notice: "sent" } }),
      notice({ sale: sale({ kind: "disputed", disputeId: "dp_1", eventId: "evt_d1" }) }),
    );
    expect(plan.outcome).to.equal("recorded");
    if (plan.outcome === "recorded")
      expect(plan.order.after_sale).to.deep.include({ kind: "disputed", notice: "sent", dispute_id: "dp_1" });
  });

  it("when a refund follows a dispute, then the order stays disputed (the stronger of the two)", () => {
    const plan = planStopNotice(
      shipped({
        stop_notice: { state: "sent" },
        after_sale: { ...afterSale(), kind: "disputed", notice: "sent" },
      }),
      notice(),
    );
    if (plan.outcome === "recorded") expect(plan.order.after_sale?.kind).to.equal("disputed");
    else expect.fail(plan.outcome);
  });

  it("when another attempt holds the notice's live claim, then busy; once it lapses without a send, claimable", () => {
    const held = shipped({
      stop_notice: { state: "none", claim_id: "notice-x", lease_expires_at: at(150_000) },
    });
    expect(planStopNotice(held, notice()).outcome).to.equal("busy");
    expect(planStopNotice(held, notice({ now: at(150_001) })).outcome).to.equal("claimed");
  });

  it("when an earlier notice attempt crashed while sending, then needs_review, never a second send", () => {
    const crashed = shipped({
      stop_notice: {
        state: "sending",
        claim_id: "notice-x",
        lease_expires_at: at(100_000),
        started_at: at(90_000),
      },
    });
    const plan = planStopNotice(crashed, notice());
    expect(plan.outcome).to.equal("needs_review");
    if (plan.outcome !== "needs_review") return;
    expect(plan.order).to.deep.include({ status: "needs_review" });
    expect(plan.order.stop_notice).to.deep.include({ state: "sending", claim_id: null });
    expect(plan.order.after_sale?.notice).to.equal("needs_review");
    expect(emailInDoubt(plan.order)).to.equal("stop_notice");
    const resolved = confirmSentChange(plan.order, "cs_test_1", "ops", at(200_000));
    expect(resolved.status).to.equal("fulfilled");
    expect(resolved.stop_notice).to.deep.include({ state: "sent", by: "operator:confirmed" });
    expect(resolved.email.state).to.equal("sent");
  });

  it("when the order email has not gone out, then it is only recorded (the re-check cancels it)", () => {
    const pending = {
      ...firstClaim(),
      status: "awaiting_payment" as const,
      claim_id: null,
      lease_expires_at: null,
    };
    const plan = planStopNotice(pending, notice());
    expect(plan.outcome).to.equal("recorded");
    if (plan.outcome === "recorded") expect(plan.order.after_sale?.notice).to.equal("not_emailed_yet");
  });

  it("when an attempt on the order email holds a live lease, then busy (the notice waits for the email)", () => {
    expect(planStopNotice(firstClaim(), notice({ now: T0 })).outcome).to.equal("busy");
  });

  it("when a shipped order is partly refunded, then recorded with no notice", () => {
    const plan = planStopNotice(
      shipped(),
      notice({ sale: sale({ kind: "partially_refunded", amountRefunded: 100 }) }),
    );
    expect(plan.outcome).to.equal("recorded");
    if (plan.outcome === "recorded") expect(plan.order.after_sale).to.deep.include({ notice: "not_needed" });
  });

  it("when the order is in review for its order email, then recorded as owed for `orders resolve`", () => {
    const review = shipped({ status: "needs_review", email: { state: "sent" } });
    const plan = planStopNotice(review, notice());
    expect(plan.outcome).to.equal("recorded");
    if (plan.outcome === "recorded") expect(plan.order.after_sale?.notice).to.equal("owed");
  });

  it("when the same event comes again, then its history line is written once", () => {
    const first = planStopNotice(shipped(), notice());
    if (first.outcome !== "claimed") return expect.fail(first.outcome);
    const lines = first.order.history.length;
    const again = planStopNotice(first.order, notice({ now: at(500_000) }));
    if (again.outcome !== "claimed") return expect.fail(again.outcome);
    expect(again.order.history).to.have.length(lines);
  });
});

function afterSale(): NonNullable<OrderRecord["after_sale"]> {
  return {
    kind: "refunded",
    at: at(100_000),
    event_id: "evt_r0",
    charge_id: "ch_1",
    payment_intent_id: "pi_1",
    currency: "eur",
    amount: 5000,
    amount_refunded: 5000,
    notice: "owed",
  };
}

describe("unit: the STOP SHIPMENT notice", () => {
  const order = shipped({
    session_id: "cs_live_a1b2c3d4e5f6g7h8",
    details: {
      mode: "payment",
      livemode: true,
      currency: "eur",
      customer: { name: "Grace <Hopper>", email: "grace@example.com", phone: null },
      shipping: {
        name: "Grace Hopper",
        address: {
          line1: "1 Rue de Rivoli",
          line2: null,
          city: "Paris",
          postal_code: "75001",
          state: null,
          country: "FR",
        },
      },
      line_items: [
        {
          description: "Smart Scale",
          product_id: "prod_1",
          quantity: 1,
          unit_amount: 5000,
          amount_total: 5000,
        },
      ],
      totals: { subtotal: 5000, shipping: 0, discount: 0, tax: 0, total: 5000 },
      subscription_id: null,
      payment_intent_id: "pi_1",
      custom_fields: [],
    },
  });

  it("then its subject starts STOP SHIPMENT with the order's reference and what happened", () => {
    expect(composeStopNotice(order, afterSale()).subject).to.equal(
      "STOP SHIPMENT: order e5f6g7h8 (refunded)",
    );
    expect(
      composeStopNotice(order, { ...afterSale(), kind: "disputed", dispute_id: "dp_9" }).subject,
    ).to.equal("STOP SHIPMENT: order e5f6g7h8 (payment disputed)");
  });

  it("then its text names the order, the amounts, the charge, the address and the items, and the HTML escapes", () => {
    const email = composeStopNotice(order, { ...afterSale(), kind: "disputed", dispute_id: "dp_9" });
    expect(email.text).to.include("Order id (Checkout Session): cs_live_a1b2c3d4e5f6g7h8");
    expect(email.text).to.include("Charged: €50.00").and.include("Refunded: €50.00");
    expect(email.text).to.include("Stripe dispute: dp_9").and.include("75001 Paris");
    expect(email.text).to.include("1 x Smart Scale").and.include("(SendGrid sg-1)");
    expect(email.text).to.not.include("TEST MODE");
    expect(email.html).to.include("Grace &lt;Hopper&gt;").and.not.include("<Hopper>");
    expect(email.customArgs).to.deep.equal({
      order_id: order.session_id,
      order_ref: "e5f6g7h8",
      email_kind: "stop_notice",
    });
  });
});

// Exact outcomes of the after-sale rules, reasons and history included: operators read
// them in `orders show`, and the boundaries decide between a notice and none.
const NOW = at(120_000);

const exactSale = (over: Partial<NonNullable<OrderRecord["after_sale"]>> = {}) => ({
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
    expect(plan.order.after_sale).to.deep.equal(exactSale());
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
    expect(plan.order.after_sale).to.deep.equal(exactSale({ kind: "disputed", dispute_id: "dp_1" }));
  });

  it("when the same kind arrives again, then the newer event's figures are kept", () => {
    const previous = exactSale({
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
      exactSale({ kind: "partially_refunded", amount_refunded: 300, notice: "not_needed" }),
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
      shipped({ stop_notice: { state: "sent" }, after_sale: exactSale({ notice: "sent" }) }),
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
      shipped({ after_sale: exactSale({ notice: "owed" }) }),
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
      "customer.deleted",
    ]);
  });
});
