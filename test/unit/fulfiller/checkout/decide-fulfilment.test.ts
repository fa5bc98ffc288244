import { expect } from "chai";
import {
  classifyEvent,
  isLiveKey,
  type Classification,
} from "../../../../services/fulfiller/classify-event.js";
import {
  decidePayment,
  decideShipping,
  customFieldValue,
} from "../../../../services/fulfiller/checkout/decide-fulfilment.js";
import { type CheckoutSession, type LineItem } from "../../../../services/fulfiller/session.js";
import { type StripeEventEnvelope } from "../../../../services/common/event.js";
import {
  buildEvent,
  buildLineItems,
  buildSession,
  SCALE_PRODUCT_ID,
  STRAP_LINE,
  type SessionSpec,
} from "../../../../services/local/stripe/objects.js";

const session = (spec: SessionSpec = {}) => buildSession(spec) as unknown as CheckoutSession;
const items = (spec: SessionSpec = {}) => buildLineItems(spec) as unknown as LineItem[];
const event = (type: string, extra: Partial<StripeEventEnvelope> = {}) =>
  ({ ...buildEvent({ type, object: buildSession() }), ...extra }) as unknown as StripeEventEnvelope;

describe("unit: classify events", () => {
  it("when a Checkout Session event arrives in the key's mode, then it names the session and trigger", () => {
    const e = event("checkout.session.async_payment_succeeded");
    expect(classifyEvent(e, { liveKey: false })).to.deep.equal({
      kind: "checkout",
      sessionId: e.data.object.id,
      trigger: "async_payment_succeeded",
    });
  });
  it("when livemode differs from the key, or the event is Connect's, or another type, then it is ignored", () => {
    expect(classifyEvent(event("checkout.session.completed"), { liveKey: true }).kind).to.equal("ignore");
    expect(
      classifyEvent(event("checkout.session.completed", { account: "acct_1" }), { liveKey: false }).kind,
    ).to.equal("ignore");
    const other = classifyEvent(event("customer.created"), { liveKey: false });
    expect(other).to.deep.include({ kind: "ignore", reason: "event type customer.created is not handled" });
  });
  it("when keys are live or test, secret or restricted, then isLiveKey says which", () => {
    expect(["sk_live_x", "rk_live_x", "sk_test_x", "rk_test_x"].map(isLiveKey)).to.deep.equal([
      true,
      true,
      false,
      false,
    ]);
  });
});

describe("unit: payment decision (from the re-fetched session)", () => {
  const options = { fulfilTrials: true };
  it("when complete and paid, then fulfil", () => {
    expect(decidePayment(session(), "completed", options)).to.deep.equal({ action: "fulfil" });
  });
  it("when complete and unpaid, then awaiting_payment", () => {
    expect(decidePayment(session({ paymentStatus: "unpaid" }), "completed", options)).to.include({
      status: "awaiting_payment",
    });
  });
  it("when the async payment failed, then payment_failed", () => {
    expect(decidePayment(session({ paymentStatus: "unpaid" }), "async_payment_failed", options)).to.include({
      status: "payment_failed",
    });
  });
  it("when setup mode, then skipped", () => {
    expect(decidePayment(session({ mode: "setup" }), "completed", options)).to.include({ status: "skipped" });
  });
  it("when a trial subscription, then fulfil at once only with FULFIL_TRIALS, else wait for its first paid invoice", () => {
    const trial = session({ mode: "subscription", paymentStatus: "no_payment_required" });
    expect(decidePayment(trial, "completed", { fulfilTrials: true })).to.deep.equal({ action: "fulfil" });
    expect(decidePayment(trial, "completed", { fulfilTrials: false })).to.include({
      status: "awaiting_payment",
      reason: "trial",
    });
    expect(decidePayment(trial, "trial_converted", { fulfilTrials: false, trialPaid: true })).to.deep.equal({
      action: "fulfil",
    });
  });
  it("when no payment is required in payment mode (100% coupon), then fulfil", () => {
    expect(
      decidePayment(session({ paymentStatus: "no_payment_required" }), "completed", options),
    ).to.deep.equal({ action: "fulfil" });
  });
  it("when the session is still open, then awaiting_payment", () => {
    expect(
      decidePayment(session({ status: "open", paymentStatus: "unpaid" }), "completed", options),
    ).to.include({
      status: "awaiting_payment",
    });
  });
});

