/**
 * The order state machine, as pure functions over plain records. The Firestore
 * adapter runs these inside transactions; tests run them directly.
 *
 *   (none) ──claim──▶ processing ──▶ fulfilled | skipped | payment_failed | cancelled | needs_review   (final)
 *                          │  └────▶ awaiting_payment | failed   (claimable again)
 *                          └─ lease expires or released ─▶ claimable again
 *
 * A claim is a random `claim_id` and a lease. Every later write of the attempt
 * first checks it still holds the claim; a lost claim stops the attempt.
 *
 * After the order email, a refund or dispute sends one stop-shipment notice under a
 * claim of its own on `stop_notice` (the order keeps its status): see after-sale-state.ts.
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

/** The order's record of the `kind` email (an empty one where there is none yet). */
export function emailRecordOf(order: OrderRecord, kind: EmailKind): ClaimedEmailRecord {
  if (kind === "order") return order.email;
  const record = kind === "stop_notice" ? order.stop_notice : order.email.resend;
  return record ?? { state: "none" };
}

/** The order with its `kind` email record changed. */
export function withEmailRecord(
  order: OrderRecord,
  kind: EmailKind,
  change: (record: ClaimedEmailRecord) => ClaimedEmailRecord,
  now: Date,
): OrderRecord {
  const next = change(emailRecordOf(order, kind));
  if (kind === "order")
    return { ...order, email: { ...order.email, ...next, state: next.state as EmailState }, updated_at: now };
  if (kind === "stop_notice") return { ...order, stop_notice: next, updated_at: now };
  return { ...order, email: { ...order.email, resend: next }, updated_at: now };
}

/** A send of the `kind` email started and recorded no outcome. */
export function isInDoubt(order: OrderRecord, kind: EmailKind): boolean {
  const state = emailRecordOf(order, kind).state;
  return state === "sending" || state === "unknown";
}

/**
 * Which email of a needs_review order is in doubt: an operator's resend, the
 * stop-shipment notice, or (otherwise) the order email.
 */
export function emailInDoubt(order: OrderRecord): EmailKind {
  if (isInDoubt(order, "resend")) return "resend";
  if (isInDoubt(order, "stop_notice") || order.after_sale?.notice === "needs_review") return "stop_notice";
  return "order";
}

/**
 * Whether a live attempt holds the `kind` email's claim (and will record its own outcome):
 * the order's own claim for the order email, the record's claim for the others.
 */
export function heldLive(order: OrderRecord, kind: EmailKind, now: Date): boolean {
  if (kind === "order")
    return order.status === "processing" && (order.lease_expires_at?.getTime() ?? 0) > now.getTime();
  const record = emailRecordOf(order, kind);
  return !!record.claim_id && (record.lease_expires_at?.getTime() ?? 0) > now.getTime();
}

/**
 * An order an attempt left `processing` whose lease is over, with no delivery to come
 * for it (an operator's command that failed or was killed part-way): claimable, and
 * operator commands take it as they take the status it came from.
 */
export function isStranded(order: OrderRecord, now: Date): boolean {
  return order.status === "processing" && !heldLive(order, "order", now);
}

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

export const HISTORY_LIMIT = 20;
const EVENT_IDS_LIMIT = 50;

export function isFinal(status: OrderStatus): boolean {
  return FINAL_STATUSES.has(status);
}

export interface ClaimRequest {
  sessionId: string;
  eventId: string;
  eventType: string;
  claimId: string;
  now: Date;
  leaseMs: number;
}

export type ClaimPlan =
  | { outcome: "claimed"; order: OrderRecord }
  | { outcome: "duplicate"; order: OrderRecord }
  | { outcome: "busy"; order: OrderRecord }
  /** A crashed attempt left `email.state = sending`: the send's outcome is unknown. */
  | { outcome: "needs_review"; order: OrderRecord };

/** The order's history with `entry` added, the oldest dropped past HISTORY_LIMIT. */
export function withHistory(order: OrderRecord, entry: HistoryEntry): HistoryEntry[] {
  return [...order.history, entry].slice(-HISTORY_LIMIT);
}

function withEvent(ids: readonly string[], eventId: string): string[] {
  return ids.includes(eventId) ? [...ids] : [...ids, eventId].slice(-EVENT_IDS_LIMIT);
}

