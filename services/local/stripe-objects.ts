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
import paymentIntentFixture from "../../test/fixtures/stripe/payment_intent.json" with { type: "json" };
import chargeFixture from "../../test/fixtures/stripe/charge.json" with { type: "json" };
import refundFixture from "../../test/fixtures/stripe/refund.json" with { type: "json" };
import disputeFixture from "../../test/fixtures/stripe/dispute.json" with { type: "json" };
import invoiceFixture from "../../test/fixtures/stripe/invoice.json" with { type: "json" };
import invoicePaymentFixture from "../../test/fixtures/stripe/invoice_payment.json" with { type: "json" };
import webhookEndpointFixture from "../../test/fixtures/stripe/webhook_endpoint.json" with { type: "json" };

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
    created: Math.floor(Date.now() / 1000),
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

/** A subscription as `GET /v1/subscriptions/{id}` returns it. */
export function buildSubscription(
  id: string,
  options: {
    metadata?: Record<string, string>;
    status?: string;
    livemode?: boolean;
    /** Unix seconds: the subscription is on a trial until then. */
    trialEnd?: number | null;
  } = {},
): Json {
  const subscription = clone(subscriptionFixture) as Json;
  Object.assign(subscription, {
    id,
    metadata: options.metadata ?? {},
    status: options.status ?? (options.trialEnd ? "trialing" : "active"),
    livemode: !!options.livemode,
    trial_start: options.trialEnd ? Math.floor(Date.now() / 1000) : null,
    trial_end: options.trialEnd ?? null,
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

const now = () => Math.floor(Date.now() / 1000);

export interface ChargeSpec {
  paymentIntentId: string;
  amount: number;
  currency: string;
  livemode?: boolean;
  /** Refunded so far (all of `amount`: fully refunded). */
  amountRefunded?: number;
  disputed?: boolean;
}

/** A charge as `GET /v1/charges/{id}` returns it. */
export function buildCharge(id: string, spec: ChargeSpec): Json {
  const charge = clone(chargeFixture) as Json;
  const refunded = spec.amountRefunded ?? 0;
  Object.assign(charge, {
    id,
    amount: spec.amount,
    amount_captured: spec.amount,
    amount_refunded: refunded,
    refunded: refunded >= spec.amount,
    disputed: !!spec.disputed,
    captured: true,
    paid: true,
    status: "succeeded",
    currency: spec.currency,
    created: now(),
    livemode: !!spec.livemode,
    payment_intent: spec.paymentIntentId,
    description: null,
    refunds: { object: "list", data: [], has_more: false, url: `/v1/charges/${id}/refunds` },
  });
  return charge;
}

/** A succeeded PaymentIntent as `GET /v1/payment_intents/{id}` returns it (latest_charge an id unless expanded). */
export function buildPaymentIntent(
  id: string,
  spec: { amount: number; currency: string; chargeId: string | null; livemode?: boolean },
): Json {
  const intent = clone(paymentIntentFixture) as Json;
  Object.assign(intent, {
    id,
    amount: spec.amount,
    amount_received: spec.chargeId ? spec.amount : 0,
    canceled_at: null,
    client_secret: `${id}_secret_${randomId("x", 16).slice(2)}`,
    created: now(),
    currency: spec.currency,
    last_payment_error: null,
    latest_charge: spec.chargeId,
    livemode: !!spec.livemode,
    next_action: null,
    processing: null,
    shipping: null,
    status: spec.chargeId ? "succeeded" : "processing",
    transfer_data: null,
  });
  return intent;
}

/** A refund of `amount` of a charge (a `charge.refunded` event carries the charge, not this). */
export function buildRefund(spec: {
  chargeId: string;
  paymentIntentId: string;
  amount: number;
  currency: string;
}): Json {
  const refund = clone(refundFixture) as Json;
  Object.assign(refund, {
    id: randomId("re"),
    amount: spec.amount,
    charge: spec.chargeId,
    payment_intent: spec.paymentIntentId,
    currency: spec.currency,
    created: now(),
    status: "succeeded",
    reason: "requested_by_customer",
  });
  return refund;
}

/** A dispute as a `charge.dispute.created` event carries it. */
export function buildDispute(spec: {
  chargeId: string;
  paymentIntentId: string;
  amount: number;
  currency: string;
  livemode?: boolean;
}): Json {
  const dispute = clone(disputeFixture) as Json;
  Object.assign(dispute, {
    id: randomId("dp"),
    amount: spec.amount,
    charge: spec.chargeId,
    payment_intent: spec.paymentIntentId,
    currency: spec.currency,
    created: now(),
    livemode: !!spec.livemode,
    reason: "product_not_received",
    status: "needs_response",
  });
  return dispute;
}

export interface InvoiceSpec {
  subscriptionId: string;
  currency: string;
  amountPaid: number;
  /** "subscription_create" (the session's first invoice) or "subscription_cycle" (renewals, trial ends). */
  billingReason?: string;
  livemode?: boolean;
  customerEmail?: string | null;
}

/**
 * An invoice as `GET /v1/invoices/{id}` returns it in the pinned API version: the
 * subscription under `parent.subscription_details`, payments as `payments` (listed when expanded).
 */
export function buildInvoice(id: string, spec: InvoiceSpec): Json {
  const invoice = clone(invoiceFixture) as Json;
  Object.assign(invoice, {
    id,
    amount_due: spec.amountPaid,
    amount_paid: spec.amountPaid,
    amount_remaining: 0,
    billing_reason: spec.billingReason ?? "subscription_create",
    created: now(),
    currency: spec.currency,
    customer_email: spec.customerEmail ?? null,
    due_date: null,
    last_finalization_error: null,
    livemode: !!spec.livemode,
    status: "paid",
    subtotal: spec.amountPaid,
    total: spec.amountPaid,
    from_invoice: null,
    parent: {
      quote_details: null,
      subscription_details: { metadata: {}, subscription: spec.subscriptionId },
      type: "subscription_details",
    },
    lines: { object: "list", data: [], has_more: false, url: `/v1/invoices/${id}/lines` },
  });
  return invoice;
}

/** The payment of an invoice by a PaymentIntent (`invoice.payments.data[]`). */
export function buildInvoicePayment(
  invoiceId: string,
  spec: { paymentIntentId: string; amount: number; currency: string; livemode?: boolean },
): Json {
  const payment = clone(invoicePaymentFixture) as Json;
  Object.assign(payment, {
    id: randomId("inpay"),
    amount_paid: spec.amount,
    amount_requested: spec.amount,
    created: now(),
    currency: spec.currency,
    invoice: invoiceId,
    is_default: true,
    livemode: !!spec.livemode,
    payment: { type: "payment_intent", payment_intent: spec.paymentIntentId },
    status: "paid",
    status_transitions: { canceled_at: null, paid_at: now() },
  });
  return payment;
}

/** A product as `GET /v1/products/{id}` returns it. */
export function buildProduct(id: string, name: string, options: { livemode?: boolean } = {}): Json {
  const product = clone(productFixture) as Json;
  Object.assign(product, {
    id,
    name,
    description: name,
    active: true,
    livemode: !!options.livemode,
    default_price: null,
    metadata: {},
  });
  return product;
}

/** A webhook endpoint as `GET /v1/webhook_endpoints` lists it. */
export function buildWebhookEndpoint(options: {
  url: string;
  enabledEvents: readonly string[];
  apiVersion?: string | null;
  livemode?: boolean;
}): Json {
  const endpoint = clone(webhookEndpointFixture) as Json;
  Object.assign(endpoint, {
    id: randomId("we"),
    url: options.url,
    enabled_events: [...options.enabledEvents],
    api_version: options.apiVersion === undefined ? STRIPE_API_VERSION : options.apiVersion,
    created: now(),
    description: "Stripe fulfilment receiver",
    livemode: !!options.livemode,
    status: "enabled",
  });
  return endpoint;
}
