// The after-sale rules as pure functions (section 5a): the payment verdict before the
// order email, the stop-notice claim after it, and the notice's text.
import { expect } from "chai";
import { planStopNotice } from "../../../services/fulfiller/after-sale-state.js";
import { judgePayment } from "../../../services/fulfiller/decide-fulfilment.js";
import { composeStopNotice } from "../../../services/fulfiller/compose-stop-notice.js";
import { type OrderRecord, type PaymentCheck } from "../../../services/fulfiller/order-state.js";
import { confirmSentChange, emailInDoubt } from "../../../services/fulfiller/operator-actions.js";
import { at, firstClaim, noticeRequest as notice, sale, shipped, T0 } from "../../support/order-claims.js";

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
