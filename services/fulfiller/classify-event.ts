import type { StripeEventEnvelope } from "../common/event.js";

export type CheckoutTrigger = "completed" | "async_payment_succeeded" | "async_payment_failed";

export type Classification =
  { kind: "checkout"; sessionId: string; trigger: CheckoutTrigger } | { kind: "ignore"; reason: string };

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
 * What the fulfiller does with an event. Only the three Checkout Session events
 * matter, and only for sessions of this account in this key's mode: a test event
 * reaching a live deployment (or the reverse) and Connect events (`account`) are
 * acknowledged and ignored, never dead-lettered. Renewals (`invoice.paid`) never ship.
 */
export function classifyEvent(event: StripeEventEnvelope, options: { liveKey: boolean }): Classification {
  const trigger = CHECKOUT_TRIGGERS[event.type];
  if (!trigger) {
    return {
      kind: "ignore",
      reason:
        event.type === "invoice.paid"
          ? "renewal invoices never re-ship"
          : `event type ${event.type} is not handled`,
    };
  }
  if (typeof event.account === "string" && event.account) {
    return { kind: "ignore", reason: `Connect event for account ${event.account}` };
  }
  if (event.livemode !== options.liveKey) {
    return {
      kind: "ignore",
      reason: `livemode ${event.livemode} event but the API key is ${options.liveKey ? "live" : "test"}`,
    };
  }
  const sessionId = event.data.object.id;
  if (typeof sessionId !== "string" || !sessionId.startsWith("cs_")) {
    return { kind: "ignore", reason: "event does not name a Checkout Session" };
  }
  return { kind: "checkout", sessionId, trigger };
}
