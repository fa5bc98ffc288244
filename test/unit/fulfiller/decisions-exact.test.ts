// Exact outcomes and reasons of the pure decisions: the reasons are what operators
// read in `orders show`, logs and dead letters, so each is pinned here.
import { expect } from "chai";
import { classifyEvent, type Classification } from "../../../services/fulfiller/classify-event.js";
import {
  customFieldValue,
  decidePayment,
  decideShipping,
} from "../../../services/fulfiller/decide-fulfilment.js";
import type { CheckoutSession, LineItem } from "../../../services/fulfiller/session.js";
import type { StripeEventEnvelope } from "../../../services/common/event.js";

const event = (over: Partial<StripeEventEnvelope> & { objectId?: unknown } = {}): StripeEventEnvelope => ({
  id: "evt_1",
  type: "checkout.session.completed",
  livemode: false,
  data: { object: { id: over.objectId === undefined ? "cs_test_1" : over.objectId } },
  ...over,
});

describe("unit: event classification, exactly", () => {
  const cases: [string, StripeEventEnvelope, boolean, Classification][] = [
    ["completed", event(), false, { kind: "checkout", sessionId: "cs_test_1", trigger: "completed" }],
    [
      "async succeeded",
      event({ type: "checkout.session.async_payment_succeeded" }),
      false,
      { kind: "checkout", sessionId: "cs_test_1", trigger: "async_payment_succeeded" },
    ],
    [
      "async failed",
      event({ type: "checkout.session.async_payment_failed" }),
      false,
      { kind: "checkout", sessionId: "cs_test_1", trigger: "async_payment_failed" },
    ],
    [
      "an invoice is paid (a renewal, or a trial converting)",
      event({ type: "invoice.paid", objectId: "in_1" }),
      false,
      { kind: "invoice_paid", invoiceId: "in_1" },
    ],
    [
      "invoice.paid names no invoice",
      event({ type: "invoice.paid" }),
      false,
      { kind: "ignore", reason: "event does not name an invoice" },
    ],
    [
      "a charge is refunded",
      event({ type: "charge.refunded", objectId: "ch_1" }),
      false,
      { kind: "charge", chargeId: "ch_1", disputeId: null },
    ],
    [
      "charge.refunded names no charge",
      event({ type: "charge.refunded" }),
      false,
      { kind: "ignore", reason: "event does not name a charge" },
    ],
    [
      "a dispute is opened",
      {
        ...event({ type: "charge.dispute.created", objectId: "dp_1" }),
        data: { object: { id: "dp_1", charge: "ch_2" } },
      },
      false,
      { kind: "charge", chargeId: "ch_2", disputeId: "dp_1" },
    ],
    [
      "a dispute names no charge",
      event({ type: "charge.dispute.created", objectId: "dp_1" }),
      false,
      { kind: "ignore", reason: "dispute does not name a charge" },
    ],
    [
      "a subscription is deleted",
      event({ type: "customer.subscription.deleted", objectId: "sub_1" }),
      false,
      { kind: "subscription_deleted", subscriptionId: "sub_1" },
    ],
    [
      "customer.subscription.deleted names no subscription",
      event({ type: "customer.subscription.deleted" }),
      false,
      { kind: "ignore", reason: "event does not name a subscription" },
    ],
    [
      "a refund of a test charge reaches a live key",
      event({ type: "charge.refunded", objectId: "ch_1" }),
      true,
      { kind: "ignore", reason: "livemode false event but the API key is live" },
    ],
    [
      "another type",
      event({ type: "customer.created" }),
      false,
      { kind: "ignore", reason: "event type customer.created is not handled" },
    ],
    [
      "a Connect event",
      event({ account: "acct_9" }),
      false,
      { kind: "ignore", reason: "Connect event for account acct_9" },
    ],
    [
      "an empty account",
      event({ account: "" }),
      false,
      { kind: "checkout", sessionId: "cs_test_1", trigger: "completed" },
    ],
    [
      "a test event on a live key",
      event(),
      true,
      { kind: "ignore", reason: "livemode false event but the API key is live" },
    ],
    [
      "a live event on a test key",
      event({ livemode: true }),
      false,
      { kind: "ignore", reason: "livemode true event but the API key is test" },
    ],
    [
      "an object that is not a session",
      event({ objectId: "pi_123" }),
      false,
      { kind: "ignore", reason: "event does not name a Checkout Session" },
    ],
    [
      "an object without an id",
      event({ objectId: 42 }),
      false,
      { kind: "ignore", reason: "event does not name a Checkout Session" },
    ],
  ];
  for (const [name, e, liveKey, expected] of cases) {
    it(`when ${name}, then ${expected.kind === "ignore" ? `ignored: ${expected.reason}` : expected.kind === "checkout" ? expected.trigger : expected.kind}`, () => {
      expect(classifyEvent(e, { liveKey })).to.deep.equal(expected);
    });
  }
});

const session = (over: Partial<CheckoutSession> = {}): CheckoutSession => ({
  id: "cs_test_1",
  livemode: false,
  mode: "payment",
  status: "complete",
  payment_status: "paid",
  currency: "usd",
  amount_subtotal: 100,
  amount_total: 100,
  ...over,
});

