/**
 * Checkout objects as Stripe returns them (a session, its line items, a shipping rate),
 * built on Stripe's own OpenAPI fixtures (./fixtures, MIT) so their shapes are Stripe's.
 */
import sessionFixture from "./fixtures/checkout_session.json" with { type: "json" };
import lineItemFixture from "./fixtures/checkout_session_line_item.json" with { type: "json" };
import productFixture from "./fixtures/product.json" with { type: "json" };
import priceFixture from "./fixtures/price.json" with { type: "json" };
import { ACCESSORY_PRODUCT_ID, clone, now, randomId, SCALE_PRODUCT_ID, type Json } from "./ids.js";

export interface CustomerDetails {
  name: string;
  email: string;
  phone?: string | null;
  address: {
    line1: string;
    line2?: string | null;
    city: string;
    postal_code: string;
    state?: string | null;
    country: string;
  };
}

export interface LineSpec {
  productId: string;
  /** The product's catalogue name. */
  name: string;
  /** What the customer saw at checkout (default: the name), e.g. with a variant. */
  description?: string;
  /** In the session's currency. */
  unitAmount: number;
  quantity: number;
  sku?: string;
  /**
   * How the price is set up, when it is not a plain per-unit price in the session's
   * currency: another default currency (the session's is then a currency option),
   * tiers, or an amount the customer chose. Its `unit_amount` is then not the session's.
   */
  price?: {
    currency?: string;
    unitAmount?: number;
    scheme?: "per_unit" | "tiered" | "custom";
  };
}

export interface SessionSpec {
  id?: string;
  mode?: "payment" | "subscription" | "setup";
  status?: "open" | "complete" | "expired";
  paymentStatus?: "paid" | "unpaid" | "no_payment_required";
  currency?: string;
  livemode?: boolean;
  customer?: CustomerDetails;
  /** The Stripe customer id (default: a new one; null: a guest checkout). */
  customerId?: string | null;
  lines?: LineSpec[];
  customFields?: Json[];
  subscriptionId?: string | null;
  metadata?: Record<string, string>;
  shippingCost?: number;
  /** The shipping rate's display name (with a shipping cost). */
  shippingMethod?: string;
  /** No shipping address collected: only the billing address in customer_details. */
  noShippingAddress?: boolean;
}

export const DEFAULT_CUSTOMER: CustomerDetails = {
  name: "Ada Lovelace",
  email: "ada@example.com",
  phone: "+442071234567",
  address: {
    line1: "12 St James's Square",
    line2: null,
    city: "London",
    postal_code: "SW1Y 4JH",
    state: null,
    country: "GB",
  },
};

export const SCALE_LINE: LineSpec = {
  productId: SCALE_PRODUCT_ID,
  name: "Smart Scale",
  unitAmount: 12900,
  quantity: 1,
};
export const STRAP_LINE: LineSpec = {
  productId: ACCESSORY_PRODUCT_ID,
  name: "Scale Cover",
  unitAmount: 1500,
  quantity: 2,
};

/**
 * The demo order of `npm start` and `send-test-event`, which is also the first sample of
 * docs/EMAILS.md (`npm run docs:emails` renders it): a UK customer paying in pounds for a
 * scale and two covers (the cover with a SKU), with a shipping rate chosen at checkout.
 */
export const DEMO_SCALE_LINE: LineSpec = {
  ...SCALE_LINE,
  unitAmount: 7900,
  description: "Smart Scale, Graphite",
};
export const DEMO_COVER_LINE: LineSpec = { ...STRAP_LINE, sku: "COV-GR" };
export const DEMO_ORDER = {
  currency: "gbp",
  customer: DEFAULT_CUSTOMER,
  lines: [DEMO_SCALE_LINE, DEMO_COVER_LINE],
  shippingCost: 495,
  shippingMethod: "Royal Mail Tracked 48",
} as const satisfies SessionSpec;

