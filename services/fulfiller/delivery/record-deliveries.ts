import { errorMessage } from "../../common/errors.js";
import { serializeError } from "../../common/http.js";
import type { Logger } from "../../common/logger.js";
import type { Deadline } from "../claims/deadline.js";
import {
  applyDeliveryEvents,
  isUndelivered,
  messageIdOf,
  ofEmail,
  parseDeliveryEvents,
  type DeliveryEvent,
  type DeliveryState,
} from "./delivery-state.js";
import { noticeSent, resendSent } from "../claims/email-records.js";
import {
  concludeOrder,
  emailInDoubt,
  emailRecordOf,
  heldLive,
  isInDoubt,
  type ClaimedEmailRecord,
  type EmailKind,
  type OrderRecord,
} from "../claims/order-state.js";
import type { OrderStore } from "../ports.js";

export interface DeliveryOutcome {
  ack: boolean;
  result: "delivery_recorded" | "transient_failure" | "dead_letter";
  reason?: string;
}

/** What one order's share of a batch does to it (pure: run inside its transaction). */
export interface BatchOnOrder {
  next: OrderRecord;
  /** The state the order email's delivery moved to, and the stop notice's. */
  became: DeliveryState | null;
  noticeBecame: DeliveryState | null;
  /** Emails whose unknown outcome SendGrid's events proved: now `sent` by "sendgrid:event". */
  settled: EmailKind[];
  /** Events of a resend in flight that has not recorded its send yet: come again later. */
  awaitingResend: boolean;
}

/**
 * The events of one order: each counts only on the email whose message id or sending
 * attempt it names (an event naming only the order is someone else's email). An event of
 * an attempt whose outcome is unknown proves SendGrid took that email: it becomes `sent`
 * (`by: "sendgrid:event"`, with the message id from `sg_message_id`), and an order in
 * review for it is fulfilled with no operator.
 */
export function applyBatchToOrder(
  order: OrderRecord,
  events: readonly DeliveryEvent[],
  now: Date,
): BatchOnOrder {
  let next = order;
  const settled: EmailKind[] = [];
  const resend = order.email.resend;
  const ofAttempt = (record: ClaimedEmailRecord) =>
    record.attempt_id ? events.filter((e) => e.attemptId === record.attempt_id) : [];

  // A resend in flight records its message id when SendGrid answers; events that come
  // before would be lost when it does (its delivery starts afresh): 503, come again.
  if (resend && isInDoubt(order, "resend") && ofAttempt(resend).length) {
    if (heldLive(order, "resend", now))
      return { next: order, became: null, noticeBecame: null, settled, awaitingResend: true };
    next = resendSent(next, provenSent(resend, ofAttempt(resend)), resend.attempt_id!, "sendgrid:event", now);
    settled.push("resend");
  }
  for (const kind of ["order", "stop_notice"] as const) {
    const record = emailRecordOf(next, kind);
    if (!isInDoubt(next, kind) || heldLive(next, kind, now) || !ofAttempt(record).length) continue;
    const proven = provenSent(record, ofAttempt(record));
    next =
      kind === "order"
        ? { ...next, email: { ...next.email, ...proven, state: "sent" }, updated_at: now }
        : noticeSent(next, proven, now, null);
    settled.push(kind);
  }
  if (settled.length && (order.status === "needs_review" || order.status === "processing")) {
    const inReviewFor = order.status === "needs_review" ? emailInDoubt(order) : "order";
    const owed = order.after_sale?.notice === "owed" && inReviewFor === "order";
    if (settled.includes(inReviewFor) && !owed)
      next = concludeOrder(next, {
        status: "fulfilled",
        reason: `SendGrid's events prove the ${KIND_LABEL[inReviewFor]} was sent`,
        now,
      });
  }

  const applied = applyDeliveryEvents(next.email.delivery, events, next.email);
  next = { ...next, email: { ...next.email, delivery: applied.next } };
  let noticeBecame: DeliveryState | null = null;
  if (next.stop_notice) {
    const notice = applyDeliveryEvents(next.stop_notice.delivery, events, next.stop_notice);
    next = { ...next, stop_notice: { ...next.stop_notice, delivery: notice.next } };
    noticeBecame = notice.became;
  }
  return { next, became: applied.became, noticeBecame, settled, awaitingResend: false };
}

const KIND_LABEL: Record<EmailKind, string> = {
  order: "order email",
  stop_notice: "stop-shipment notice",
  resend: "resent email",
};

/** The delivery records whose undelivered alert has been logged. */
function markAlerted(order: OrderRecord, records: readonly ("email" | "stop_notice")[]): OrderRecord {
  let next = order;
  if (records.includes("email") && next.email.delivery)
    next = { ...next, email: { ...next.email, delivery: { ...next.email.delivery, alerted: true } } };
  if (records.includes("stop_notice") && next.stop_notice?.delivery)
    next = {
      ...next,
      stop_notice: { ...next.stop_notice, delivery: { ...next.stop_notice.delivery, alerted: true } },
    };
  return next;
}

