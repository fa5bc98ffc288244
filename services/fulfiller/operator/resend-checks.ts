/**
 * What `orders resend --undelivered` (and `orders resolve --resend` for a resend in doubt)
 * checks before it sends: that the order may be resent at all (`claimResend`, inside the
 * claim's transaction), the details to send (`freshDetails`, after an erasure), and the
 * payment as Stripe has it now (`recheckPayment`).
 */
import { claimedRecord } from "../claims/email-records.js";
import { judgePayment } from "../checkout/decide-fulfilment.js";
import { buildOrderDetails } from "../checkout/order-details.js";
import { isUndelivered } from "../delivery/delivery-state.js";
import { emailInDoubt, heldLive, type OrderDetails, type OrderRecord } from "../claims/order-state.js";
import { releaseAttempt, type Attempt, type OrderWork } from "../claims/order-work.js";
import { history, ResendRefusedError } from "./review.js";

/**
 * The order with `email.resend` claimed, or a refusal with the reason: not fulfilled (or
 * not in review for a resend), not bounced or dropped, refunded or disputed, a stop notice
 * that went out or may have, a resend in progress or in doubt, no details to send.
 */
export function claimResend(
  order: OrderRecord | undefined,
  c: { sessionId: string; claimId: string; now: Date; leaseMs: number; inReview: boolean },
): OrderRecord {
  if (!order) throw new ResendRefusedError(`no order ${c.sessionId}`);
  const fromReview = c.inReview && order.status === "needs_review" && emailInDoubt(order) === "resend";
  if (order.status !== "fulfilled" && !fromReview)
    throw new ResendRefusedError(`order ${c.sessionId} is ${order.status}; only fulfilled orders are resent`);
  const state = order.email.delivery?.state;
  if (!isUndelivered(state))
    throw new ResendRefusedError(
      `the order email's delivery state is ${state ?? "not known yet"}; only a bounce or a drop is resent`,
    );
  const sale = order.after_sale;
  if (sale?.kind === "refunded" || sale?.kind === "disputed")
    throw new ResendRefusedError(
      `order ${c.sessionId} was ${sale.kind} on ${sale.at.toISOString()}: it must not ship, so its email is not resent`,
    );
  const notice = order.stop_notice?.state;
  if (notice === "sent" || notice === "sending" || notice === "unknown")
    throw new ResendRefusedError(
      `order ${c.sessionId}'s STOP SHIPMENT notice ${notice === "sent" ? "went out" : "may have gone out"}: its email is not resent`,
    );
  const resend = order.email.resend;
  if (heldLive(order, "resend", c.now))
    throw new ResendRefusedError(`a resend of ${c.sessionId} is in progress`);
  if (!fromReview && (resend?.state === "sending" || resend?.state === "unknown"))
    throw new ResendRefusedError(
      `an earlier resend of ${c.sessionId} may have gone out (it recorded no outcome): check SendGrid's activity, then \`orders resolve ${c.sessionId} --sent\` or \`--resend\``,
    );
  if (!order.details) throw new ResendRefusedError(`order ${c.sessionId} has no recorded details to send`);
  const reason = fromReview ? "operator resend of the resent email in review" : order.reason;
  const next: OrderRecord = {
    ...order,
    status: "fulfilled",
    reason,
    email: {
      ...order.email,
      resend: claimedRecord(resend, { claimId: c.claimId, now: c.now, leaseMs: c.leaseMs }),
    },
    updated_at: c.now,
    ...(fromReview ? { history: history(order, c.now, "fulfilled", reason ?? "operator resend") } : {}),
  };
  return next;
}

/**
 * The details to send, read from Stripe again: the order has none recorded, or they were
 * erased (DESIGN 5c). Erased ones are used for this email only, never stored again; if
 * Stripe has erased them too, the resend is refused with the reason.
 */
export async function freshDetails(
  work: OrderWork,
  attempt: Attempt,
  sessionId: string,
  order: OrderRecord,
): Promise<OrderDetails> {
  const read = await work.read(attempt, "reading the checkout", (o) => work.stripe.getCheckout(sessionId, o));
  const details = buildOrderDetails(read.session, read.lineItems);
  if (order.redacted_at && !details.customer.email && !details.shipping?.address) {
    const reason = `the customer's details were erased on ${order.redacted_at.toISOString().slice(0, 10)} and Stripe no longer has them: there is nothing to send`;
    await work.update(attempt, (o, now) => releaseAttempt(attempt, o, now, `resend refused: ${reason}`), {
      requireLiveLease: false,
    });
    throw new ResendRefusedError(`order ${sessionId} is not resent: ${reason}`);
  }
  return details;
}

/** The payment behind the order as Stripe has it now, and whether the order may still ship. */
export async function recheckPayment(
  work: OrderWork,
  attempt: Attempt,
  order: OrderRecord,
  details: OrderDetails,
) {
  const paymentIntentId = order.payment_intent_id ?? details.payment_intent_id;
  const ref =
    order.invoice_id && !order.payment_intent_id
      ? { invoiceId: order.invoice_id }
      : paymentIntentId
        ? { paymentIntentId }
        : null;
  const check = ref
    ? await work.read(attempt, "re-checking the payment", (o) => work.stripe.getPayment(ref, o))
    : null;
  return { check, verdict: judgePayment(check) };
}