/** Decide what a delivery does to the order (run inside the claim transaction). */
export function planClaim(existing: OrderRecord | undefined, request: ClaimRequest): ClaimPlan {
  const { now } = request;
  if (!existing) {
    return {
      outcome: "claimed",
      order: {
        session_id: request.sessionId,
        status: "processing",
        reason: null,
        claim_id: request.claimId,
        lease_expires_at: new Date(now.getTime() + request.leaseMs),
        attempts: 1,
        event_ids: [request.eventId],
        last_event_type: request.eventType,
        email: { state: "none" },
        history: [{ at: now, status: "processing", reason: "claimed", event_id: request.eventId }],
        created_at: now,
        updated_at: now,
        details: null,
        subscription_marker: null,
      },
    };
  }
  const seen = { ...existing, event_ids: withEvent(existing.event_ids, request.eventId) };
  if (isFinal(existing.status)) return { outcome: "duplicate", order: seen };
  const leaseLive =
    existing.status === "processing" &&
    existing.lease_expires_at !== null &&
    existing.lease_expires_at.getTime() > now.getTime();
  if (leaseLive) return { outcome: "busy", order: seen };
  if (existing.email.state === "sending" && existing.email.delivery?.events) {
    // SendGrid reported on this very send while its attempt held the order (events are
    // recorded only when they name the email's attempt or message id): it went out.
    const reason = "SendGrid's events prove the order email was sent";
    return {
      outcome: "duplicate",
      order: {
        ...seen,
        status: "fulfilled",
        reason,
        claim_id: null,
        lease_expires_at: null,
        email: {
          ...existing.email,
          state: "sent",
          sent_at: existing.email.delivery.at,
          message_id:
            existing.email.message_id ?? existing.email.delivery.sg_message_id?.split(".")[0] ?? null,
          by: "sendgrid:event",
        },
        updated_at: now,
        history: withHistory(existing, { at: now, status: "fulfilled", reason, event_id: request.eventId }),
      },
    };
  }
  if (existing.email.state === "sending") {
    const reason = "an earlier attempt started sending the email and never recorded the outcome";
    return {
      outcome: "needs_review",
      order: {
        ...seen,
        status: "needs_review",
        reason,
        claim_id: null,
        lease_expires_at: null,
        updated_at: now,
        history: withHistory(existing, {
          at: now,
          status: "needs_review",
          reason,
          event_id: request.eventId,
        }),
      },
    };
  }
  return {
    outcome: "claimed",
    order: {
      ...seen,
      status: "processing",
      claim_id: request.claimId,
      lease_expires_at: new Date(now.getTime() + request.leaseMs),
      attempts: existing.attempts + 1,
      last_event_type: request.eventType,
      updated_at: now,
      history: withHistory(existing, {
        at: now,
        status: "processing",
        reason: `claimed (was ${existing.status})`,
        event_id: request.eventId,
      }),
    },
  };
}

/**
 * What a claim-checked write requires. `kind`: which claim, the order's own (`processing`
 * + `claim_id`, for the order email) or the claim on the stop notice's or the resend's record.
 */
export interface ClaimCheck {
  requireLiveLease: boolean;
  minRemainingMs?: number;
  kind?: EmailKind;
}

export class ClaimLostError extends Error {
  constructor(sessionId: string, why: string) {
    super(`claim on order ${sessionId} lost: ${why}`);
  }
}

/**
 * Throws ClaimLostError unless `claimId` still holds the order. With
 * `requireLiveLease`, the lease must also not have expired (another attempt may
 * claim an expired lease at any moment).
 */
export function assertClaimHeld(
  order: OrderRecord | undefined,
  claimId: string,
  now: Date,
  options: ClaimCheck,
): asserts order is OrderRecord {
  if (!order) throw new ClaimLostError("(unknown)", "order does not exist");
  const kind = options.kind ?? "order";
  if (kind !== "order") {
    const record = emailRecordOf(order, kind);
    const what = kind === "stop_notice" ? "stop notice" : "resend";
    if (record.claim_id !== claimId)
      throw new ClaimLostError(order.session_id, `${what} held by ${record.claim_id ?? "nobody"}`);
    if (options.requireLiveLease) {
      const remaining = (record.lease_expires_at?.getTime() ?? 0) - now.getTime();
      if (remaining <= (options.minRemainingMs ?? 0))
        throw new ClaimLostError(order.session_id, `${what} lease has ${remaining} ms left`);
    }
    return;
  }
  if (order.status !== "processing" || order.claim_id !== claimId) {
    throw new ClaimLostError(
      order.session_id,
      `held by ${order.claim_id ?? "nobody"} in status ${order.status}`,
    );
  }
  if (options.requireLiveLease) {
    const remaining = (order.lease_expires_at?.getTime() ?? 0) - now.getTime();
    if (remaining <= (options.minRemainingMs ?? 0)) {
      throw new ClaimLostError(order.session_id, `lease has ${remaining} ms left`);
    }
  }
}

/** The record after an attempt ends the order in `status` (final or claimable). */
export function concludeOrder(
  order: OrderRecord,
  change: {
    status: Exclude<OrderStatus, "processing">;
    reason: string | null;
    now: Date;
    eventId?: string | null;
  },
): OrderRecord {
  return {
    ...order,
    status: change.status,
    reason: change.reason,
    claim_id: null,
    lease_expires_at: null,
    updated_at: change.now,
    history: withHistory(order, {
      at: change.now,
      status: change.status,
      reason: change.reason,
      event_id: change.eventId ?? null,
    }),
  };
}

/** Transient failure: give the order back for Pub/Sub's redelivery, as it was before the claim. */
export function releaseOrder(order: OrderRecord, now: Date, reason: string): OrderRecord {
  return {
    ...order,
    reason,
    claim_id: null,
    lease_expires_at: now, // expired: claimable at once
    updated_at: now,
    history: withHistory(order, { at: now, status: "processing", reason: `released: ${reason}` }),
  };
}
