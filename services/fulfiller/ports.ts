/**
 * What the fulfilment logic needs from the outside world, named for what it does.
 * Adapters over the SDKs live in adapters/; tests use the same adapters against
 * emulators and local servers, or small fakes.
 */
import type { ChargeState, CheckoutSession, InvoiceState, LineItem, Subscription } from "./session.js";
import type {
  ClaimCheck,
  ClaimPlan,
  ClaimRequest,
  OrderRecord,
  OrderStatus,
  PaymentCheck,
} from "./claims/order-state.js";

export interface CallOptions {
  /** Time left in this attempt's handler deadline. */
  timeoutMs: number;
}

export interface Shipment {
  name: string;
  address: {
    line1: string;
    line2?: string | null;
    city?: string | null;
    postal_code?: string | null;
    state?: string | null;
    country?: string | null;
  };
  carrier: string;
  trackingNumber: string;
}

/** Stripe's dispute evidence fields the dispatch fills (DESIGN 5b). */
export interface DisputeEvidence {
  shipping_carrier: string;
  shipping_tracking_number: string;
  shipping_date: string;
  shipping_address: string | null;
  customer_name: string | null;
  customer_email_address: string | null;
  product_description: string | null;
}

/** What one expanded read of a Checkout Session says (DESIGN 5: one Stripe read per order). */
export interface CheckoutRead {
  session: CheckoutSession;
  /** Every line item, products expanded: the read's first page, and the rest listed only when it says `has_more`. */
  lineItems: LineItem[];
  /** The subscription (subscription mode), expanded in the same read. */
  subscription: Subscription | null;
  /**
   * The payment behind the session as the read saw it: a PaymentIntent's latest charge
   * (payment mode), null when nothing was charged, undefined when Stripe's expansion
   * depth stops short (a subscription's first invoice names its payment, not its charge).
   */
  payment: PaymentCheck | null | undefined;
  /** What one more read fetches when `payment` is undefined. */
  paymentRef: PaymentRef | null;
}

export type PaymentRef = { paymentIntentId: string } | { invoiceId: string } | { chargeId: string };

export interface StripeCatalog {
  /**
   * The session with `line_items.data.price.product`, `payment_intent.latest_charge`,
   * `shipping_cost.shipping_rate`, `subscription` and `invoice.payments` expanded: one
   * request, and one more only for more than 10 line items or a subscription's charge.
   */
  getCheckout(sessionId: string, options: CallOptions): Promise<CheckoutRead>;
  /** The session with its shipping rate expanded. */
  getSession(sessionId: string, options: CallOptions): Promise<CheckoutSession>;
  /** Every line item (auto-paginated), price and product expanded. */
  listLineItems(sessionId: string, options: CallOptions): Promise<LineItem[]>;
  getSubscription(subscriptionId: string, options: CallOptions): Promise<Subscription>;
  markInitialOrderProcessed(subscriptionId: string, options: CallOptions): Promise<void>;
  /**
   * The payment behind an order now: a PaymentIntent's latest charge, or an invoice's
   * payment (`invoice.payments`) and its charge. Null when nothing was charged.
   */
  getPayment(ref: PaymentRef, options: CallOptions): Promise<PaymentCheck | null>;
  getCharge(chargeId: string, options: CallOptions): Promise<ChargeState>;
  /**
   * Writes the shipment to the PaymentIntent (`shipping` with carrier and tracking number),
   * with `idempotencyKey` so a retried write is one write.
   */
  recordShipment(
    paymentIntentId: string,
    shipment: Shipment,
    idempotencyKey: string,
    options: CallOptions,
  ): Promise<void>;
  /** Fills a dispute's evidence, never submitting it (the merchant reviews and submits). */
  fillDisputeEvidence(
    disputeId: string,
    evidence: DisputeEvidence,
    idempotencyKey: string,
    options: CallOptions,
  ): Promise<void>;
  /** The charge a dispute is about (a thin `v1.charge.dispute.created` names only the dispute). */
  getDisputedCharge(disputeId: string, options: CallOptions): Promise<string | null>;
  getInvoice(invoiceId: string, options: CallOptions): Promise<InvoiceState>;
  /** The Checkout Session that created a PaymentIntent (payment mode), if any. */
  findSessionForPayment(paymentIntentId: string, options: CallOptions): Promise<string | null>;
  /** The invoice a PaymentIntent paid, and its subscription, if any. */
  findInvoiceForPayment(
    paymentIntentId: string,
    options: CallOptions,
  ): Promise<{ invoiceId: string; subscriptionId: string | null } | null>;
  /** The Checkout Session that created a subscription, and its first invoice. */
  findSessionForSubscription(
    subscriptionId: string,
    options: CallOptions,
  ): Promise<{ sessionId: string; invoiceId: string | null } | null>;
}

export interface RedactedOrder {
  order: OrderRecord;
  /** What was erased, by name (empty: nothing was left to erase). */
  erased: string[];
}

export interface OutgoingEmail {
  to: readonly string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  customArgs: Record<string, string>;
  templateId?: string | undefined;
  templateData?: Record<string, unknown> | undefined;
}

export interface Mailer {
  /**
   * Resolves once the provider accepted the message. Rejects with MailRefusedError
   * when it definitely did not (an HTTP error answer, a refused connection), and with
   * MailOutcomeUnknownError when it cannot be known (timeout, reset mid-request).
   */
  send(email: OutgoingEmail, options: CallOptions): Promise<{ messageId: string | null }>;
}

export interface OrderStore {
  /** Runs planClaim in a transaction and counts the delivery in the event ledger. */
  claim(request: ClaimRequest): Promise<ClaimPlan>;
  /**
   * In a transaction: re-reads the order, checks `claimId` still holds it (and, with
   * requireLiveLease, that the lease has at least minRemainingMs left), then writes
   * what `change` returns. Throws ClaimLostError otherwise.
   */
  updateClaimed(
    sessionId: string,
    claimId: string,
    change: (order: OrderRecord, now: Date) => OrderRecord,
    options: ClaimCheck,
  ): Promise<OrderRecord>;
  /** Orders whose top-level `field` equals `value` (how after-sale events find their order). */
  findBy(
    field: "payment_intent_id" | "subscription_id" | "invoice_id" | "customer_id" | "customer_email_hash",
    value: string,
    limit?: number,
  ): Promise<OrderRecord[]>;
  /**
   * Erases the customer's details in place (DESIGN 5c), in a transaction: status, fences
   * and ids stay. Undefined when there is no such order.
   */
  redact(sessionId: string, by: string): Promise<RedactedOrder | undefined>;
  /** Counts a delivery of an event that claims no order (ignored types). */
  recordEvent(eventId: string, eventType: string, outcome: string): Promise<void>;
  get(sessionId: string): Promise<OrderRecord | undefined>;
  list(options: { status?: OrderStatus; undelivered?: boolean; limit: number }): Promise<OrderRecord[]>;
  /** A raw read-modify-write transaction, for operator tools. */
  transact<T>(
    sessionId: string,
    fn: (order: OrderRecord | undefined, now: Date) => { next?: OrderRecord; result: T },
  ): Promise<T>;
}
