/**
 * The warehouse closes the loop (DESIGN 5b): a `dispatch.confirmed` message from the
 * receiver's dispatch form is recorded on the order, written to the order's PaymentIntent
 * in Stripe (one write per number, by idempotency key), and, when the order's payment is
 * disputed, put into the dispute's evidence once, never submitted.
 *
 * The same number again changes nothing; a different number is a correction, and the old
 * one is kept. A redelivery after a Stripe write failed does only what is still owed.
 */
import { createHash } from "node:crypto";
import type { DispatchConfirmed } from "../../common/event.js";
import type { Logger } from "../../common/logger.js";
import { serializeError } from "../../common/http.js";
import { PermanentError } from "../../common/errors.js";
import type { Deadline } from "../claims/deadline.js";
import type { DispatchRecord, OrderRecord } from "../claims/order-state.js";
import { transientFailure, type OrderWork, type PushOutcome } from "../claims/order-work.js";
import type { DisputeEvidence, OrderStore, Shipment } from "../ports.js";
import type { PushMessage } from "../push/push-envelope.js";
import { formatPostalAddress } from "../email/postal-address.js";

/** The message as the receiver writes it, or why not (a dead letter: no retry can fix it). */
export function parseDispatch(data: Buffer): DispatchConfirmed | string {
  let value: unknown;
  try {
    value = JSON.parse(data.toString("utf8"));
  } catch {
    return "dispatch.confirmed data is not JSON";
  }
  const v = value as Partial<DispatchConfirmed> & { type?: unknown };
  const text = (x: unknown, max: number) => typeof x === "string" && x.length > 0 && x.length <= max;
  if (
    v?.type !== "dispatch.confirmed" ||
    !text(v.id, 80) ||
    !text(v.session_id, 200) ||
    !v.session_id!.startsWith("cs_") ||
    !text(v.carrier, 60) ||
    !text(v.tracking_number, 60) ||
    !(v.tracking_url === null || text(v.tracking_url, 500)) ||
    !text(v.confirmed_at, 40) ||
    Number.isNaN(Date.parse(v.confirmed_at!))
  )
    return "dispatch.confirmed data lacks id, session_id, carrier, tracking_number or confirmed_at";
  return v as DispatchConfirmed;
}

/** The idempotency key of the PaymentIntent write: the order and the number, nothing else. */
export function shipmentKey(sessionId: string, trackingNumber: string): string {
  const digest = createHash("sha256").update(`${sessionId}\n${trackingNumber}`).digest("hex").slice(0, 32);
  return `dispatch-${digest}`;
}

type Plan = { kind: "unknown" } | { kind: "same" | "recorded" | "corrected"; order: OrderRecord };

/** The order with the confirmation applied (pure): same number, first number, or a correction. */
export function applyDispatch(order: OrderRecord, msg: DispatchConfirmed, now: Date): Plan {
  const current = order.dispatch;
  const confirmation = {
    carrier: msg.carrier,
    tracking_number: msg.tracking_number,
    tracking_url: msg.tracking_url,
    at: new Date(msg.confirmed_at),
    message_id: msg.id,
  };
  if (current && current.tracking_number === msg.tracking_number && current.carrier === msg.carrier)
    return { kind: "same", order };
  const { corrections: _earlier, stripe: _s, evidence: _e, ...previous } = current ?? ({} as DispatchRecord);
  const dispatch: DispatchRecord = {
    ...confirmation,
    corrections: current ? [...current.corrections, previous] : [],
    stripe: current?.stripe ?? null,
    evidence: current?.evidence ?? null,
  };
  return {
    kind: current ? "corrected" : "recorded",
    order: {
      ...order,
      dispatch,
      history: [
        ...order.history,
        {
          at: now,
          status: order.status,
          event_id: msg.id,
          reason: `${current ? "dispatch corrected" : "dispatched"}: ${msg.carrier} ${msg.tracking_number}`,
        },
      ],
      updated_at: now,
    },
  };
}