describe("unit: payment decision, exactly", () => {
  const trials = { fulfilTrials: true };
  it("when each case arrives, then the decision and its reason are exact", () => {
    expect(decidePayment(session({ mode: "setup" }), "completed", trials)).to.deep.equal({
      action: "record",
      status: "skipped",
      reason: "setup-mode session: nothing was bought",
    });
    expect(
      decidePayment(session({ payment_status: "unpaid" }), "async_payment_failed", trials),
    ).to.deep.equal({
      action: "record",
      status: "payment_failed",
      reason: "the delayed payment failed",
    });
    // The decision is Stripe's current state: a "failed" event whose session reads paid ships.
    expect(decidePayment(session(), "async_payment_failed", trials)).to.deep.equal({ action: "fulfil" });
    expect(
      decidePayment(session({ status: "open", payment_status: "unpaid" }), "completed", trials),
    ).to.deep.equal({
      action: "record",
      status: "awaiting_payment",
      reason: "session status is open",
    });
    expect(decidePayment(session({ status: null }), "completed", trials)).to.deep.equal({
      action: "record",
      status: "awaiting_payment",
      reason: "session status is null",
    });
    expect(
      decidePayment(session({ mode: "subscription", payment_status: "no_payment_required" }), "completed", {
        fulfilTrials: false,
      }),
    ).to.deep.equal({ action: "record", status: "awaiting_payment", reason: "trial" });
    expect(
      decidePayment(
        session({ mode: "subscription", payment_status: "no_payment_required" }),
        "trial_converted",
        {
          fulfilTrials: false,
          trialPaid: true,
        },
      ),
    ).to.deep.equal({ action: "fulfil" });
    expect(
      decidePayment(session({ payment_status: "no_payment_required" }), "completed", { fulfilTrials: false }),
    ).to.deep.equal({ action: "fulfil" });
    expect(decidePayment(session({ payment_status: "unpaid" }), "completed", trials)).to.deep.equal({
      action: "record",
      status: "awaiting_payment",
      reason: "payment not yet settled (delayed payment method)",
    });
  });
});

const item = (productId: string | null): LineItem => ({
  id: "li_1",
  quantity: 1,
  currency: "usd",
  amount_subtotal: 100,
  amount_total: 100,
  price: productId === null ? null : { id: "price_1", product: productId },
});

describe("unit: shipping decision, exactly", () => {
  const optIn = (value: string | null) =>
    session({
      custom_fields: [{ key: "ship_it", type: "dropdown", dropdown: { value } }],
    });

  it("when nothing is configured, then every order ships with that reason", () => {
    expect(decideShipping(session(), [item(null)], { productIds: [] })).to.deep.equal({
      ships: true,
      reason: "every paid order ships (no product filter configured)",
    });
  });

  it("when a line item is a shipped product, then it ships naming the product; items without a product never match", () => {
    expect(
      decideShipping(session(), [item(null), item("prod_B"), item("prod_A")], { productIds: ["prod_A"] }),
    ).to.deep.equal({
      ships: true,
      reason: "line item for product prod_A",
    });
    expect(decideShipping(session(), [item(null)], { productIds: ["prod_A"] })).to.deep.equal({
      ships: false,
      reason: "no line item is a shipped product",
    });
  });

  it("when only the opt-in field is configured, then its value decides, and the reason names it", () => {
    for (const yes of ["yes", " TRUE ", "y", "1", "on"])
      expect(decideShipping(optIn(yes), [], { productIds: [], optInField: "ship_it" })).to.deep.equal({
        ships: true,
        reason: "customer opted in through custom field ship_it",
      });
    for (const no of ["no", "false", null])
      expect(decideShipping(optIn(no), [], { productIds: [], optInField: "ship_it" })).to.deep.equal({
        ships: false,
        reason: "custom field ship_it is not yes",
      });
    expect(
      decideShipping(session({ custom_fields: null }), [], { productIds: [], optInField: "ship_it" }),
    ).to.deep.equal({
      ships: false,
      reason: "custom field ship_it is not yes",
    });
    // Another field saying yes does not count.
    expect(
      decideShipping(
        session({ custom_fields: [{ key: "other", type: "text", text: { value: "yes" } }] }),
        [],
        {
          productIds: [],
          optInField: "ship_it",
        },
      ).ships,
    ).to.equal(false);
  });

  it("when both are configured and neither matches, then the reason says both", () => {
    expect(
      decideShipping(optIn("no"), [item("prod_B")], { productIds: ["prod_A"], optInField: "ship_it" }),
    ).to.deep.equal({
      ships: false,
      reason: "no line item is a shipped product and custom field ship_it is not yes",
    });
  });

  it("when a custom field has any type, then its value is read from that type's part, or null", () => {
    expect(customFieldValue({ key: "a", type: "dropdown", dropdown: { value: "d" } })).to.equal("d");
    expect(customFieldValue({ key: "a", type: "numeric", numeric: { value: "7" } })).to.equal("7");
    expect(customFieldValue({ key: "a", type: "text", text: { value: "t" } })).to.equal("t");
    expect(customFieldValue({ key: "a", type: "dropdown" })).to.equal(null);
    expect(customFieldValue({ key: "a", type: "numeric", numeric: null })).to.equal(null);
    expect(customFieldValue({ key: "a", type: "text" })).to.equal(null);
    expect(customFieldValue({ key: "a", type: "future_type", text: { value: "t" } })).to.equal(null);
  });
});
