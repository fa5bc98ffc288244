import { noticeOf, type EventNotice, type StripeWebhookEvent } from "../common/event.js";

/** Why a checkout is decided: one of its events, a trial's first paid invoice, or an operator's retry. */
export type CheckoutTrigger =
  "completed" | "async_payment_succeeded" | "async_payment_failed" | "trial_converted" | "retry";

export type Classification =
  | { kind: "checkout"; sessionId: string; trigger: CheckoutTrigger }
  /**
   * `charge.refunded` or `charge.dispute.created`: the charge, re-read, says what happened.
   * A thin dispute event names only the dispute (`chargeId` null): the dispute, re-read, names its charge.
   */
  | { kind: "charge"; chargeId: string | null; disputeId: string | null }
  /** `invoice.paid`: may convert a trial (section 5a); renewals never re-ship. */
  | { kind: "invoice_paid"; invoiceId: string }
  | { kind: "subscription_deleted"; subscriptionId: string }
  /** `customer.deleted`: the customer's orders have their personal details erased (DESIGN 5c). */
  | { kind: "customer_deleted"; customerId: string }
  | { kind: "ignore"; reason: string };

const CHECKOUT_TRIGGERS: Record<string, CheckoutTrigger> = {
  "checkout.session.completed": "completed",
  "checkout.session.async_payment_succeeded": "async_payment_succeeded",
  "checkout.session.async_payment_failed": "async_payment_failed",
};

/** Whether a Stripe secret or restricted key is a live-mode key. */
export function isLiveKey(apiKey: string): boolean {
  return apiKey.startsWith("sk_live_") || apiKey.startsWith("rk_live_");
}

/**
 * What the fulfiller does with an event of either payload style: the three Checkout
 * Session events, and after the sale refunds, disputes, paid invoices (trial
 * conversions) and cancelled subscriptions; only for objects of this account in this
 * key's mode: a test event reaching a live deployment (or the reverse) and Connect
 * events (`account`, or a thin event's `context`) are acknowledged and ignored, never
 * dead-lettered. A thin `v1.X` event is handled exactly as its snapshot twin `X`: what
 * the pipeline needs of either is the id of the object it names.
 */
export function classifyEvent(
  event: StripeWebhookEvent | EventNotice,
  options: { liveKey: boolean },
): Classification {
  const notice = "stripeType" in event ? event : noticeOf(event);
  if (notice.style === "thin" && !notice.stripeType.startsWith("v1."))
    return { kind: "ignore", reason: `event type ${notice.stripeType} is not handled` };
  const trigger = CHECKOUT_TRIGGERS[notice.type];
  const handled = trigger !== undefined || AFTER_SALE_TYPES.has(notice.type);
  if (!handled) return { kind: "ignore", reason: `event type ${notice.stripeType} is not handled` };
  if (notice.account) return { kind: "ignore", reason: `Connect event for account ${notice.account}` };
  if (notice.livemode !== options.liveKey) {
    return {
      kind: "ignore",
      reason: `livemode ${notice.livemode} event but the API key is ${options.liveKey ? "live" : "test"}`,
    };
  }
  const id = notice.objectId ?? "";
  switch (notice.type) {
    case "charge.refunded":
      return id.startsWith("ch_")
        ? { kind: "charge", chargeId: id, disputeId: null }
        : { kind: "ignore", reason: "event does not name a charge" };
    case "charge.dispute.created": {
      if (!notice.snapshot) {
        // Thin: related_object is the dispute; its charge is read from Stripe.
        return id.startsWith("du_") || id.startsWith("dp_")
          ? { kind: "charge", chargeId: null, disputeId: id }
          : { kind: "ignore", reason: "event does not name a dispute" };
      }
      const charge = typeof notice.snapshot.charge === "string" ? notice.snapshot.charge : "";
      return charge.startsWith("ch_")
        ? { kind: "charge", chargeId: charge, disputeId: id || null }
        : { kind: "ignore", reason: "dispute does not name a charge" };
    }
    case "invoice.paid":
      return id.startsWith("in_")
        ? { kind: "invoice_paid", invoiceId: id }
        : { kind: "ignore", reason: "event does not name an invoice" };
    case "customer.subscription.deleted":
      return id.startsWith("sub_")
        ? { kind: "subscription_deleted", subscriptionId: id }
        : { kind: "ignore", reason: "event does not name a subscription" };
    case "customer.deleted":
      return id.startsWith("cus_")
        ? { kind: "customer_deleted", customerId: id }
        : { kind: "ignore", reason: "event does not name a customer" };
  }
  const sessionId = id;
  if (!trigger || !sessionId.startsWith("cs_")) {
    return { kind: "ignore", reason: "event does not name a Checkout Session" };
  }
  return { kind: "checkout", sessionId, trigger };
}

/** The event types after checkout that the fulfiller acts on (section 5a). */
const AFTER_SALE_TYPES: ReadonlySet<string> = new Set([
  "charge.refunded",
  "charge.dispute.created",
  "invoice.paid",
  "customer.subscription.deleted",
  "customer.deleted",
]);

/** Every event type the pipeline needs from Stripe (the webhook endpoint's list, and `reconcile`'s). */
export function handledEventTypes(): string[] {
  return [...Object.keys(CHECKOUT_TRIGGERS), ...AFTER_SALE_TYPES];
}

/** The same types as a thin event destination names them (`v1.` + the snapshot name). */
export function handledThinEventTypes(): string[] {
  return handledEventTypes().map((type) => `v1.${type}`);
}
