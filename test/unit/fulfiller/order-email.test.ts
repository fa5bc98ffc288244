import { expect } from "chai";
import { buildOrderDetails } from "../../../services/fulfiller/order-details.js";
import { composeOrderEmail, orderReference } from "../../../services/fulfiller/compose-email.js";
import { formatPostalAddress } from "../../../services/fulfiller/postal-address.js";
import type { CheckoutSession, LineItem, Subscription } from "../../../services/fulfiller/session.js";
import {
  buildLineItems,
  buildSession,
  buildSubscription,
  DEFAULT_CUSTOMER,
  SCALE_LINE,
  type CustomerDetails,
  type SessionSpec,
} from "../../../services/local/stripe-objects.js";

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
