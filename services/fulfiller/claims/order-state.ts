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
 *
 * The record's shape is order-record.ts, re-exported here: callers import one module.
 */
import type {
  ClaimedEmailRecord,
  EmailKind,
  EmailState,
  HistoryEntry,
  OrderRecord,
  OrderStatus,
} from "./order-record.js";
import { FINAL_STATUSES } from "./order-record.js";

export * from "./order-record.js";

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
