import { expect } from "chai";
import {
  buildOrderDetails,
  shippingOf,
  unitAmountOf,
} from "../../../../services/fulfiller/checkout/order-details.js";
import {
  composeOrderEmail,
  orderReference,
  escapeHtml,
  headerSafe,
} from "../../../../services/fulfiller/email/compose-email.js";
import {
  formatPostalAddress,
  countryName,
  hasStreetLine,
} from "../../../../services/fulfiller/email/postal-address.js";
import {
  type CheckoutSession,
  type LineItem,
  type Subscription,
} from "../../../../services/fulfiller/session.js";
import {
  buildLineItems,
  buildSession,
  buildSubscription,
  DEFAULT_CUSTOMER,
  SCALE_LINE,
  type CustomerDetails,
  type SessionSpec,
} from "../../../../services/local/stripe/objects.js";
import { type OrderDetails } from "../../../../services/fulfiller/claims/order-state.js";

/** The email for a session built from Stripe's fixtures, as the fulfiller composes it. */
function emailFor(spec: SessionSpec, subscription?: Record<string, unknown>) {
  const session = buildSession(spec) as unknown as CheckoutSession;
  const items = buildLineItems(spec) as unknown as LineItem[];
  const details = buildOrderDetails(session, items, subscription as unknown as Subscription | undefined);
  return { session, details, email: composeOrderEmail({ sessionId: session.id, details }) };
}

const customerIn = (address: CustomerDetails["address"]): CustomerDetails => ({
  ...DEFAULT_CUSTOMER,
  address,
});

