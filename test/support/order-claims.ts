import {
  concludeOrder,
  planClaim,
  type ClaimRequest,
  type OrderRecord,
} from "../../services/fulfiller/claims/order-state.js";
import type { NoticeRequest, SaleChange } from "../../services/fulfiller/after-sale/after-sale-state.js";

/** A fixed clock for the order state machine's tests. */
export const T0 = new Date("2026-11-27T12:00:00Z");
export const at = (ms: number) => new Date(T0.getTime() + ms);

export const request = (over: Partial<ClaimRequest> = {}): ClaimRequest => ({
  sessionId: "cs_test_1",
  eventId: "evt_1",
  eventType: "checkout.session.completed",
  claimId: "claim-a",
  now: T0,
  leaseMs: 60_000,
  ...over,
});

/** The order as the first delivery claims it. */
export function firstClaim(): OrderRecord {
  const plan = planClaim(undefined, request());
  if (plan.outcome !== "claimed") throw new Error("expected a claim");
  return plan.order;
}

/** A full refund of the order's charge, as the after-sale rules receive it. */
export const sale = (over: Partial<SaleChange> = {}): SaleChange => ({
  kind: "refunded",
  eventId: "evt_r1",
  chargeId: "ch_1",
  paymentIntentId: "pi_1",
  disputeId: null,
  currency: "eur",
  amount: 5000,
  amountRefunded: 5000,
  ...over,
});

/** The stop notice asked for two minutes after T0. */
export const noticeRequest = (over: Partial<NoticeRequest> = {}): NoticeRequest => ({
  sale: sale(),
  claimId: "notice-a",
  now: at(120_000),
  leaseMs: 60_000,
  ...over,
});

/** An order whose email went out. */
export function shipped(over: Partial<OrderRecord> = {}): OrderRecord {
  const order = concludeOrder(
    { ...firstClaim(), email: { state: "sent", sent_at: at(1000), message_id: "sg-1" } },
    { status: "fulfilled", reason: "line item", now: at(1000) },
  );
  return { ...order, ...over };
}
