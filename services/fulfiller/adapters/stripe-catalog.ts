import Stripe from "stripe";
import type {
  CallOptions,
  CheckoutRead,
  DisputeEvidence,
  PaymentRef,
  Shipment,
  StripeCatalog,
} from "../ports.js";
import type { ChargeState, CheckoutSession, InvoiceState, LineItem, Subscription } from "../session.js";
import { idOf } from "../session.js";
import type { PaymentCheck } from "../claims/order-state.js";
import { SUBSCRIPTION_MARKER } from "../fulfil-order.js";
import { mapStripeError } from "./stripe-client.js";

export { createStripeClient, mapStripeError, type StripeClientOptions } from "./stripe-client.js";

/** The few Stripe reads and one write fulfilment makes. */
export class StripeApiCatalog implements StripeCatalog {
  constructor(private readonly stripe: Stripe) {}

  async getCheckout(sessionId: string, options: CallOptions): Promise<CheckoutRead> {
    let session: Stripe.Checkout.Session;
    try {
      session = await this.stripe.checkout.sessions.retrieve(
        sessionId,
        { expand: CHECKOUT_EXPANSIONS },
        { timeout: options.timeoutMs },
      );
    } catch (err) {
      throw mapStripeError(err, `retrieving session ${sessionId}`);
    }
    const page = session.line_items;
    const lineItems =
      page && !page.has_more
        ? (page.data as unknown as LineItem[])
        : await this.listLineItems(sessionId, options);
    const subscription =
      session.subscription && typeof session.subscription === "object"
        ? toSubscription(session.subscription)
        : null;
    const intent = session.payment_intent;
    if (intent && typeof intent === "object") {
      const charge = typeof intent.latest_charge === "object" ? intent.latest_charge : null;
      return {
        session: session as unknown as CheckoutSession,
        lineItems,
        subscription,
        payment: charge ? toPaymentCheck(toChargeState(charge)) : null,
        paymentRef: null,
      };
    }
    // A subscription's first invoice: its payments name the charge or PaymentIntent to read.
    const invoice = session.invoice && typeof session.invoice === "object" ? session.invoice : null;
    const paid = invoice ? paymentOfExpandedInvoice(invoice) : undefined;
    const invoiceId = idOf(session.invoice ?? null);
    return {
      session: session as unknown as CheckoutSession,
      lineItems,
      subscription,
      payment: paid === null ? null : undefined,
      paymentRef:
        paid ?? (typeof intent === "string" ? { paymentIntentId: intent } : invoiceId ? { invoiceId } : null),
    };
  }

  async getSession(sessionId: string, options: CallOptions): Promise<CheckoutSession> {
    try {
      const session = await this.stripe.checkout.sessions.retrieve(
        sessionId,
        { expand: ["shipping_cost.shipping_rate"] },
        { timeout: options.timeoutMs },
      );
      return session;
    } catch (err) {
      throw mapStripeError(err, `retrieving session ${sessionId}`);
    }
  }

  async listLineItems(sessionId: string, options: CallOptions): Promise<LineItem[]> {
    try {
      const items: LineItem[] = [];
      const list = this.stripe.checkout.sessions.listLineItems(
        sessionId,
        { limit: 100, expand: ["data.price.product"] },
        { timeout: options.timeoutMs },
      );
      for await (const item of list) items.push(item as unknown as LineItem);
      return items;
    } catch (err) {
      throw mapStripeError(err, `listing line items of ${sessionId}`);
    }
  }

  async getSubscription(subscriptionId: string, options: CallOptions): Promise<Subscription> {
    try {
      const subscription = await this.stripe.subscriptions.retrieve(
        subscriptionId,
        {},
        { timeout: options.timeoutMs },
      );
      return toSubscription(subscription);
    } catch (err) {
      throw mapStripeError(err, `retrieving subscription ${subscriptionId}`);
    }
  }

  async markInitialOrderProcessed(subscriptionId: string, options: CallOptions): Promise<void> {
    try {
      await this.stripe.subscriptions.update(
        subscriptionId,
        { metadata: { [SUBSCRIPTION_MARKER]: "true" } },
        { timeout: options.timeoutMs },
      );
    } catch (err) {
      throw mapStripeError(err, `updating subscription ${subscriptionId}`);
    }
  }