describe("unit: the order email reads like a packing slip", () => {
  describe("when a line item's description differs from its product's name", () => {
    it("then the description is the item, with the product name, id and SKU beside it", () => {
      const { email } = emailFor({
        lines: [
          { ...SCALE_LINE, description: "Smart Scale, Graphite, EU plug", sku: "SCL-GR-EU" },
          { productId: "prod_Cover02", name: "Scale Cover", unitAmount: 1500, quantity: 2 },
        ],
      });
      expect(email.text).to.include("1 x Smart Scale, Graphite, EU plug @ US$129.00 = US$129.00");
      expect(email.text).to.include('"Smart Scale", product prod_LocalScale0001, SKU SCL-GR-EU');
      // Where they are the same, the name is not repeated.
      expect(email.text).to.include("2 x Scale Cover @ US$15.00 = US$30.00\n      product prod_Cover02\n");
      expect(email.html).to.include("Smart Scale, Graphite, EU plug");
    });

    it("then 25 items show all 25 descriptions", () => {
      const lines = Array.from({ length: 25 }, (_, i) => ({
        productId: `prod_Item${i}`,
        name: "Generic",
        description: `Variant ${i} of 25`,
        unitAmount: 100,
        quantity: 1,
      }));
      const { email } = emailFor({ lines });
      for (let i = 0; i < 25; i++) expect(email.text).to.include(`Variant ${i} of 25`);
    });
  });

  describe("when the session's currency is not the price's default currency", () => {
    it("then every amount is in the session's currency, from the line item's own amounts", () => {
      const { email } = emailFor({
        currency: "gbp",
        lines: [
          { ...SCALE_LINE, unitAmount: 7900, quantity: 1, price: { currency: "usd", unitAmount: 10000 } },
        ],
      });
      expect(email.text).to.include("1 x Smart Scale @ £79.00 = £79.00");
      expect(email.text).to.not.include("100.00");
      expect(email.text).to.include("Total: £79.00");
    });

    it("then tiered and custom-amount prices show their amounts, not n/a", () => {
      const { email } = emailFor({
        currency: "eur",
        lines: [
          { ...SCALE_LINE, unitAmount: 5000, quantity: 3, price: { scheme: "tiered" } },
          { productId: "prod_Tip", name: "Tip", unitAmount: 250, quantity: 1, price: { scheme: "custom" } },
        ],
      });
      expect(email.text).to.include("3 x Smart Scale @ €50.00 = €150.00");
      expect(email.text).to.include("1 x Tip @ €2.50 = €2.50");
      expect(email.text).to.not.include("n/a");
    });

    it("then a quantity that does not divide the total shows the total alone", () => {
      const session = buildSession({ lines: [SCALE_LINE] }) as unknown as CheckoutSession;
      const [item] = buildLineItems({ lines: [SCALE_LINE] }) as unknown as LineItem[];
      const details = buildOrderDetails(session, [
        { ...item!, quantity: 3, amount_subtotal: 1000, amount_total: 1000 },
      ]);
      const email = composeOrderEmail({ sessionId: session.id, details });
      expect(email.text).to.include("3 x Smart Scale = US$10.00");
    });
  });

  describe("when no shipping address was collected", () => {
    it("then the billing address is labelled as such, with a warning", () => {
      const { email } = emailFor({ noShippingAddress: true });
      expect(email.text).to.include("Billing address (ship here)");
      expect(email.text).to.include("WARNING: No shipping address was collected at checkout");
      expect(email.html).to.include("Billing address (ship here)");
    });

    it("then a billing address without a street line says it cannot be shipped as it is", () => {
      const { email } = emailFor({
        noShippingAddress: true,
        customer: customerIn({ line1: "", city: "", postal_code: "N1", country: "GB" }),
      });
      expect(email.text).to.include("WARNING: This address has no street line: do not ship");
      expect(email.text).to.include("  N1\n  United Kingdom");
    });

    it("then a collected shipping address carries no such warning", () => {
      const { email } = emailFor({});
      expect(email.text).to.include("Ship to\n");
      expect(email.text).to.not.include("WARNING");
    });
  });

  describe("when addresses come from different countries", () => {
    it("then each is laid out as its country writes it, the country by name", () => {
      expect(
        formatPostalAddress({
          line1: "12 St James's Square",
          city: "London",
          postal_code: "SW1Y 4JH",
          country: "GB",
        }),
      ).to.deep.equal(["12 St James's Square", "London", "SW1Y 4JH", "United Kingdom"]);
      expect(
        formatPostalAddress({
          line1: "1 Market St",
          line2: "Suite 300",
          city: "San Francisco",
          state: "CA",
          postal_code: "94105",
          country: "US",
        }),
      ).to.deep.equal(["1 Market St", "Suite 300", "San Francisco, CA 94105", "United States"]);
      expect(
        formatPostalAddress({
          line1: "Unter den Linden 1",
          city: "Berlin",
          postal_code: "10117",
          country: "DE",
        }),
      ).to.deep.equal(["Unter den Linden 1", "10117 Berlin", "Germany"]);
      expect(
        formatPostalAddress({ line1: "8 rue de Rivoli", city: "Paris", postal_code: "75004", country: "FR" }),
      ).to.deep.equal(["8 rue de Rivoli", "75004 Paris", "France"]);
    });

    it("then the email shows the customer's address in that layout", () => {
      const { email } = emailFor({
        customer: customerIn({
          line1: "Unter den Linden 1",
          city: "Berlin",
          postal_code: "10117",
          country: "DE",
        }),
      });
      expect(email.text).to.include("  Unter den Linden 1\n  10117 Berlin\n  Germany\n");
    });
  });

  describe("when the order has several units, a shipping method and a date", () => {
    it("then units and lines are counted, and the method and date are shown", () => {
      const { email, session } = emailFor({
        lines: [
          SCALE_LINE,
          { productId: "prod_Cover02", name: "Scale Cover", unitAmount: 1500, quantity: 2 },
        ],
        shippingCost: 500,
        shippingMethod: "Royal Mail Tracked 48",
      });
      expect(email.text).to.include("Items: 3 units in 2 lines");
      expect(email.text).to.include("Shipping method: Royal Mail Tracked 48");
      const ordered = new Date((session.created ?? 0) * 1000);
      const day = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" }).format(ordered);
      expect(email.text).to.match(new RegExp(`Ordered: ${day}, \\d\\d:\\d\\d UTC`));
    });
  });

  describe("when the subscription started on a trial", () => {
    it("then it says plainly that nothing is paid yet, and when the first charge is", () => {
      const trialEnd = Date.UTC(2026, 11, 12, 9, 0, 0) / 1000;
      const spec: SessionSpec = { mode: "subscription", paymentStatus: "no_payment_required" };
      const { email } = emailFor(spec, buildSubscription("sub_x", { trialEnd }));
      expect(email.text).to.include("Trial: no payment yet, first charge on 12 Dec 2026.");
      expect(email.text).to.include("Total (after the trial):");
      expect(email.html).to.include("Trial: no payment yet");
    });

    it("then a paid subscription says nothing of a trial", () => {
      const { email } = emailFor({ mode: "subscription" }, buildSubscription("sub_y"));
      expect(email.text).to.not.include("Trial");
    });
  });

  describe("when the order is referred to", () => {
    it("then one short reference is shared by the subject and the body, beside the full session id", () => {
      const { email, session } = emailFor({});
      const ref = orderReference(session.id);
      expect(ref).to.have.length(8);
      expect(email.subject).to.equal(`[TEST] Order ${ref} to ship: Ada Lovelace`);
      expect(email.text).to.include(`Order reference: ${ref} (Checkout Session ${session.id})`);
      expect(email.html).to.include(`Order ${ref} to ship`);
      expect(email.customArgs).to.include({ order_id: session.id, order_ref: ref, email_kind: "order" });
    });
  });
});