describe("unit: shipping decision", () => {
  const dropdown = (value: string | null) => ({
    key: "ship",
    type: "dropdown",
    dropdown: { value, options: [] },
  });
  it("when a line item is a shipped product, then it ships", () => {
    expect(decideShipping(session(), items(), { productIds: [SCALE_PRODUCT_ID] }).ships).to.equal(true);
  });
  it("when no line item is, then it does not, with the reason", () => {
    const d = decideShipping(session(), items({ lines: [STRAP_LINE] }), { productIds: [SCALE_PRODUCT_ID] });
    expect(d).to.deep.equal({ ships: false, reason: "no line item is a shipped product" });
  });
  it("when nothing is configured, then every order ships", () => {
    expect(decideShipping(session(), items({ lines: [STRAP_LINE] }), { productIds: [] }).ships).to.equal(
      true,
    );
  });
  it("when the opt-in field says yes in any shape, then it ships", () => {
    for (const field of [
      dropdown("yes"),
      { key: "ship", type: "text", text: { value: " TRUE " } },
      { key: "ship", type: "numeric", numeric: { value: "1" } },
    ]) {
      const s = { ...session(), custom_fields: [field] };
      expect(
        decideShipping(s, items({ lines: [STRAP_LINE] }), { productIds: [], optInField: "ship" }).ships,
      ).to.equal(true);
    }
    const no = { ...session(), custom_fields: [dropdown("no")] };
    expect(
      decideShipping(no, items({ lines: [STRAP_LINE] }), { productIds: [], optInField: "ship" }).ships,
    ).to.equal(false);
  });
});

// Exact outcomes and reasons of the pure decisions: the reasons are what operators
// read in `orders show`, logs and dead letters, so each is pinned here.
const exactEvent = (
  over: Partial<StripeEventEnvelope> & { objectId?: unknown } = {},
): StripeEventEnvelope => ({
  id: "evt_1",
  type: "checkout.session.completed",
  livemode: false,
  data: { object: { id: over.objectId === undefined ? "cs_test_1" : over.objectId } },
  ...over,
});

