/** Billing objects as Stripe returns them: a subscription, an invoice and its payment. */
import subscriptionFixture from "./fixtures/subscription.json" with { type: "json" };
import invoiceFixture from "./fixtures/invoice.json" with { type: "json" };
import invoicePaymentFixture from "./fixtures/invoice_payment.json" with { type: "json" };
import { clone, now, randomId, type Json } from "./ids.js";

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
    trial_start: options.trialEnd ? now() : null,
    trial_end: options.trialEnd ?? null,
  });
  return subscription;
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
