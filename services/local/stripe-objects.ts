/**
 * Realistic Stripe objects for the local stack, `send-test-event` and the tests,
 * built on Stripe's own OpenAPI fixtures (test/fixtures/stripe, MIT) so their
 * shapes are Stripe's, not remembered ones.
 */
import { randomBytes } from "node:crypto";
import Stripe from "stripe";
import sessionFixture from "../../test/fixtures/stripe/checkout_session.json" with { type: "json" };
import lineItemFixture from "../../test/fixtures/stripe/checkout_session_line_item.json" with { type: "json" };
import eventFixture from "../../test/fixtures/stripe/event.json" with { type: "json" };
import productFixture from "../../test/fixtures/stripe/product.json" with { type: "json" };
import priceFixture from "../../test/fixtures/stripe/price.json" with { type: "json" };
import subscriptionFixture from "../../test/fixtures/stripe/subscription.json" with { type: "json" };

/** The API version this code is written and tested against; register the webhook endpoint with it. */
export const STRIPE_API_VERSION: string = Stripe.API_VERSION;

/** The shipped product (the scale) in the local stack. */
export const SCALE_PRODUCT_ID = "prod_LocalScale0001";
export const ACCESSORY_PRODUCT_ID = "prod_LocalStrap0002";

type Json = Record<string, unknown>;

function clone<T>(value: T): T {
  return structuredClone(value);
}

export function randomId(prefix: string, length = 24): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return `${prefix}_${out}`;
}

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
  name: string;
  unitAmount: number;
  quantity: number;
}

export interface SessionSpec {
  id?: string;
  mode?: "payment" | "subscription" | "setup";
  status?: "open" | "complete" | "expired";
  paymentStatus?: "paid" | "unpaid" | "no_payment_required";
  currency?: string;
  livemode?: boolean;
  customer?: CustomerDetails;
  lines?: LineSpec[];
  customFields?: Json[];
  subscriptionId?: string | null;
  metadata?: Record<string, string>;
  shippingCost?: number;
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
    created: Math.floor(Date.now() / 1000),
    expires_at: Math.floor(Date.now() / 1000) + 86400,
    custom_fields: spec.customFields ?? [],
    metadata: spec.metadata ?? {},
    subscription: mode === "subscription" ? (spec.subscriptionId ?? randomId("sub")) : null,
    payment_intent: mode === "payment" ? randomId("pi") : null,
    setup_intent: mode === "setup" ? randomId("seti") : null,
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
      shipping_details: { name: customer.name, address: { line2: null, state: null, ...customer.address } },
    },
    shipping_address_collection: { allowed_countries: ["GB", "US", "DE", "FR", "JP"] },
    shipping_cost: shipping
      ? { amount_subtotal: shipping, amount_tax: 0, amount_total: shipping, shipping_rate: randomId("shr") }
      : null,
    total_details: { amount_discount: 0, amount_shipping: shipping, amount_tax: 0 },
    currency_conversion: null,
  });
  return session;
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
    });
    Object.assign(price, {
      id: `price_${line.productId.slice(5)}${index}`,
      currency,
      livemode: !!spec.livemode,
      product,
      type: recurring ? "recurring" : "one_time",
      recurring: recurring ? price.recurring : null,
      unit_amount: line.unitAmount,
      unit_amount_decimal: String(line.unitAmount),
      transform_quantity: null,
    });
    Object.assign(item, {
      id: `li_${String(index).padStart(4, "0")}${randomId("x", 20).slice(2)}`,
      description: line.name,
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

/** A subscription as `GET /v1/subscriptions/{id}` returns it. */
export function buildSubscription(
  id: string,
  options: { metadata?: Record<string, string>; status?: string; livemode?: boolean } = {},
): Json {
  const subscription = clone(subscriptionFixture) as Json;
  Object.assign(subscription, {
    id,
    metadata: options.metadata ?? {},
    status: options.status ?? "active",
    livemode: !!options.livemode,
  });
  return subscription;
}

export interface EventSpec {
  type: string;
  object: Json;
  id?: string;
  livemode?: boolean;
  account?: string;
  created?: number;
  apiVersion?: string | null;
}

/** A webhook event (snapshot payload) wrapping `object`, shaped like Stripe's. */
export function buildEvent(spec: EventSpec): Json {
  const event = clone(eventFixture) as Json;
  Object.assign(event, {
    id: spec.id ?? randomId("evt"),
    type: spec.type,
    created: spec.created ?? Math.floor(Date.now() / 1000),
    livemode: spec.livemode ?? spec.object.livemode === true,
    api_version: spec.apiVersion === undefined ? STRIPE_API_VERSION : spec.apiVersion,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object: spec.object },
  });
  if (spec.account) event.account = spec.account;
  return event;
}
