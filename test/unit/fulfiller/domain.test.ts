import { expect } from "chai";
import { classifyEvent, isLiveKey } from "../../../services/fulfiller/classify-event.js";
import { decidePayment, decideShipping } from "../../../services/fulfiller/decide-fulfilment.js";
import { formatAmount, minorUnitDigits } from "../../../services/fulfiller/currency.js";
import { buildOrderDetails, shippingOf } from "../../../services/fulfiller/order-details.js";
import { composeOrderEmail, headerSafe } from "../../../services/fulfiller/compose-email.js";
import type { CheckoutSession, LineItem } from "../../../services/fulfiller/session.js";
import type { StripeEventEnvelope } from "../../../services/common/event.js";
import {
  buildEvent,
  buildLineItems,
  buildSession,
  SCALE_LINE,
  SCALE_PRODUCT_ID,
  STRAP_LINE,
  type SessionSpec,
} from "../../../services/local/stripe-objects.js";

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

describe("unit: currency formatting with Stripe's minor units", () => {
  it("when two-, zero- and three-decimal currencies, then the digits follow Stripe's lists", () => {
    expect(formatAmount(12900, "usd")).to.equal("US$129.00");
    expect(formatAmount(1500, "jpy")).to.equal("JP¥1,500");
    expect(formatAmount(1500, "krw")).to.equal("₩1,500");
    expect(formatAmount(12345, "kwd")).to.match(/^KWD\s12\.345$/);
    expect(formatAmount(12345, "bhd")).to.match(/12\.345/);
    // Intl treats ISK as zero-decimal; Stripe's API amounts are two-decimal.
    expect(formatAmount(100000, "isk")).to.match(/1,000\.00/);
    expect(minorUnitDigits("HUF")).to.equal(2);
    expect(formatAmount(null, "usd")).to.equal("n/a");
  });
});

describe("unit: order email", () => {
  const hostile = {
    name: '<script>alert("x")</script>\r\nBcc: victim@example.com',
    email: "evil@example.com",
    phone: "+1 555",
    address: {
      line1: "<b>1 Main</b> & Co",
      line2: "x".repeat(5000),
      city: "Paris\nInjected: yes",
      postal_code: "75001",
      country: "FR",
    },
  };

  it("when customer values carry HTML, CR/LF and long strings, then every part stays escaped and well-formed", () => {
    const s = session({ customer: hostile });
    const email = composeOrderEmail({ sessionId: s.id, details: buildOrderDetails(s, items()) });
    expect(email.subject).to.not.match(/[\r\n]/);
    expect(email.subject.length).to.be.at.most(200);
    expect(email.html).to.not.include("<script>");
    expect(email.html).to.include("&lt;script&gt;");
    expect(email.html).to.include("&lt;b&gt;1 Main&lt;/b&gt; &amp; Co");
    expect(email.html).to.not.include("x".repeat(600));
    expect(email.text).to.not.include("\r");
    expect(email.text.split("\n").some((l) => l.startsWith("Bcc:"))).to.equal(false);
  });

  it("when test mode, then a banner; when live, none; and the ids ride in custom_args", () => {
    const test = session();
    const live = session({ livemode: true });
    const t = composeOrderEmail({ sessionId: test.id, details: buildOrderDetails(test, items()) });
    const l = composeOrderEmail({
      sessionId: live.id,
      details: buildOrderDetails(live, items({ livemode: true })),
    });
    expect(t.text).to.include("TEST MODE");
    expect(t.subject).to.match(/^\[TEST\]/);
    expect(l.text).to.not.include("TEST MODE");
    expect(t.customArgs).to.include({ order_id: test.id });
  });

  it("when many line items in JPY, then each appears with amounts in yen", () => {
    const lines = Array.from({ length: 40 }, (_, i) => ({
      ...SCALE_LINE,
      name: `Item ${i}`,
      unitAmount: 1000 + i,
    }));
    const s = session({ currency: "jpy", lines });
    const email = composeOrderEmail({
      sessionId: s.id,
      details: buildOrderDetails(s, items({ currency: "jpy", lines })),
    });
    for (let i = 0; i < 40; i++)
      expect(email.text).to.include(`Item ${i} @ JP¥${(1000 + i).toLocaleString("en-GB")}`);
    expect(email.templateData.line_items).to.have.length(40);
  });

  it("when shipping comes from the current, older or billing fields, then the address is found", () => {
    const base = session();
    expect(shippingOf(base)?.address?.postal_code).to.equal("SW1Y 4JH");
    const older = {
      ...base,
      collected_information: null,
      shipping_details: { name: "Old", address: { line1: "Old St", country: "US" } },
    };
    expect(shippingOf(older)?.name).to.equal("Old");
    const billingOnly = { ...base, collected_information: null };
    expect(shippingOf(billingOnly)?.address?.line1).to.equal("12 St James's Square");
  });

  it("when a header value has control characters, then headerSafe flattens them", () => {
    expect(headerSafe("a\r\nb\u2028c\u0000d")).to.equal("a b c d");
  });
});