  async getPayment(ref: PaymentRef, options: CallOptions): Promise<PaymentCheck | null> {
    if ("chargeId" in ref) return toPaymentCheck(await this.getCharge(ref.chargeId, options));
    return "paymentIntentId" in ref
      ? this.paymentOfIntent(ref.paymentIntentId, options)
      : this.paymentOfInvoice(ref.invoiceId, options);
  }

  /** The PaymentIntent's latest charge, expanded in the same call. */
  private async paymentOfIntent(intentId: string, options: CallOptions): Promise<PaymentCheck | null> {
    try {
      const intent = await this.stripe.paymentIntents.retrieve(
        intentId,
        { expand: ["latest_charge"] },
        { timeout: options.timeoutMs },
      );
      const charge = typeof intent.latest_charge === "object" ? intent.latest_charge : null;
      return charge ? toPaymentCheck(toChargeState(charge)) : null;
    } catch (err) {
      throw mapStripeError(err, `retrieving payment intent ${intentId}`);
    }
  }

  /**
   * The pinned API version has no `invoice.charge` or `invoice.payment_intent`: the
   * invoice's `payments` say what paid it. Expanded down to the PaymentIntent (Stripe
   * expands four levels at most), then its charge is read: two calls.
   */
  private async paymentOfInvoice(invoiceId: string, options: CallOptions): Promise<PaymentCheck | null> {
    let invoice: Stripe.Invoice;
    try {
      invoice = await this.stripe.invoices.retrieve(
        invoiceId,
        { expand: ["payments.data.payment.payment_intent"] },
        { timeout: options.timeoutMs },
      );
    } catch (err) {
      throw mapStripeError(err, `retrieving invoice ${invoiceId}`);
    }
    // No `payments` at all: nothing paid it.
    const ref = paymentOfExpandedInvoice(invoice) ?? null;
    return ref ? this.getPayment(ref, options) : null;
  }

  async getCharge(chargeId: string, options: CallOptions): Promise<ChargeState> {
    try {
      return toChargeState(await this.stripe.charges.retrieve(chargeId, {}, { timeout: options.timeoutMs }));
    } catch (err) {
      throw mapStripeError(err, `retrieving charge ${chargeId}`);
    }
  }

  async recordShipment(
    paymentIntentId: string,
    shipment: Shipment,
    idempotencyKey: string,
    options: CallOptions,
  ): Promise<void> {
    try {
      await this.stripe.paymentIntents.update(
        paymentIntentId,
        {
          shipping: {
            name: shipment.name,
            address: {
              line1: shipment.address.line1,
              line2: shipment.address.line2 ?? undefined,
              city: shipment.address.city ?? undefined,
              postal_code: shipment.address.postal_code ?? undefined,
              state: shipment.address.state ?? undefined,
              country: shipment.address.country ?? undefined,
            },
            carrier: shipment.carrier,
            tracking_number: shipment.trackingNumber,
          },
        },
        { timeout: options.timeoutMs, idempotencyKey },
      );
    } catch (err) {
      throw mapStripeError(err, `writing the shipment to payment intent ${paymentIntentId}`);
    }
  }

  async fillDisputeEvidence(
    disputeId: string,
    evidence: DisputeEvidence,
    idempotencyKey: string,
    options: CallOptions,
  ): Promise<void> {
    const fields = Object.fromEntries(Object.entries(evidence).filter(([, v]) => v !== null && v !== ""));
    try {
      await this.stripe.disputes.update(
        disputeId,
        { evidence: fields, submit: false },
        { timeout: options.timeoutMs, idempotencyKey },
      );
    } catch (err) {
      throw mapStripeError(err, `filling the evidence of dispute ${disputeId}`);
    }
  }

  async getDisputedCharge(disputeId: string, options: CallOptions): Promise<string | null> {
    try {
      const dispute = await this.stripe.disputes.retrieve(disputeId, {}, { timeout: options.timeoutMs });
      return idOf(dispute.charge ?? null);
    } catch (err) {
      throw mapStripeError(err, `retrieving dispute ${disputeId}`);
    }
  }

  async getInvoice(invoiceId: string, options: CallOptions): Promise<InvoiceState> {
    try {
      const invoice = await this.stripe.invoices.retrieve(invoiceId, {}, { timeout: options.timeoutMs });
      return {
        id: invoice.id ?? invoiceId,
        status: invoice.status ?? null,
        amount_paid: invoice.amount_paid,
        currency: invoice.currency,
        subscription_id: idOf(invoice.parent?.subscription_details?.subscription ?? null),
        billing_reason: invoice.billing_reason ?? null,
      };
    } catch (err) {
      throw mapStripeError(err, `retrieving invoice ${invoiceId}`);
    }
  }

