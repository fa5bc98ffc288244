/**
 * The shape of an order's record in Firestore: its statuses, its email records (one per
 * kind of email), its history, and what it knows of the payment, the dispatch, the
 * after-sale and the order's details. Types and vocabulary only; the state machine that
 * moves a record is order-state.ts.
 */
import type { DeliveryRecord } from "../delivery/delivery-state.js";

export const ORDER_STATUSES = [
  "processing",
  "fulfilled",
  "skipped",
  "awaiting_payment",
  "payment_failed",
  "cancelled",
  "failed",
  "needs_review",
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set([
  "fulfilled",
  "skipped",
  "payment_failed",
  "cancelled",
  "needs_review",
]);

/** What `orders retry` may decide again (section 6): never an order whose email went out. */
export const RETRYABLE_STATUSES: ReadonlySet<OrderStatus> = new Set([
  "skipped",
  "failed",
  "payment_failed",
  "cancelled",
  "awaiting_payment",
]);

export type EmailState = "none" | "sending" | "sent" | "not_sent";

/**
 * The kinds of email the product sends, each through the one fence (email-fence.ts):
 * the order email (under the order's own claim), the stop-shipment notice and the
 * operator's resend after a bounce (each under a claim on its own record).
 */
export const EMAIL_KINDS = ["order", "stop_notice", "resend"] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

export interface EmailRecord {
  state: EmailState;
  /** What SendGrid's Event Webhook says became of it (section 5a). */
  delivery?: DeliveryRecord | null;
  /** Operator resends after a bounce or drop (`orders resend --undelivered`). */
  resend?: ClaimedEmailRecord | null;
  /** The claim of the attempt that sent it, also in its SendGrid custom_args. */
  attempt_id?: string | null;
  resent_at?: Date | null;
  resent_by?: string | null;
  started_at?: Date | null;
  sent_at?: Date | null;
  message_id?: string | null;
  error?: string | null;
  /** Who moved it to sent: "automatic", "operator:resend", "operator:confirmed". */
  by?: string | null;
}

export interface HistoryEntry {
  at: Date;
  status: OrderStatus;
  reason: string | null;
  event_id?: string | null;
}

export interface OrderRecord {
  session_id: string;
  status: OrderStatus;
  reason: string | null;
  claim_id: string | null;
  lease_expires_at: Date | null;
  attempts: number;
  event_ids: string[];
  last_event_type: string | null;
  email: EmailRecord;
  history: HistoryEntry[];
  created_at: Date;
  updated_at: Date;
  /** Filled once the session has been read. */
  details?: OrderDetails | null;
  subscription_marker?: { state: "set" | "failed" | "already_set"; error?: string | null; at: Date } | null;
  /** The stop-shipment notice after a refund or dispute (section 5a), under a claim of its own. */
  stop_notice?: StopNoticeRecord | null;
  /** How the order's payment is found again after the sale (queried by the after-sale events). */
  payment_intent_id?: string | null;
  subscription_id?: string | null;
  /** The invoice whose payment the order shipped on (a subscription's first paid invoice). */
  invoice_id?: string | null;
  /** The payment as re-read right before the order email. */
  payment?: PaymentCheck | null;
  /** A refund or dispute after the sale, the latest seen. */
  after_sale?: AfterSale | null;
  /** The Stripe customer the session belongs to (customer.deleted redacts their orders). */
  customer_id?: string | null;
  /** Where the customer's details are (DESIGN 5c): "separate" in orders/{id}/private/customer, or erased. */
  pii?: "separate" | "redacted" | null;
  /** HMAC of the customer's email (ORDER_EMAIL_HASH_KEY), for `orders redact --email`; no reversible address. */
  customer_email_hash?: string | null;
  redacted_at?: Date | null;
  redacted_by?: string | null;
  /** What the warehouse confirmed through the email's dispatch link (DESIGN 5b). */
  dispatch?: DispatchRecord | null;
  /** A subscription that started on a trial with FULFIL_TRIALS=false: waits for its first paid invoice. */
  trial_conversion?: {
    state: "awaiting" | "converted" | "cancelled";
    invoice_id?: string | null;
    at: Date;
  } | null;
}

/** An email with a claim of its own (the order keeps its status while it is sent). */
export interface ClaimedEmailRecord extends Omit<EmailRecord, "state"> {
  /** "unknown": a resend recorded before the one fence, whose outcome is in doubt. */
  state: EmailState | "unknown";
  /** The attempt that holds it, and until when. */
  claim_id?: string | null;
  lease_expires_at?: Date | null;
}

export type StopNoticeRecord = ClaimedEmailRecord;

/** The payment behind the session, as Stripe reports it now. */
export interface PaymentCheck {
  payment_intent_id: string | null;
  charge_id: string | null;
  currency: string | null;
  amount: number;
  amount_refunded: number;
  /** Refunded in full. */
  refunded: boolean;
  disputed: boolean;
  checked_at?: Date | null;
}

/** One confirmation of a dispatch: the carrier, the number, where to follow it. */
export interface DispatchConfirmation {
  carrier: string;
  tracking_number: string;
  tracking_url: string | null;
  at: Date;
  /** The `dsp_…` id of the warehouse's submission. */
  message_id: string;
}

export interface DispatchRecord extends DispatchConfirmation {
  /** Earlier numbers, oldest first: each later one was a correction. */
  corrections: DispatchConfirmation[];
  /** The number written to the order's PaymentIntent (`shipping.tracking_number`), and when. */
  stripe?: { tracking_number: string; at: Date } | null;
  /** A dispute's evidence filled from it (never submitted: the merchant reviews and submits). */
  evidence?: { dispute_id: string; at: Date } | null;
}

export interface AfterSale {
  kind: "refunded" | "partially_refunded" | "disputed";
  at: Date;
  event_id: string | null;
  charge_id: string | null;
  payment_intent_id: string | null;
  dispute_id?: string | null;
  currency: string | null;
  amount: number;
  amount_refunded: number;
  /** Whether a stop-shipment notice is owed, and what became of it. */
  notice: "not_needed" | "not_emailed_yet" | "owed" | "sent" | "needs_review";
}

/**
 * What the order email shows. Fields marked optional were added later: orders
 * recorded before them lack them, and the email does without.
 */
export interface OrderDetails {
  mode: string;
  livemode: boolean;
  currency: string | null;
  /** When the customer completed checkout. */
  ordered_at?: Date | null;
  customer: { name: string | null; email: string | null; phone: string | null };
  shipping: {
    name: string | null;
    address: Record<string, string | null> | null;
    /** "billing": no shipping address was collected; this is the billing address. */
    source?: "shipping" | "billing";
  } | null;
  /** The shipping rate's display name, as the customer chose it at checkout. */
  shipping_method?: string | null;
  line_items: {
    /** What the customer saw at checkout. */
    description?: string;
    product_id: string | null;
    /** The catalogue name, when it differs from the description it is shown beside it. */
    product_name?: string | null;
    sku?: string | null;
    /** Older records: the product name. */
    name?: string;
    quantity: number;
    /** In the session's currency, derived from the line item's own amounts. */
    unit_amount: number | null;
    amount_total: number;
  }[];
  /** A subscription that started on a trial: nothing paid yet. */
  trial?: { ends_at: Date | null } | null;
  /** Refunded before the order shipped (partly: a full refund cancels it). */
  refunded?: number | null;
  totals: {
    subtotal: number | null;
    shipping: number | null;
    discount: number | null;
    tax: number | null;
    total: number | null;
  };
  subscription_id: string | null;
  payment_intent_id: string | null;
  custom_fields: { key: string; label: string; value: string | null }[];
}