const details = (over: Partial<OrderDetails> = {}): OrderDetails => ({
  mode: "payment",
  livemode: true,
  currency: "usd",
  customer: { name: "Ada", email: "ada@example.com", phone: null },
  shipping: {
    name: "Ada",
    address: {
      line1: "1 Main St",
      line2: null,
      city: "Springfield",
      postal_code: "12345",
      state: "IL",
      country: "US",
    },
    source: "shipping",
  },
  line_items: [
    { description: "Scale", product_id: "prod_1", quantity: 1, unit_amount: 100, amount_total: 100 },
  ],
  totals: { subtotal: 100, shipping: null, discount: null, tax: null, total: 100 },
  subscription_id: null,
  payment_intent_id: null,
  custom_fields: [],
  ...over,
});
const compose = (over: Partial<OrderDetails> = {}) =>
  composeOrderEmail({ sessionId: "cs_live_abcdefgh12345678", details: details(over) });

describe("unit: the order email's parts, exactly", () => {
  it("when header values carry control characters, runs of spaces or too much text, then they are flattened and bounded", () => {
    expect(headerSafe("a\r\n\tb  \u2028 c")).to.equal("a b c");
    expect(headerSafe("  padded  ")).to.equal("padded");
    expect(headerSafe("x".repeat(200))).to.equal("x".repeat(200));
    expect(headerSafe("x".repeat(201))).to.equal(`${"x".repeat(199)}…`);
    expect(headerSafe("abcdef", 5)).to.equal("abcd…");
    expect(escapeHtml(`<a href="x">Tom & Jerry's</a>`)).to.equal(
      "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;",
    );
  });

  it("when a customer value is missing, empty, multi-line or very long, then the text shows '-', one line, or 500 characters", () => {
    const email = compose({
      customer: { name: "Ada\r\nBcc: x@y.z", email: "", phone: null },
      custom_fields: [{ key: "note", label: "Note", value: "n".repeat(600) }],
    });
    expect(email.text).to.include("  Name:  Ada  Bcc: x@y.z\n");
    expect(email.text).to.include("  Email: -\n");
    expect(email.text).to.include("  Phone: -\n");
    expect(email.text).to.include(`  Note: ${"n".repeat(499)}…\n`);
    expect(email.text).to.not.include("n".repeat(500));
    expect(email.text.includes("\u0007")).to.equal(false);
  });

  it("when custom fields were answered, then both parts list them under Customer answers", () => {
    const email = compose({ custom_fields: [{ key: "gift", label: "Gift <wrap>", value: "yes" }] });
    expect(email.text).to.include("Total: US$1.00\n\nCustomer answers\n  Gift <wrap>: yes\n");
    expect(email.html).to.include("<h2>Customer answers</h2><ul>\n<li>Gift &lt;wrap&gt;: yes</li>\n</ul>");
    expect(compose().text).to.not.include("Customer answers");
  });

  it("when no address was collected at all, then both parts say so and warn", () => {
    const email = compose({ shipping: null });
    expect(email.text).to.include(
      "WARNING: No address was collected: do not ship until the customer gives one.",
    );
    expect(email.text).to.include("Ship to\n  (no address collected)\n");
    expect(email.html).to.include("<p>(no address collected)</p>");
  });

  it("when the subject has no customer name, then the email address, else a neutral word, stands in", () => {
    expect(compose({ customer: { name: null, email: "e@x.io", phone: null } }).subject).to.equal(
      "Order 12345678 to ship: e@x.io",
    );
    expect(compose({ customer: { name: null, email: null, phone: null } }).subject).to.equal(
      "Order 12345678 to ship: customer",
    );
  });

  it("when references, totals and identities are present, then each shows in both parts", () => {
    const email = compose({
      subscription_id: "sub_1",
      payment_intent_id: "pi_1",
      totals: { subtotal: 100, shipping: 50, discount: 10, tax: 5, total: 145 },
      line_items: [
        {
          description: "Scale, blue",
          product_name: "Scale",
          product_id: "prod_1",
          sku: "S-1",
          quantity: 2,
          unit_amount: 50,
          amount_total: 100,
        },
        { name: "Old record item", product_id: null, quantity: 1, unit_amount: null, amount_total: 0 },
      ],
    });
    expect(email.text).to.include("\nSubscription: sub_1\nPayment: pi_1\n");
    expect(email.text).to.include(
      "Subtotal: US$1.00\nShipping: US$0.50\nDiscount: -US$0.10\nTax: US$0.05\nTotal: US$1.45",
    );
    expect(email.text).to.include(
      '  2 x Scale, blue @ US$0.50 = US$1.00\n      "Scale", product prod_1, SKU S-1\n',
    );
    expect(email.text).to.include("  1 x Old record item = US$0.00\n");
    expect(email.html).to.include("Scale, blue<br><small>&quot;Scale&quot;, product prod_1, SKU S-1</small>");
    expect(email.html).to.include("Subscription: sub_1<br>Payment: pi_1");
    expect(email.html).to.include('<th style="text-align:left">Discount</th>');
    expect(email.templateData).to.include({
      order_reference: "12345678",
      units: 3,
      subscription_id: "sub_1",
    });
    expect(compose().text).to.not.include("Subscription:");
  });

  it("when the order is minimal, then the text is exactly the packing slip, with nothing empty or stray", () => {
    const email = compose({
      line_items: [{ product_id: null, quantity: 1, unit_amount: null, amount_total: 100 }],
    });
    expect(email.text).to.equal(
      [
        "Order 12345678 needs to be shipped.",
        "",
        "Order reference: 12345678 (Checkout Session cs_live_abcdefgh12345678)",
        "",
        "Ship to",
        "  Ada",
        "  1 Main St",
        "  Springfield, IL 12345",
        "  United States",
        "",
        "Customer",
        "  Name:  Ada",
        "  Email: ada@example.com",
        "  Phone: -",
        "",
        "Items: 1 unit in 1 line",
        "  1 x item = US$1.00",
        "",
        "Subtotal: US$1.00",
        "Total: US$1.00",
        "",
      ].join("\n"),
    );
    expect(email.html).to.include(
      '<tr><td style="padding:4px 8px;border-bottom:1px solid #ddd">1</td><td style="padding:4px 8px;border-bottom:1px solid #ddd">item</td><td style="padding:4px 8px;border-bottom:1px solid #ddd"></td><td style="padding:4px 8px;border-bottom:1px solid #ddd">US$1.00</td></tr>',
    );
    expect(email.templateData).to.deep.include({
      test_mode: false,
      ordered_at: null,
      shipping_method: null,
      trial: null,
      customer: { name: "Ada", email: "ada@example.com", phone: null },
      totals: { subtotal: "US$1.00", total: "US$1.00" },
    });
  });

  it("when a trial's end is unknown, then it still says no payment yet; dates and methods reach the template", () => {
    const email = compose({
      trial: { ends_at: null },
      ordered_at: new Date("2026-11-27T14:05:00Z"),
      shipping_method: "Express",
      customer: { name: "Ada", email: "ada@example.com", phone: undefined as unknown as null },
    });
    expect(email.text).to.include("\nTrial: no payment yet.\n");
    expect(email.text).to.include("  Phone: -\n");
    expect(email.templateData).to.include({
      ordered_at: "2026-11-27T14:05:00.000Z",
      shipping_method: "Express",
      test_mode: false,
    });
    expect(compose({ livemode: false }).templateData.test_mode).to.equal(true);
  });

  it("when a value is exactly 500 characters, then it is kept whole", () => {
    const email = compose({ custom_fields: [{ key: "k", label: "K", value: "v".repeat(500) }] });
    expect(email.text).to.include(`  K: ${"v".repeat(500)}\n`);
  });

  it("when one unit in one line, then the heading is singular", () => {
    expect(compose().text).to.include("Items: 1 unit in 1 line\n");
  });
});