  async findSessionForPayment(paymentIntentId: string, options: CallOptions): Promise<string | null> {
    try {
      const list = await this.stripe.checkout.sessions.list(
        { payment_intent: paymentIntentId, limit: 1 },
        { timeout: options.timeoutMs },
      );
      return list.data[0]?.id ?? null;
    } catch (err) {
      throw mapStripeError(err, `listing sessions of payment intent ${paymentIntentId}`);
    }
  }

  async findInvoiceForPayment(
    paymentIntentId: string,
    options: CallOptions,
  ): Promise<{ invoiceId: string; subscriptionId: string | null } | null> {
    let invoiceId: string | null;
    try {
      const list = await this.stripe.invoicePayments.list(
        { payment: { type: "payment_intent", payment_intent: paymentIntentId }, limit: 1 },
        { timeout: options.timeoutMs },
      );
      invoiceId = idOf(list.data[0]?.invoice ?? null);
    } catch (err) {
      throw mapStripeError(err, `listing invoice payments of ${paymentIntentId}`);
    }
    if (!invoiceId) return null;
    const invoice = await this.getInvoice(invoiceId, options);
    return { invoiceId, subscriptionId: invoice.subscription_id };
  }

  async findSessionForSubscription(
    subscriptionId: string,
    options: CallOptions,
  ): Promise<{ sessionId: string; invoiceId: string | null } | null> {
    try {
      const list = await this.stripe.checkout.sessions.list(
        { subscription: subscriptionId, limit: 1 },
        { timeout: options.timeoutMs },
      );
      const session = list.data[0];
      return session ? { sessionId: session.id, invoiceId: idOf(session.invoice) } : null;
    } catch (err) {
      throw mapStripeError(err, `listing sessions of subscription ${subscriptionId}`);
    }
  }
}

/**
 * One read's expansions (Stripe expands four levels deep at most, `data` counting as one):
 * the line items with their products, the PaymentIntent with its latest charge (the
 * re-check before the email), the shipping rate, and for a subscription the
 * subscription and its first invoice's payments, whose charge is one level too deep.
 */
export const CHECKOUT_EXPANSIONS = [
  "line_items.data.price.product",
  "payment_intent.latest_charge",
  "shipping_cost.shipping_rate",
  "subscription",
  "invoice.payments",
];

function toSubscription(subscription: Stripe.Subscription): Subscription {
  return {
    id: subscription.id,
    status: subscription.status,
    trial_end: subscription.trial_end,
    latest_invoice: idOf(subscription.latest_invoice),
    metadata: subscription.metadata ?? {},
  };
}

/**
 * What an invoice's expanded `payments` say paid it: the charge or PaymentIntent to read
 * (one more request), null when nothing was paid, undefined when `payments` is absent.
 */
function paymentOfExpandedInvoice(invoice: Stripe.Invoice): PaymentRef | null | undefined {
  // Not in the read (the expansion was not honoured): undefined, and the invoice is read.
  if (!invoice.payments) return undefined;
  const payments = invoice.payments.data;
  const payment = (payments.find((p) => p.status === "paid") ?? payments.find((p) => p.is_default))?.payment;
  if (!payment) return null;
  // The PaymentIntent's latest charge where it is expanded (a read of the invoice itself).
  const intent = typeof payment.payment_intent === "object" ? payment.payment_intent : null;
  const chargeId = idOf(intent?.latest_charge ?? null) ?? idOf(payment.charge ?? null);
  if (chargeId) return { chargeId };
  const intentId = idOf(payment.payment_intent ?? null);
  return intentId ? { paymentIntentId: intentId } : null;
}

function toChargeState(charge: Stripe.Charge): ChargeState {
  return {
    id: charge.id,
    payment_intent_id: idOf(charge.payment_intent),
    currency: charge.currency,
    amount: charge.amount,
    amount_refunded: charge.amount_refunded,
    refunded: charge.refunded,
    disputed: charge.disputed,
    livemode: charge.livemode,
  };
}

function toPaymentCheck(charge: ChargeState): PaymentCheck {
  return {
    payment_intent_id: charge.payment_intent_id,
    charge_id: charge.id,
    currency: charge.currency,
    amount: charge.amount,
    amount_refunded: charge.amount_refunded,
    refunded: charge.refunded,
    disputed: charge.disputed,
  };
}
