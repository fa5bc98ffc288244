/**
 * A refund or dispute after the sale (section 5a), as a pure decision over the order
 * record, run inside a transaction. An order already emailed gets one stop-shipment
 * notice, under a claim of its own on `stop_notice` (the order keeps its status); an
 * order not emailed yet only records it (the re-check before its email cancels it).
 */
import { heldLive, withHistory, type AfterSale, type OrderRecord } from "../claims/order-state.js";

export interface SaleChange {
  kind: AfterSale["kind"];
  eventId: string;
  chargeId: string;
  paymentIntentId: string | null;
  disputeId: string | null;
  currency: string | null;
  amount: number;
  amountRefunded: number;
}

export interface NoticeRequest {
  sale: SaleChange;
  claimId: string;
  now: Date;
  leaseMs: number;
}

export type NoticePlan =
  /** Claimed: send the notice. */
  | { outcome: "claimed"; order: OrderRecord }
  /** Written down, nothing to send (partial refund, not emailed yet, or the notice already went). */
  | { outcome: "recorded"; order: OrderRecord; why: string }
  /** The order email or the notice is being sent right now: retry later. */
  | { outcome: "busy"; why: string }
  /** A notice attempt crashed between `sending` and `sent`: an operator decides. */
  | { outcome: "needs_review"; order: OrderRecord; why: string };

const RANK: Record<AfterSale["kind"], number> = { partially_refunded: 0, refunded: 1, disputed: 2 };

function afterSale(order: OrderRecord, sale: SaleChange, now: Date, notice: AfterSale["notice"]): AfterSale {
  const previous = order.after_sale;
  // The stronger of what was seen (a dispute after a refund stays a dispute).
  const kind = previous && RANK[previous.kind] > RANK[sale.kind] ? previous.kind : sale.kind;
  return {
    kind,
    at: now,
    event_id: sale.eventId,
    charge_id: sale.chargeId,
    payment_intent_id: sale.paymentIntentId,
    dispute_id: sale.disputeId ?? previous?.dispute_id ?? null,
    currency: sale.currency,
    amount: sale.amount,
    amount_refunded: sale.amountRefunded,
    notice,
  };
}

function noted(
  order: OrderRecord,
  sale: SaleChange,
  now: Date,
  notice: AfterSale["notice"],
  why: string,
): OrderRecord {
  const seen = order.after_sale?.event_id === sale.eventId;
  return {
    ...order,
    after_sale: afterSale(order, sale, now, notice),
    updated_at: now,
    history: seen
      ? order.history
      : withHistory(order, { at: now, status: order.status, reason: why, event_id: sale.eventId }),
  };
}

export function planStopNotice(order: OrderRecord, request: NoticeRequest): NoticePlan {
  const { sale, now } = request;
  const what =
    sale.kind === "disputed"
      ? "payment disputed"
      : sale.kind === "refunded"
        ? "refunded in full"
        : "partly refunded";
  if (heldLive(order, "order", now)) return { outcome: "busy", why: "an attempt holds the order" };

  const notice = order.stop_notice;
  if (order.email.state !== "sent") {
    // Not emailed (or its outcome unknown): the re-check before any email cancels a full refund or dispute.
    const pending = sale.kind === "partially_refunded" ? "not_needed" : "not_emailed_yet";
    return {
      outcome: "recorded",
      order: noted(order, sale, now, pending, `after sale: ${what} before the order email`),
      why: `${what}; the order email has not gone out (${order.status})`,
    };
  }
  if (notice?.state === "sent")
    return {
      outcome: "recorded",
      order: noted(order, sale, now, "sent", `after sale: ${what}; stop notice already sent`),
      why: "the stop-shipment notice was already sent",
    };
  if (sale.kind === "partially_refunded" && order.after_sale?.notice !== "owed")
    return {
      outcome: "recorded",
      order: noted(order, sale, now, "not_needed", `after sale: ${what}, no notice`),
      why: "a partial refund after the email is recorded, with no notice",
    };
  if (order.status === "needs_review")
    return {
      outcome: "recorded",
      order: noted(
        order,
        sale,
        now,
        notice?.state === "sending" ? "needs_review" : "owed",
        `after sale: ${what} while in review`,
      ),
      why: "the order is in review; `orders resolve` settles it",
    };
  if (heldLive(order, "stop_notice", now))
    return { outcome: "busy", why: "another attempt is sending the stop notice" };
  if (notice?.state === "sending") {
    const reason =
      "stop-shipment notice: an earlier attempt started sending it and never recorded the outcome";
    return {
      outcome: "needs_review",
      order: {
        ...noted(order, sale, now, "needs_review", reason),
        status: "needs_review",
        reason,
        stop_notice: { ...notice, claim_id: null, lease_expires_at: null },
        history: withHistory(order, { at: now, status: "needs_review", reason, event_id: sale.eventId }),
      },
      why: reason,
    };
  }
  return {
    outcome: "claimed",
    order: {
      ...noted(order, sale, now, "owed", `after sale: ${what}; sending a stop-shipment notice`),
      stop_notice: {
        ...(notice ?? {}),
        state: notice?.state ?? "none",
        claim_id: request.claimId,
        lease_expires_at: new Date(now.getTime() + request.leaseMs),
      },
    },
  };
}