describe("unit: order details from the session, exactly", () => {
  const session = (over: Partial<CheckoutSession> = {}): CheckoutSession => ({
    id: "cs_1",
    livemode: false,
    mode: "payment",
    status: "complete",
    payment_status: "paid",
    currency: "eur",
    amount_subtotal: 1000,
    amount_total: 1200,
    ...over,
  });
  const item = (over: Partial<LineItem> = {}): LineItem => ({
    id: "li_1",
    quantity: 2,
    currency: "eur",
    amount_subtotal: 1000,
    amount_total: 900,
    ...over,
  });

  it("when the session has totals, custom fields and a shipping cost, then each lands in its place", () => {
    const d = buildOrderDetails(
      session({
        total_details: { amount_discount: 100, amount_shipping: 200, amount_tax: 50 },
        custom_fields: [
          { key: "gift", type: "text", label: { custom: "Gift note" }, text: { value: "hi" } },
          { key: "size", type: "dropdown", label: null, dropdown: { value: "M" } },
        ],
        customer_details: { name: "N", email: "e@x.io", phone: "+1" },
        created: 1_800_000_000,
      }),
      [item()],
    );
    expect(d.totals).to.deep.equal({ subtotal: 1000, shipping: 200, discount: 100, tax: 50, total: 1200 });
    expect(d.custom_fields).to.deep.equal([
      { key: "gift", label: "Gift note", value: "hi" },
      { key: "size", label: "size", value: "M" },
    ]);
    expect(d.customer).to.deep.equal({ name: "N", email: "e@x.io", phone: "+1" });
    expect(d.ordered_at).to.deep.equal(new Date(1_800_000_000_000));
    expect(d.trial).to.equal(null);
    const fallback = buildOrderDetails(session({ shipping_cost: { amount_total: 300 } }), []);
    expect(fallback.totals).to.deep.equal({
      subtotal: 1000,
      shipping: 300,
      discount: null,
      tax: null,
      total: 1200,
    });
    expect(fallback.customer).to.deep.equal({ name: null, email: null, phone: null });
    expect(fallback.custom_fields).to.deep.equal([]);
    expect(fallback.ordered_at).to.equal(null);
    expect(fallback.shipping_method).to.equal(null);
    const noRate = buildOrderDetails(
      session({ shipping_cost: { amount_total: 300, shipping_rate: null } }),
      [],
    );
    expect(noRate.shipping_method).to.equal(null);
  });

  it("when a line item's product is not expanded, then its description and id are used; an empty description falls back", () => {
    const [a, b] = buildOrderDetails(session(), [
      item({ description: "Blue", price: { id: "price_1", product: "prod_1" } }),
      item({ description: null, price: null }),
    ]).line_items;
    expect(a).to.deep.equal({
      description: "Blue",
      product_id: "prod_1",
      product_name: null,
      sku: null,
      quantity: 2,
      unit_amount: 500,
      amount_total: 900,
    });
    expect(b!.description).to.equal("li_1");
  });

  it("when the quantity does not divide the subtotal, or is zero, then no unit amount", () => {
    expect(unitAmountOf(item({ quantity: 3 }))).to.equal(null);
    expect(unitAmountOf(item({ quantity: 0 }))).to.equal(null);
    expect(unitAmountOf(item({ quantity: null, amount_subtotal: 700 }))).to.equal(700);
  });

  it("when a subscription starts on a trial, then the trial end comes from the subscription", () => {
    const trial = session({ mode: "subscription", payment_status: "no_payment_required" });
    expect(buildOrderDetails(trial, [], { id: "sub_1", trial_end: 1_800_000_000 }).trial).to.deep.equal({
      ends_at: new Date(1_800_000_000_000),
    });
    expect(buildOrderDetails(trial, [], null).trial).to.deep.equal({ ends_at: null });
    expect(buildOrderDetails(session({ payment_status: "no_payment_required" }), []).trial).to.equal(null);
    expect(
      buildOrderDetails(session({ mode: "subscription" }), [], { id: "s", trial_end: 1 }).trial,
    ).to.equal(null);
  });

  it("when shipping details name nobody, then the customer's name is used; the source says which address it is", () => {
    const s = session({
      customer_details: { name: "Billing Name", address: { line1: "B St", country: "GB" } },
      collected_information: { shipping_details: { name: null, address: { line1: "S St", country: "GB" } } },
    });
    expect(shippingOf(s)).to.deep.equal({
      name: "Billing Name",
      address: { line1: "S St", line2: null, city: null, postal_code: null, state: null, country: "GB" },
      source: "shipping",
    });
    expect(shippingOf({ ...s, collected_information: null })).to.include({
      name: "Billing Name",
      source: "billing",
    });
    expect(shippingOf({ ...s, collected_information: null, customer_details: null })).to.equal(null);
    expect(shippingOf({ ...s, customer_details: null })).to.include({ name: null, source: "shipping" });
  });
});