/** The shipping address in Stripe's shape, or null where the order has no street line. */
function shipmentOf(order: OrderRecord, d: DispatchRecord): Shipment | null {
  const shipping = order.details?.shipping;
  const a = shipping?.address;
  if (!shipping?.name || !a?.line1) return null;
  return {
    name: shipping.name,
    address: {
      line1: a.line1,
      line2: a.line2 ?? null,
      city: a.city ?? null,
      postal_code: a.postal_code ?? null,
      state: a.state ?? null,
      country: a.country ?? null,
    },
    carrier: d.carrier,
    trackingNumber: d.tracking_number,
  };
}

/** The evidence a dispatch gives a "product not received" dispute (DESIGN 5b). */
export function evidenceOf(order: OrderRecord, d: DispatchRecord): DisputeEvidence {
  const details = order.details;
  const address = details?.shipping?.address
    ? formatPostalAddress(details.shipping.address).join(", ")
    : null;
  const items = details?.line_items?.map(
    (i) => `${i.quantity} x ${i.description ?? i.product_name ?? i.name ?? "item"}`,
  );
  return {
    shipping_carrier: d.carrier,
    shipping_tracking_number: d.tracking_number,
    shipping_date: d.at.toISOString().slice(0, 10),
    shipping_address: address,
    customer_name: details?.customer.name ?? details?.shipping?.name ?? null,
    customer_email_address: details?.customer.email ?? null,
    product_description: items?.length ? items.join("; ").slice(0, 1000) : null,
  };
}

/**
 * What the dispatch still owes Stripe: the PaymentIntent's shipping for the current
 * number, and a disputed order's evidence once. Each done is recorded under a
 * transaction, so a redelivery does only the rest.
 */
export async function syncDispatchToStripe(
  work: OrderWork,
  sessionId: string,
  deadline: Deadline,
  log: Logger,
): Promise<void> {
  const order = await deadline.record("reading the order", () => work.store.get(sessionId));
  const d = order?.dispatch;
  if (!order || !d) return;
  if (order.payment_intent_id && d.stripe?.tracking_number !== d.tracking_number) {
    const shipment = shipmentOf(order, d);
    if (!shipment)
      log.warn(
        { session_id: sessionId },
        "dispatch recorded; not written to Stripe: the order has no street address",
      );
    else {
      const intent = order.payment_intent_id;
      await deadline.run("writing the shipment to Stripe", (o) =>
        work.stripe.recordShipment(intent, shipment, shipmentKey(sessionId, d.tracking_number), o),
      );
      await mark(work, sessionId, deadline, (rec, now) => ({
        ...rec,
        stripe: { tracking_number: d.tracking_number, at: now },
      }));
    }
  }
  const dispute = order.after_sale?.kind === "disputed" ? order.after_sale.dispute_id : null;
  if (dispute && d.evidence?.dispute_id !== dispute) {
    await deadline.run("filling the dispute's evidence", (o) =>
      work.stripe.fillDisputeEvidence(dispute, evidenceOf(order, d), `evidence-${dispute}`, o),
    );
    await mark(work, sessionId, deadline, (rec, now) => ({
      ...rec,
      evidence: { dispute_id: dispute, at: now },
    }));
    log.info(
      { session_id: sessionId, dispute_id: dispute, outcome: "evidence_filled" },
      "dispute evidence filled from the dispatch (not submitted: review and submit it in the Dashboard before due_by)",
    );
  }
}

async function mark(
  work: OrderWork,
  sessionId: string,
  deadline: Deadline,
  change: (d: DispatchRecord, now: Date) => DispatchRecord,
): Promise<void> {
  await deadline.record("recording the Stripe write", () =>
    work.store.transact(sessionId, (order, now) =>
      order?.dispatch
        ? { next: { ...order, dispatch: change(order.dispatch, now), updated_at: now }, result: undefined }
        : { result: undefined },
    ),
  );
}

