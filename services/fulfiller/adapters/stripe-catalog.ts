import Stripe from "stripe";
import { PermanentError, TransientError } from "../../common/errors.js";
import type { CallOptions, StripeCatalog } from "../ports.js";
import type { ChargeState, CheckoutSession, InvoiceState, LineItem, Subscription } from "../session.js";
import { idOf } from "../session.js";
import type { PaymentCheck } from "../claims/order-state.js";
import { SUBSCRIPTION_MARKER } from "../fulfil-order.js";

export interface StripeClientOptions {
  apiKey: string;
  /** e.g. http://127.0.0.1:12111: a local stand-in speaking Stripe's wire format. */
  apiBase?: string | undefined;
  timeoutMs: number;
  /**
   * stripe-node retries network failures and timeouts by itself (2 by default), each
   * retry with the whole timeout again. Inside a push delivery Pub/Sub's redelivery is
   * the retry, so the fulfiller sets none; the CLI may allow some.
   */
  maxNetworkRetries?: number;
}

/** The SDK client, pinned to the API version this code is tested against. */
export function createStripeClient(options: StripeClientOptions): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  return new Stripe(options.apiKey, {
    timeout: options.timeoutMs,
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    telemetry: false,
    appInfo: { name: "stripe-fulfilment" },
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === "https:" ? 443 : 80),
          protocol: base.protocol === "https:" ? "https" : "http",
        }
      : {}),
  });
}

/** Stripe's errors as ours: 429, 5xx and network trouble are transient; other 4xx are permanent. */
export function mapStripeError(err: unknown, what: string): Error {
  if (err instanceof TransientError || err instanceof PermanentError) return err;
  if (err instanceof Stripe.errors.StripeError) {
    const status = err.statusCode;
    const detail = `${what}: Stripe ${err.type}${status ? ` ${status}` : ""}${err.code ? ` ${err.code}` : ""}: ${err.message}`;
    if (
      err instanceof Stripe.errors.StripeConnectionError ||
      err instanceof Stripe.errors.StripeRateLimitError ||
      err instanceof Stripe.errors.StripeAPIError ||
      status === undefined ||
      status === 429 ||
      status >= 500
    ) {
      return new TransientError(detail, { cause: err, code: "stripe_transient" });
    }
    const hint =
      status === 401
        ? ": check STRIPE_API_KEY (Stripe does not accept it)"
        : status === 403
          ? ": check STRIPE_API_KEY's permissions (a restricted key needs Checkout Sessions and Subscriptions access)"
          : "";
    return new PermanentError(`${detail}${hint}`, { cause: err, code: `stripe_${status}` });
  }
  return new TransientError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** The few Stripe reads and one write fulfilment makes. */
export class StripeApiCatalog implements StripeCatalog {
  constructor(private readonly stripe: Stripe) {}

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
      return {
        id: subscription.id,
        status: subscription.status,
        trial_end: subscription.trial_end,
        latest_invoice: idOf(subscription.latest_invoice),
        metadata: subscription.metadata ?? {},
      };
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

  getPayment(
    ref: { paymentIntentId: string } | { invoiceId: string },
    options: CallOptions,
  ): Promise<PaymentCheck | null> {
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
    const payments = invoice.payments?.data ?? [];
    const payment = (payments.find((p) => p.status === "paid") ?? payments.find((p) => p.is_default))
      ?.payment;
    if (!payment) return null;
    const intent = typeof payment.payment_intent === "object" ? payment.payment_intent : null;
    const chargeId = idOf(intent?.latest_charge ?? null) ?? idOf(payment.charge ?? null);
    if (chargeId) return toPaymentCheck(await this.getCharge(chargeId, options));
    const intentId = idOf(payment.payment_intent ?? null);
    return intentId ? this.paymentOfIntent(intentId, options) : null;
  }

  async getCharge(chargeId: string, options: CallOptions): Promise<ChargeState> {
    try {
      return toChargeState(await this.stripe.charges.retrieve(chargeId, {}, { timeout: options.timeoutMs }));
    } catch (err) {
      throw mapStripeError(err, `retrieving charge ${chargeId}`);
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