describe("unit: postal addresses", () => {
  it("when a country code is lower-case, unknown or absent, then it is shown by name, as given, or not at all", () => {
    expect(countryName("gb")).to.equal("United Kingdom");
    expect(countryName("AA")).to.equal("AA");
    expect(countryName("not a code")).to.equal("not a code");
    expect(countryName(null)).to.equal(null);
    expect(
      formatPostalAddress({
        line1: "1 Main St",
        city: "Springfield",
        postal_code: "12345",
        state: "IL",
        country: "us",
      }),
    ).to.deep.equal(["1 Main St", "Springfield, IL 12345", "United States"]);
    expect(formatPostalAddress({ line1: "Somewhere 1", city: "Town" })).to.deep.equal([
      "Somewhere 1",
      "Town",
    ]);
    expect(formatPostalAddress({ postal_code: "N1", country: "GB" })).to.deep.equal(["N1", "United Kingdom"]);
    expect(formatPostalAddress({ country: "GB" })).to.deep.equal(["United Kingdom"]);
  });

  it("when line2 is given in a layout of three or more lines, then it follows line1", () => {
    expect(
      formatPostalAddress({
        line1: "12 St James's Square",
        line2: "Flat 2",
        city: "London",
        postal_code: "SW1Y 4JH",
        country: "GB",
      }),
    ).to.deep.equal(["12 St James's Square", "Flat 2", "London", "SW1Y 4JH", "United Kingdom"]);
  });

  it("when only line2 or neither street line exists, then it is placed first or the address has no street line", () => {
    expect(
      formatPostalAddress({ line2: "Flat 2", city: "Berlin", postal_code: "10117", country: "DE" }),
    ).to.deep.equal(["Flat 2", "10117 Berlin", "Germany"]);
    expect(hasStreetLine({ line2: "Flat 2" })).to.equal(true);
    expect(hasStreetLine({ line1: "  ", line2: null })).to.equal(false);
    expect(hasStreetLine({ line1: null, line2: "   " })).to.equal(false);
    expect(hasStreetLine({})).to.equal(false);
  });
});