export async function recordDispatch(
  work: OrderWork,
  message: PushMessage,
  deadline: Deadline,
  log: Logger,
): Promise<PushOutcome> {
  const parsed = parseDispatch(message.data);
  if (typeof parsed === "string") return work.deadLetter({ message, reason: parsed, log, deadline });
  const sessionId = parsed.session_id;
  const olog = log.child({ session_id: sessionId, event_id: parsed.id });
  let plan: Plan;
  try {
    plan = await deadline.record("recording the dispatch", () =>
      work.store.transact<Plan>(sessionId, (order, now) => {
        if (!order) return { result: { kind: "unknown" } };
        const p = applyDispatch(order, parsed, now);
        return { next: p.kind === "same" || p.kind === "unknown" ? undefined : p.order, result: p };
      }),
    );
  } catch (err) {
    olog.warn({ err: serializeError(err) }, "could not record the dispatch; Pub/Sub will redeliver");
    return transientFailure((err as Error).message, sessionId);
  }
  if (plan.kind === "unknown") {
    olog.warn({ outcome: "ignored" }, "dispatch for an order this pipeline does not know: acknowledged");
    return { ack: true, result: "ignored", reason: "no such order", sessionId };
  }
  if (plan.kind !== "same") {
    olog.info(
      { outcome: plan.kind === "recorded" ? "dispatched" : "dispatch_corrected", carrier: parsed.carrier },
      plan.kind === "recorded" ? "dispatch recorded" : "dispatch corrected: a new tracking number",
    );
    if (plan.order.stop_notice?.state === "sent")
      olog.error(
        {
          alert: "shipped_after_stop",
          reason: "the warehouse confirmed a dispatch after the STOP SHIPMENT notice",
        },
        "dispatched after a stop-shipment notice: recall the parcel (orders show SESSION_ID has the carrier and number)",
      );
  }
  try {
    await syncDispatchToStripe(work, sessionId, deadline, olog);
  } catch (err) {
    if (err instanceof PermanentError) {
      // Stripe refused the write itself (the order's payment is gone, a bad address):
      // the dispatch stays recorded, and the operator is told.
      olog.error(
        { err: serializeError(err), alert: "dispatch_not_in_stripe" },
        "dispatch recorded, but Stripe refused the shipment write",
      );
      return { ack: true, result: "dispatched", reason: err.message, sessionId };
    }
    olog.warn(
      { err: serializeError(err) },
      "dispatch recorded; the Stripe write failed and Pub/Sub will redeliver",
    );
    return transientFailure((err as Error).message, sessionId);
  }
  return {
    ack: true,
    result: plan.kind === "same" ? "duplicate" : "dispatched",
    sessionId,
  };
}

/**
 * An order the warehouse should have confirmed by now (DESIGN 5b): emailed (fulfilled)
 * before `cutoff`, no dispatch recorded, and not stopped (a STOP SHIPMENT notice went).
 */
export function isUndispatched(order: OrderRecord, cutoff: Date): boolean {
  const sentAt = order.email.sent_at ?? null;
  return (
    order.status === "fulfilled" &&
    order.email.state === "sent" &&
    !order.dispatch &&
    order.stop_notice?.state !== "sent" &&
    sentAt !== null &&
    sentAt.getTime() <= cutoff.getTime()
  );
}

/**
 * The scheduled reconcile's reminder (DESIGN 5b): one `alert: dispatch_overdue` line per
 * order emailed more than `slaHours` ago that the warehouse has not confirmed. Returns
 * their ids.
 */
export async function remindOverdueDispatch(
  store: Pick<OrderStore, "list">,
  log: Logger,
  now: Date,
  slaHours: number,
  limit = 2000,
): Promise<string[]> {
  const cutoff = new Date(now.getTime() - slaHours * 3_600_000);
  const overdue = (await store.list({ status: "fulfilled", limit })).filter((o) => isUndispatched(o, cutoff));
  for (const order of overdue)
    log.error(
      {
        alert: "dispatch_overdue",
        session_id: order.session_id,
        emailed_at: order.email.sent_at?.toISOString() ?? null,
        sla_hours: slaHours,
      },
      "no dispatch confirmed for this order within DISPATCH_SLA_HOURS: ask the warehouse (orders list --undispatched)",
    );
  return overdue.map((o) => o.session_id);
}
