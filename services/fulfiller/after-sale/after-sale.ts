/**
 * `charge.refunded` and `charge.dispute.created` (section 5a): re-read the charge, find
 * the order it paid for, and if that order was already emailed send one STOP SHIPMENT
 * notice under the notice's own claim. Payments that are not our orders are ignored.
 */
import { PermanentError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { serializeError } from "../../common/http.js";
import { planStopNotice, type NoticePlan, type SaleChange } from "./after-sale-state.js";
import { composeStopNotice } from "../email/compose-stop-notice.js";
import { sendUnderClaim } from "../claims/email-fence.js";
import { syncDispatchToStripe } from "../delivery/record-dispatch.js";
import type { Deadline } from "../claims/deadline.js";
import type { OrderRecord } from "../claims/order-state.js";
import {
  newAttempt,
  transientFailure,
  type Attempt,
  type OrderWork,
  type PushOutcome,
} from "../claims/order-work.js";
import type { CallOptions, OrderStore, StripeCatalog } from "../ports.js";
import type { PushMessage } from "../push/push-envelope.js";
import type { ChargeState } from "../session.js";

export interface ChargeEvent {
  message: PushMessage;
  eventId: string;
  eventType: string;
  /** Null for a thin dispute event, which names only the dispute. */
  chargeId: string | null;
  disputeId: string | null;
  deadline: Deadline;
  log: Logger;
}

/** Stripe does not know the object (a 404): nothing of ours to act on. */
function isNotFound(err: unknown): boolean {
  return err instanceof PermanentError && err.code === "stripe_404";
}

function saleOf(charge: ChargeState, event: ChargeEvent): SaleChange | null {
  const kind = afterSaleKind(charge);
  if (!kind) return null;
  return {
    kind,
    eventId: event.eventId,
    chargeId: charge.id,
    paymentIntentId: charge.payment_intent_id,
    disputeId: event.disputeId,
    currency: charge.currency,
    amount: charge.amount,
    amountRefunded: charge.amount_refunded,
  };
}

/**
 * The order a payment belongs to: first what the orders record (`payment_intent_id`,
 * and a subscription's paid `invoice_id`), then Stripe: the Checkout Session that
 * created the PaymentIntent, or the subscription whose first invoice it paid.
 * `run` bounds each call (the attempt's deadline, or the CLI's timeout).
 */
export async function findOrderForPayment(
  deps: { store: OrderStore; stripe: StripeCatalog },
  paymentIntentId: string,
  run: <T>(what: string, call: (o: CallOptions) => Promise<T>) => Promise<T>,
): Promise<OrderRecord | null> {
  const { store, stripe } = deps;
  const byIntent = await run("finding the order by payment", () =>
    store.findBy("payment_intent_id", paymentIntentId),
  );
  if (byIntent[0]) return byIntent[0];
  const sessionId = await run("finding the session of the payment", (o) =>
    stripe.findSessionForPayment(paymentIntentId, o),
  );
  if (sessionId) return (await run("reading the order", () => store.get(sessionId))) ?? null;
  const invoice = await run("finding the invoice of the payment", (o) =>
    stripe.findInvoiceForPayment(paymentIntentId, o),
  );
  if (!invoice) return null;
  const byInvoice = await run("finding the order by invoice", () =>
    store.findBy("invoice_id", invoice.invoiceId),
  );
  if (byInvoice[0]) return byInvoice[0];
  if (!invoice.subscriptionId) return null;
  // An order recorded before invoice ids were: only the subscription's first invoice is the order's payment.
  const subscriptionId = invoice.subscriptionId;
  const created = await run("finding the session of the subscription", (o) =>
    stripe.findSessionForSubscription(subscriptionId, o),
  );
  if (!created || created.invoiceId !== invoice.invoiceId) return null;
  return (await run("reading the order", () => store.get(created.sessionId))) ?? null;
}

/** What a charge's state now says happened after the sale, or null (neither refunded nor disputed). */
export function afterSaleKind(charge: ChargeState): SaleChange["kind"] | null {
  return charge.disputed
    ? "disputed"
    : charge.refunded
      ? "refunded"
      : charge.amount_refunded > 0
        ? "partially_refunded"
        : null;
}

/**
 * A refund or dispute, then for a dispute of an order already dispatched its evidence,
 * filled once from the dispatch (DESIGN 5b); a failure there is transient, and the
 * redelivery finds the notice done and fills only the evidence.
 */
export async function handleChargeEvent(work: OrderWork, event: ChargeEvent): Promise<PushOutcome> {
  const outcome = await handleSaleChange(work, event);
  if (!event.disputeId || !outcome.ack || !outcome.sessionId) return outcome;
  try {
    await syncDispatchToStripe(work, outcome.sessionId, event.deadline, event.log);
  } catch (err) {
    event.log.warn(
      { err: serializeError(err), session_id: outcome.sessionId },
      "could not fill the dispute's evidence from the dispatch; Pub/Sub will redeliver",
    );
    return transientFailure((err as Error).message, outcome.sessionId);
  }
  return outcome;
}

async function handleSaleChange(work: OrderWork, event: ChargeEvent): Promise<PushOutcome> {
  const ignore = (reason: string, sessionId?: string): PushOutcome => {
    event.log.info(
      { event_id: event.eventId, event_type: event.eventType, reason, session_id: sessionId },
      "event ignored",
    );
    return { ack: true, result: "ignored", reason, ...(sessionId ? { sessionId } : {}) };
  };
  let order: OrderRecord | null;
  let sale: SaleChange | null;
  let chargeId = event.chargeId;
  try {
    if (!chargeId && event.disputeId) {
      const disputeId = event.disputeId;
      chargeId = await event.deadline.run("reading the dispute", (o) =>
        work.stripe.getDisputedCharge(disputeId, o),
      );
    }
    if (!chargeId) return ignore(`dispute ${event.disputeId ?? "?"} names no charge`);
    const known = chargeId;
    const charge = await event.deadline.run("reading the charge", (o) => work.stripe.getCharge(known, o));
    sale = saleOf(charge, event);
    if (!sale) return ignore(`charge ${charge.id} is neither refunded nor disputed now`);
    if (!charge.payment_intent_id)
      return ignore(`charge ${charge.id} has no PaymentIntent: not a Checkout payment`);
    order = await findOrderForPayment(work, charge.payment_intent_id, (what, call) =>
      event.deadline.run(what, call),
    );
  } catch (err) {
    if (isNotFound(err)) {
      event.log.warn(
        { err: serializeError(err), event_id: event.eventId },
        "Stripe does not know this charge or dispute; acknowledging",
      );
      return { ack: true, result: "ignored", reason: (err as Error).message };
    }
    if (err instanceof PermanentError)
      return work.deadLetter({
        message: event.message,
        reason: err.message,
        log: event.log,
        deadline: event.deadline,
      });
    event.log.warn(
      { err: serializeError(err), event_id: event.eventId },
      "could not look up the order; Pub/Sub will redeliver",
    );
    return transientFailure((err as Error).message);
  }
  if (!order) return ignore(`the payment of charge ${chargeId} is not one of our orders`);

  const attempt = newAttempt(work, {
    message: event.message,
    eventId: event.eventId,
    eventType: event.eventType,
    sessionId: order.session_id,
    kind: "stop_notice",
    deadline: event.deadline,
    log: event.log.child({ session_id: order.session_id, event_id: event.eventId }),
  });
  let plan: NoticePlan;
  try {
    if (work.draining && order.email.state === "sent")
      throw new Error("shutting down: not claiming new work");
    plan = await event.deadline.record("claiming the stop notice", () =>
      work.store.transact<NoticePlan>(attempt.sessionId, (current, now) => {
        if (!current) return { result: { outcome: "busy", why: "the order vanished" } };
        const result = planStopNotice(current, {
          sale,
          claimId: attempt.claimId,
          now,
          leaseMs: work.settings.leaseMs,
        });
        return { next: result.outcome === "busy" ? undefined : result.order, result };
      }),
    );
  } catch (err) {
    attempt.log.warn({ err: serializeError(err) }, "could not claim the stop notice; Pub/Sub will redeliver");
    return transientFailure((err as Error).message, attempt.sessionId);
  }
  switch (plan.outcome) {
    case "busy":
      return { ack: false, result: "busy", sessionId: attempt.sessionId, reason: plan.why };
    case "recorded":
      attempt.log.info(
        { outcome: "after_sale_recorded", after_sale: sale.kind, reason: plan.why },
        "after-sale change recorded",
      );
      return { ack: true, result: "after_sale_recorded", sessionId: attempt.sessionId, reason: plan.why };
    case "needs_review":
      attempt.log.error(
        { alert: "needs_review", reason: plan.why, email_kind: "stop_notice" },
        "order needs review: a stop-shipment notice may or may not have been sent; resolve with `orders resolve`",
      );
      return { ack: true, result: "needs_review", sessionId: attempt.sessionId, reason: plan.why };
    case "claimed":
      attempt.leaseExpiresAt = plan.order.stop_notice?.lease_expires_at?.getTime() ?? 0;
  }
  try {
    return await sendStopNotice(work, attempt, plan.order, "automatic");
  } catch (err) {
    return work.handleFailure(attempt, err);
  }
}

/** Sends the notice for an order whose `stop_notice` claim the attempt holds. */
export function sendStopNotice(
  work: OrderWork,
  attempt: Attempt,
  order: OrderRecord,
  by: string,
): Promise<PushOutcome> {
  const email = composeStopNotice(order, order.after_sale!);
  return sendUnderClaim(work, attempt, email, { by, reason: "stop-shipment notice" });
}
