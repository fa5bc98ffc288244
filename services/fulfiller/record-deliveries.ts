import { errorMessage } from "../common/errors.js";
import { serializeError } from "../common/http.js";
import type { Logger } from "../common/logger.js";
import type { Deadline } from "./deadline.js";
import {
  applyDeliveryEvents,
  isUndelivered,
  ofMessage,
  parseDeliveryEvents,
  type DeliveryEvent,
  type DeliveryState,
} from "./delivery-state.js";
import type { OrderStore } from "./ports.js";
import { resendInFlight } from "./resend-undelivered.js";

export interface DeliveryOutcome {
  ack: boolean;
  result: "delivery_recorded" | "transient_failure" | "dead_letter";
  reason?: string;
}

/**
 * A `sendgrid.events` message: a batch of SendGrid delivery events. Each order it
 * names gets one short transaction that records the latest state on `email.delivery`
 * (or `stop_notice.delivery`); no claim lease, since no email is sent. An order that
 * does not exist is logged and ignored. Any failed write answers 503: the batch comes
 * again, and what was recorded already is counted once.
 *
 * SendGrid can report on an email before its sender has recorded the email's message id.
 * For the first send that is harmless (no id yet: nothing is filtered out), but while an
 * operator's resend is in flight the order still holds the old message's id, and the new
 * message's events would be dropped as an earlier send's. So such a batch answers 503
 * and comes again once the resend has recorded its id (`deadlineMs`: the handler deadline
 * the resend runs under, which bounds how long it can hold the order).
 */
export async function recordDeliveries(
  data: Buffer,
  deps: { store: OrderStore; deadline: Deadline; log: Logger; deadlineMs: number },
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
        deps.store.transact<{
          found: boolean;
          became: DeliveryState | null;
          noticeBecame?: DeliveryState | null;
          awaitingResend?: true;
        }>(orderId, (order, now) => {
          if (!order) return { result: { found: false, became: null } };
          if (
            resendInFlight(order, now, deps.deadlineMs) &&
            orderEvents.some((e) => e.kind === "order" && !ofMessage(e, order.email.message_id))
          )
            return { result: { found: true, became: null, awaitingResend: true } };
          let next = order;
          let became: DeliveryState | null = null;
          let noticeBecame: DeliveryState | null = null;
          for (const kind of ["order", "stop_notice"] as const) {
            const mine = orderEvents.filter((e) => e.kind === kind);
            if (!mine.length) continue;
            if (kind === "order") {
              const applied = applyDeliveryEvents(order.email.delivery, mine, order.email.message_id);
              next = { ...next, email: { ...next.email, delivery: applied.next } };
              became = applied.became;
            } else if (order.stop_notice) {
              const applied = applyDeliveryEvents(
                order.stop_notice.delivery,
                mine,
                order.stop_notice.message_id,
              );
              next = { ...next, stop_notice: { ...order.stop_notice, delivery: applied.next } };
              noticeBecame = applied.became;
            }
          }
          return { next, result: { found: true, became, noticeBecame } };
        }),
      );
      if (outcome.awaitingResend) {
        awaitingResend += 1;
        log.info(
          { event_count: orderEvents.length },
          "delivery events for a message the order does not name yet, while a resend is in flight; Pub/Sub will redeliver",
        );
        continue;
      }
      if (!outcome.found) {
        unknownOrders += 1;
        log.warn(
          { event_count: orderEvents.length },
          "delivery events for an order that does not exist; ignored",
        );
        continue;
      }
      recorded += orderEvents.length;
      if (isUndelivered(outcome.became)) {
        const last = orderEvents.filter((e) => e.kind === "order").at(-1);
        log.error(
          { alert: "email_undelivered", delivery_state: outcome.became, reason: last?.reason ?? null },
          "the order email was not delivered; fix the address or suppression, then `orders resend SESSION_ID --undelivered`",
        );
      } else if (outcome.became) {
        log.info({ delivery_state: outcome.became }, "order email delivery recorded");
      }
      if (isUndelivered(outcome.noticeBecame ?? null)) {
        const last = orderEvents.filter((e) => e.kind === "stop_notice").at(-1);
        log.error(
          {
            alert: "email_undelivered",
            email_kind: "stop_notice",
            delivery_state: outcome.noticeBecame,
            reason: last?.reason ?? null,
          },
          "the STOP SHIPMENT notice was not delivered: the warehouse may ship a refunded or disputed order; tell it another way now",
        );
      }
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
      reason: `${awaitingResend} order(s) have a resend in flight whose message id is not recorded yet`,
    };
  return { ack: true, result: "delivery_recorded" };
}
