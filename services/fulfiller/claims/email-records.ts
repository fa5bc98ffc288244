/**
 * The email fence's record transitions, as pure functions: the record a new attempt
 * claims, and what a stop notice or a resend that went out makes of the order. The fence
 * (email-fence.ts) applies them after SendGrid's answer; `orders resolve --sent` applies
 * the same ones when an operator settles a doubt, so there is one way to record a send.
 */
import { withHistory, type ClaimedEmailRecord, type OrderRecord } from "./order-state.js";

/**
 * The record of an email a new attempt claims (the stop notice's or the resend's own
 * claim): nothing sent yet, the previous attempt's error kept for the operator.
 */
export function claimedRecord(
  record: ClaimedEmailRecord | null | undefined,
  claim: { claimId: string; now: Date; leaseMs: number },
): ClaimedEmailRecord {
  return {
    ...(record ?? {}),
    state: "none",
    error: record?.error ? `previous attempt: ${record.error}` : null,
    claim_id: claim.claimId,
    lease_expires_at: new Date(claim.now.getTime() + claim.leaseMs),
  };
}

/** The stop notice went out: the notice's claim ends, the order keeps its status. */
export function noticeSent(
  order: OrderRecord,
  notice: ClaimedEmailRecord,
  now: Date,
  eventId: string | null,
): OrderRecord {
  return {
    ...order,
    stop_notice: { ...notice, claim_id: null, lease_expires_at: null },
    after_sale: order.after_sale ? { ...order.after_sale, notice: "sent" } : null,
    updated_at: now,
    history: withHistory(order, {
      at: now,
      status: order.status,
      reason: "stop-shipment notice sent",
      event_id: eventId,
    }),
  };
}

/**
 * The resend went out: it is now the order email (its message id and attempt are the ones
 * delivery events must name, and its delivery starts afresh); the resend's claim ends.
 */
export function resendSent(
  order: OrderRecord,
  resend: ClaimedEmailRecord,
  attemptId: string,
  by: string,
  now: Date,
): OrderRecord {
  const after = order.email.delivery?.state ?? "?";
  return {
    ...order,
    email: {
      ...order.email,
      message_id: resend.message_id ?? null,
      attempt_id: attemptId,
      sent_at: resend.sent_at ?? now,
      resent_at: now,
      resent_by: by,
      delivery: null,
      resend: { ...resend, claim_id: null, lease_expires_at: null },
    },
    updated_at: now,
    history: withHistory(order, {
      at: now,
      status: order.status,
      reason: `email resent by ${by} after ${after}`,
      event_id: null,
    }),
  };
}