/** The record of a send SendGrid's events prove: sent when it first reported on it. */
function provenSent(record: ClaimedEmailRecord, events: readonly DeliveryEvent[]): ClaimedEmailRecord {
  const first = [...events].sort((a, b) => a.at.getTime() - b.at.getTime())[0]!;
  return {
    ...record,
    state: "sent",
    sent_at: first.at,
    message_id: record.message_id ?? messageIdOf(first),
    by: "sendgrid:event",
    error: null,
    claim_id: null,
    lease_expires_at: null,
  };
}

/**
 * A `sendgrid.events` message: a batch of SendGrid delivery events. Each order it
 * names gets one short transaction (applyBatchToOrder); no claim lease, since no email is
 * sent. An order that does not exist is logged and ignored. Any failed write answers 503:
 * the batch comes again, and what was recorded already is counted once.
 */
export async function recordDeliveries(
  data: Buffer,
  deps: { store: OrderStore; deadline: Deadline; log: Logger },
): Promise<DeliveryOutcome> {
  let batch: unknown;
  try {
    batch = JSON.parse(data.toString("utf8"));
  } catch {
    return { ack: true, result: "dead_letter", reason: "sendgrid.events data is not JSON" };
  }
  if (!Array.isArray(batch) || !batch.every((e) => typeof e === "object" && e !== null))
    return { ack: true, result: "dead_letter", reason: "sendgrid.events data is not an array of events" };
  const { events, ignored } = parseDeliveryEvents(batch as Record<string, unknown>[]);
  const byOrder = new Map<string, DeliveryEvent[]>();
  for (const e of events) byOrder.set(e.orderId, [...(byOrder.get(e.orderId) ?? []), e]);

  let recorded = 0;
  let unknownOrders = 0;
  let awaitingResend = 0;
  for (const [orderId, orderEvents] of byOrder) {
    const log = deps.log.child({ session_id: orderId });
    try {
      const outcome = await deps.deadline.run("recording delivery events", () =>
        deps.store.transact<BatchOnOrder | null>(orderId, (order, now) => {
          if (!order) return { result: null };
          const applied = applyBatchToOrder(order, orderEvents, now);
          return { next: applied.awaitingResend ? undefined : applied.next, result: applied };
        }),
      );
      if (!outcome) {
        unknownOrders += 1;
        log.warn(
          { event_count: orderEvents.length },
          "delivery events for an order that does not exist; ignored",
        );
        continue;
      }
      if (outcome.awaitingResend) {
        awaitingResend += 1;
        log.info(
          { event_count: orderEvents.length },
          "delivery events of a resend in flight that has not recorded its send yet; Pub/Sub will redeliver",
        );
        continue;
      }
      recorded += orderEvents.length;
      for (const kind of outcome.settled)
        log.warn(
          { outcome: "settled_by_sendgrid", email_kind: kind, status: outcome.next.status },
          `SendGrid's events name the attempt that sent the ${KIND_LABEL[kind]}: its unknown outcome is settled as sent`,
        );
      if (outcome.became && !isUndelivered(outcome.became))
        log.info({ delivery_state: outcome.became }, "order email delivery recorded");
      // An undelivered email is alerted until the alert is on record: logged, then marked.
      // If the mark is lost (a crash, a lost answer), the redelivery alerts again: at least once.
      const alerted: ("email" | "stop_notice")[] = [];
      for (const record of ["email", "stop_notice"] as const) {
        const delivery =
          record === "email" ? outcome.next.email.delivery : outcome.next.stop_notice?.delivery;
        if (!delivery || !isUndelivered(delivery.state) || delivery.alerted) continue;
        const last = orderEvents
          .filter((e) =>
            ofEmail(e, (record === "email" ? outcome.next.email : outcome.next.stop_notice) ?? {}),
          )
          .at(-1);
        log.error(
          {
            alert: "email_undelivered",
            email_kind: record === "email" ? "order" : "stop_notice",
            delivery_state: delivery.state,
            reason: last?.reason ?? delivery.reason,
          },
          record === "email"
            ? "the order email was not delivered; fix the address or suppression, then `orders resend SESSION_ID --undelivered`"
            : "the STOP SHIPMENT notice was not delivered: the warehouse may ship a refunded or disputed order; tell it another way now",
        );
        alerted.push(record);
      }
      if (alerted.length)
        await deps.deadline.run("recording the undelivered alert", () =>
          deps.store.transact(orderId, (order) => ({
            next: order ? markAlerted(order, alerted) : undefined,
            result: undefined,
          })),
        );
    } catch (err) {
      deps.log.warn({ err: serializeError(err) }, "could not record delivery events; Pub/Sub will redeliver");
      return { ack: false, result: "transient_failure", reason: errorMessage(err) };
    }
  }
  deps.log.info(
    {
      event_count: batch.length,
      recorded,
      ignored,
      unknown_orders: unknownOrders,
      awaiting_resend: awaitingResend,
    },
    "delivery events processed",
  );
  if (awaitingResend > 0)
    return {
      ack: false,
      result: "transient_failure",
      reason: `${awaitingResend} order(s) have a resend in flight that has not recorded its send yet`,
    };
  return { ack: true, result: "delivery_recorded" };
}