describe("unit: event classification, exactly", () => {
  const cases: [string, StripeEventEnvelope, boolean, Classification][] = [
    ["completed", exactEvent(), false, { kind: "checkout", sessionId: "cs_test_1", trigger: "completed" }],
    [
      "async succeeded",
      exactEvent({ type: "checkout.session.async_payment_succeeded" }),
      false,
      { kind: "checkout", sessionId: "cs_test_1", trigger: "async_payment_succeeded" },
    ],
    [
      "async failed",
      exactEvent({ type: "checkout.session.async_payment_failed" }),
      false,
      { kind: "checkout", sessionId: "cs_test_1", trigger: "async_payment_failed" },
    ],
    [
      "an invoice is paid (a renewal, or a trial converting)",
      exactEvent({ type: "invoice.paid", objectId: "in_1" }),
      false,
      { kind: "invoice_paid", invoiceId: "in_1" },
    ],
    [
      "invoice.paid names no invoice",
      exactEvent({ type: "invoice.paid" }),
      false,
      { kind: "ignore", reason: "event does not name an invoice" },
    ],
    [
      "a charge is refunded",
      exactEvent({ type: "charge.refunded", objectId: "ch_1" }),
      false,
      { kind: "charge", chargeId: "ch_1", disputeId: null },
    ],
    [
      "charge.refunded names no charge",
      exactEvent({ type: "charge.refunded" }),
      false,
      { kind: "ignore", reason: "event does not name a charge" },
    ],
    [
      "a dispute is opened",
      {
        ...exactEvent({ type: "charge.dispute.created", objectId: "dp_1" }),
        data: { object: { id: "dp_1", charge: "ch_2" } },
      },
      false,
      { kind: "charge", chargeId: "ch_2", disputeId: "dp_1" },
    ],
    [
      "a dispute names no charge",
      exactEvent({ type: "charge.dispute.created", objectId: "dp_1" }),
      false,
      { kind: "ignore", reason: "dispute does not name a charge" },
    ],
    [
      "a subscription is deleted",
      exactEvent({ type: "customer.subscription.deleted", objectId: "sub_1" }),
      false,
      { kind: "subscription_deleted", subscriptionId: "sub_1" },
    ],
    [
      "customer.subscription.deleted names no subscription",
      exactEvent({ type: "customer.subscription.deleted" }),
      false,
      { kind: "ignore", reason: "event does not name a subscription" },
    ],
    [
      "a refund of a test charge reaches a live key",
      exactEvent({ type: "charge.refunded", objectId: "ch_1" }),
      true,
      { kind: "ignore", reason: "livemode false event but the API key is live" },
    ],
    [
      "another type",
      exactEvent({ type: "customer.created" }),
      false,
      { kind: "ignore", reason: "event type customer.created is not handled" },
    ],
    [
      "a Connect event",
      exactEvent({ account: "acct_9" }),
      false,
      { kind: "ignore", reason: "Connect event for account acct_9" },
    ],
    [
      "an empty account",
      exactEvent({ account: "" }),
      false,
      { kind: "checkout", sessionId: "cs_test_1", trigger: "completed" },
    ],
    [
      "a test event on a live key",
      exactEvent(),
      true,
      { kind: "ignore", reason: "livemode false event but the API key is live" },
    ],
    [
      "a live event on a test key",
      exactEvent({ livemode: true }),
      false,
      { kind: "ignore", reason: "livemode true event but the API key is test" },
    ],
    [
      "an object that is not a session",
      exactEvent({ objectId: "pi_123" }),
      false,
      { kind: "ignore", reason: "event does not name a Checkout Session" },
    ],
    [
      "an object without an id",
      exactEvent({ objectId: 42 }),
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

const exactSession = (over: Partial<CheckoutSession> = {}): CheckoutSession => ({
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
    expect(decidePayment(exactSession({ mode: "setup" }), "completed", trials)).to.deep.equal({
      action: "record",
      status: "skipped",
      reason: "setup-mode session: nothing was bought",
    });
    expect(
      decidePayment(exactSession({ payment_status: "unpaid" }), "async_payment_failed", trials),
    ).to.deep.equal({
      action: "record",
      status: "payment_failed",
      reason: "the delayed payment failed",
    });
    // The decision is Stripe's current state: a "failed" event whose session reads paid ships.
    expect(decidePayment(exactSession(), "async_payment_failed", trials)).to.deep.equal({ action: "fulfil" });
    expect(
      decidePayment(exactSession({ status: "open", payment_status: "unpaid" }), "completed", trials),
    ).to.deep.equal({
      action: "record",
      status: "awaiting_payment",
      reason: "session status is open",
    });
    expect(decidePayment(exactSession({ status: null }), "completed", trials)).to.deep.equal({
      action: "record",
      status: "awaiting_payment",
      reason: "session status is null",
    });
    expect(
      decidePayment(
        exactSession({ mode: "subscription", payment_status: "no_payment_required" }),
        "completed",
        {
          fulfilTrials: false,
        },
      ),
    ).to.deep.equal({ action: "record", status: "awaiting_payment", reason: "trial" });
    expect(
      decidePayment(
        exactSession({ mode: "subscription", payment_status: "no_payment_required" }),
        "trial_converted",
        {
          fulfilTrials: false,
          trialPaid: true,
        },
      ),
    ).to.deep.equal({ action: "fulfil" });
    expect(
      decidePayment(exactSession({ payment_status: "no_payment_required" }), "completed", {
        fulfilTrials: false,
      }),
    ).to.deep.equal({ action: "fulfil" });
    expect(decidePayment(exactSession({ payment_status: "unpaid" }), "completed", trials)).to.deep.equal({
      action: "record",
      status: "awaiting_payment",
      reason: "payment not yet settled (delayed payment method)",
    });
  });
});

const exactItem = (productId: string | null): LineItem => ({
  id: "li_1",
  quantity: 1,
  currency: "usd",
  amount_subtotal: 100,
  amount_total: 100,
  price: productId === null ? null : { id: "price_1", product: productId },
});

describe("unit: shipping decision, exactly", () => {
  const optIn = (value: string | null) =>
    exactSession({
      custom_fields: [{ key: "ship_it", type: "dropdown", dropdown: { value } }],
    });

  it("when nothing is configured, then every order ships with that reason", () => {
    expect(decideShipping(exactSession(), [exactItem(null)], { productIds: [] })).to.deep.equal({
      ships: true,
      reason: "every paid order ships (no product filter configured)",
    });
  });

  it("when a line item is a shipped product, then it ships naming the product; items without a product never match", () => {
    expect(
      decideShipping(exactSession(), [exactItem(null), exactItem("prod_B"), exactItem("prod_A")], {
        productIds: ["prod_A"],
      }),
    ).to.deep.equal({
      ships: true,
      reason: "line item for product prod_A",
    });
    expect(decideShipping(exactSession(), [exactItem(null)], { productIds: ["prod_A"] })).to.deep.equal({
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
      decideShipping(exactSession({ custom_fields: null }), [], { productIds: [], optInField: "ship_it" }),
    ).to.deep.equal({
      ships: false,
      reason: "custom field ship_it is not yes",
    });
    // Another field saying yes does not count.
    expect(
      decideShipping(
        exactSession({ custom_fields: [{ key: "other", type: "text", text: { value: "yes" } }] }),
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
      decideShipping(optIn("no"), [exactItem("prod_B")], { productIds: ["prod_A"], optInField: "ship_it" }),
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