/** A Checkout Session as `GET /v1/checkout/sessions/{id}` returns it. */
export function buildSession(spec: SessionSpec = {}): Json {
  const session = clone(sessionFixture) as Json;
  const mode = spec.mode ?? "payment";
  const lines = mode === "setup" ? [] : (spec.lines ?? [SCALE_LINE]);
  const subtotal = lines.reduce((sum, l) => sum + l.unitAmount * l.quantity, 0);
  const shipping = mode === "setup" ? 0 : (spec.shippingCost ?? 0);
  const customer = spec.customer ?? DEFAULT_CUSTOMER;
  const id = spec.id ?? randomId(spec.livemode ? "cs_live" : "cs_test", 58);
  const currency = mode === "setup" ? null : (spec.currency ?? "usd");
  Object.assign(session, {
    id,
    mode,
    status: spec.status ?? "complete",
    payment_status: spec.paymentStatus ?? (mode === "setup" ? "no_payment_required" : "paid"),
    currency,
    livemode: spec.livemode ?? false,
    amount_subtotal: mode === "setup" ? null : subtotal,
    amount_total: mode === "setup" ? null : subtotal + shipping,
    created: now(),
    expires_at: now() + 86400,
    custom_fields: spec.customFields ?? [],
    metadata: spec.metadata ?? {},
    subscription: mode === "subscription" ? (spec.subscriptionId ?? randomId("sub")) : null,
    // A subscription's first invoice (zero for a trial) is created by the session.
    invoice: mode === "subscription" ? randomId("in") : null,
    payment_intent: mode === "payment" ? randomId("pi") : null,
    setup_intent: mode === "setup" ? randomId("seti") : null,
    // Checkout makes a customer for subscriptions always, for payments when asked.
    customer: spec.customerId === undefined ? randomId("cus", 14) : spec.customerId,
    url: null,
    customer_details: {
      ...(session.customer_details as Json),
      name: customer.name,
      email: customer.email,
      phone: customer.phone ?? null,
      address: { line2: null, state: null, ...customer.address },
    },
    collected_information: {
      ...(session.collected_information as Json),
      shipping_details: spec.noShippingAddress
        ? null
        : { name: customer.name, address: { line2: null, state: null, ...customer.address } },
    },
    shipping_address_collection: spec.noShippingAddress
      ? null
      : { allowed_countries: ["GB", "US", "DE", "FR", "JP"] },
    shipping_cost: shipping
      ? {
          amount_subtotal: shipping,
          amount_tax: 0,
          amount_total: shipping,
          shipping_rate: buildShippingRate({
            amount: shipping,
            currency: currency ?? "usd",
            displayName: spec.shippingMethod ?? "Standard shipping",
          }),
        }
      : null,
    total_details: { amount_discount: 0, amount_shipping: shipping, amount_tax: 0 },
    currency_conversion: null,
  });
  return session;
}

/**
 * A shipping rate as `GET /v1/shipping_rates/{id}` returns it; a session holds its id
 * unless `expand[]=shipping_cost.shipping_rate` asks for the object (the stand-in expands it).
 */
export function buildShippingRate(options: { amount: number; currency: string; displayName: string }): Json {
  return {
    id: randomId("shr"),
    object: "shipping_rate",
    active: true,
    created: now(),
    delivery_estimate: null,
    display_name: options.displayName,
    fixed_amount: { amount: options.amount, currency: options.currency },
    livemode: false,
    metadata: {},
    tax_behavior: "unspecified",
    tax_code: null,
    type: "fixed_amount",
  };
}

/** The line items of a session as `GET .../line_items?expand[]=data.price.product` returns them. */
export function buildLineItems(spec: SessionSpec & { livemode?: boolean }): Json[] {
  const lines = spec.mode === "setup" ? [] : (spec.lines ?? [SCALE_LINE]);
  const currency = spec.currency ?? "usd";
  const recurring = spec.mode === "subscription";
  return lines.map((line, index) => {
    const item = clone(lineItemFixture) as Json;
    const price = clone(priceFixture) as Json;
    const product = clone(productFixture) as Json;
    const total = line.unitAmount * line.quantity;
    Object.assign(product, {
      id: line.productId,
      name: line.name,
      description: line.name,
      livemode: !!spec.livemode,
      default_price: null,
      metadata: line.sku ? { sku: line.sku } : {},
    });
    const scheme = line.price?.scheme ?? "per_unit";
    const priceCurrency = line.price?.currency ?? currency;
    const priceUnitAmount = scheme === "per_unit" ? (line.price?.unitAmount ?? line.unitAmount) : null;
    Object.assign(price, {
      id: `price_${line.productId.slice(5)}${index}`,
      currency: priceCurrency,
      // The session paid in a currency option of a price whose default is another currency.
      currency_options:
        priceCurrency !== currency && scheme === "per_unit"
          ? {
              [priceCurrency]: { unit_amount: priceUnitAmount, tax_behavior: "unspecified" },
              [currency]: { unit_amount: line.unitAmount, tax_behavior: "unspecified" },
            }
          : undefined,
      livemode: !!spec.livemode,
      product,
      type: recurring ? "recurring" : "one_time",
      recurring: recurring ? price.recurring : null,
      billing_scheme: scheme === "tiered" ? "tiered" : "per_unit",
      tiers_mode: scheme === "tiered" ? "volume" : null,
      tiers:
        scheme === "tiered"
          ? [
              { up_to: 2, unit_amount: line.unitAmount, flat_amount: null },
              { up_to: null, unit_amount: Math.round(line.unitAmount * 0.9), flat_amount: null },
            ]
          : undefined,
      custom_unit_amount: scheme === "custom" ? { maximum: null, minimum: 100, preset: null } : null,
      unit_amount: priceUnitAmount,
      unit_amount_decimal: priceUnitAmount === null ? null : String(priceUnitAmount),
      transform_quantity: null,
    });
    Object.assign(item, {
      id: `li_${String(index).padStart(4, "0")}${randomId("x", 20).slice(2)}`,
      description: line.description ?? line.name,
      currency,
      quantity: line.quantity,
      amount_subtotal: total,
      amount_total: total,
      amount_discount: 0,
      amount_tax: 0,
      price,
      adjustable_quantity: null,
    });
    return item;
  });
}