const checkoutSession = (spec: SessionSpec = {}) => buildSession(spec) as unknown as CheckoutSession;
const checkoutItems = (spec: SessionSpec = {}) => buildLineItems(spec) as unknown as LineItem[];

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
    const s = checkoutSession({ customer: hostile });
    const email = composeOrderEmail({ sessionId: s.id, details: buildOrderDetails(s, checkoutItems()) });
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
    const test = checkoutSession();
    const live = checkoutSession({ livemode: true });
    const t = composeOrderEmail({ sessionId: test.id, details: buildOrderDetails(test, checkoutItems()) });
    const l = composeOrderEmail({
      sessionId: live.id,
      details: buildOrderDetails(live, checkoutItems({ livemode: true })),
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
    const s = checkoutSession({ currency: "jpy", lines });
    const email = composeOrderEmail({
      sessionId: s.id,
      details: buildOrderDetails(s, checkoutItems({ currency: "jpy", lines })),
    });
    for (let i = 0; i < 40; i++)
      expect(email.text).to.include(`Item ${i} @ JP¥${(1000 + i).toLocaleString("en-GB")}`);
    expect(email.templateData.line_items).to.have.length(40);
  });

  it("when shipping comes from the current, older or billing fields, then the address is found", () => {
    const base = checkoutSession();
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
