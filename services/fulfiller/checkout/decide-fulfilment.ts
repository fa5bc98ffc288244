import type { CheckoutTrigger } from "../classify-event.js";
import type { PaymentCheck } from "../claims/order-state.js";
import { productIdOf, type CheckoutSession, type CustomField, type LineItem } from "../session.js";

export type PaymentDecision =
  | { action: "fulfil" }
  | { action: "record"; status: "awaiting_payment" | "payment_failed" | "skipped"; reason: string };

/** The reason an order waiting for its trial to convert is recorded with (section 5a). */
export const TRIAL_REASON = "trial";

/** A subscription that started on a trial: nothing was paid at checkout. */
export function isTrialSession(session: CheckoutSession): boolean {
  return session.mode === "subscription" && session.payment_status === "no_payment_required";
}

/**
 * Stripe's fulfilment guide: decide from the session as re-fetched, not the event.
 * Fulfil when the session is complete and paid, or complete with nothing to pay in a
 * mode other than setup. A subscription starting on a trial ships at once only with
 * FULFIL_TRIALS; otherwise it waits (`awaiting_payment`, reason `trial`) for its first
 * paid invoice (`trialPaid`).
 */
export function decidePayment(
  session: CheckoutSession,
  trigger: CheckoutTrigger,
  options: { fulfilTrials: boolean; trialPaid?: boolean },
): PaymentDecision {
  if (session.mode === "setup") {
    return { action: "record", status: "skipped", reason: "setup-mode session: nothing was bought" };
  }
  if (trigger === "async_payment_failed" && session.payment_status !== "paid") {
    return { action: "record", status: "payment_failed", reason: "the delayed payment failed" };
  }
  if (session.status !== "complete") {
    return {
      action: "record",
      status: "awaiting_payment",
      reason: `session status is ${session.status ?? "null"}`,
    };
  }
  if (session.payment_status === "paid") return { action: "fulfil" };
  if (session.payment_status === "no_payment_required") {
    if (session.mode === "subscription" && !options.fulfilTrials && !options.trialPaid) {
      return { action: "record", status: "awaiting_payment", reason: TRIAL_REASON };
    }
    return { action: "fulfil" };
  }
  return {
    action: "record",
    status: "awaiting_payment",
    reason: "payment not yet settled (delayed payment method)",
  };
}

export type ShippingDecision = { ships: true; reason: string } | { ships: false; reason: string };

const YES = new Set(["yes", "true", "y", "1", "on"]);

/** The value a customer entered in a Checkout custom field, whatever its type. */
export function customFieldValue(field: CustomField): string | null {
  switch (field.type) {
    case "dropdown":
      return field.dropdown?.value ?? null;
    case "numeric":
      return field.numeric?.value ?? null;
    case "text":
      return field.text?.value ?? null;
    default:
      return null;
  }
}

/**
 * Whether the order needs shipping: a line item's product is one of the shipped
 * products, or the opt-in custom field says yes. With neither configured, every
 * fulfilled order ships.
 */
export function decideShipping(
  session: CheckoutSession,
  lineItems: readonly LineItem[],
  options: { productIds: readonly string[]; optInField?: string | undefined },
): ShippingDecision {
  const configured = options.productIds.length > 0 || !!options.optInField;
  if (!configured) return { ships: true, reason: "every paid order ships (no product filter configured)" };
  if (options.productIds.length > 0) {
    const wanted = new Set(options.productIds);
    const match = lineItems.find((item) => {
      const id = productIdOf(item);
      return id !== null && wanted.has(id);
    });
    if (match) return { ships: true, reason: `line item for product ${productIdOf(match)}` };
  }
  if (options.optInField) {
    const field = (session.custom_fields ?? []).find((f) => f.key === options.optInField);
    const value = field ? customFieldValue(field) : null;
    if (value !== null && YES.has(value.trim().toLowerCase())) {
      return { ships: true, reason: `customer opted in through custom field ${options.optInField}` };
    }
  }
  const why = [
    options.productIds.length > 0 ? "no line item is a shipped product" : null,
    options.optInField ? `custom field ${options.optInField} is not yes` : null,
  ].filter(Boolean);
  return { ships: false, reason: why.join(" and ") };
}

export type PaymentVerdict = { ships: true; refunded: number } | { ships: false; reason: string };

/**
 * The payment as re-read right before the order email (section 5a): nothing ships once
 * the money has gone back. Fully refunded or disputed cancels; a partial refund ships,
 * and the email says how much. No payment to check (nothing was charged) ships.
 */
export function judgePayment(check: PaymentCheck | null): PaymentVerdict {
  if (!check) return { ships: true, refunded: 0 };
  if (check.disputed)
    return { ships: false, reason: `the payment is disputed (charge ${check.charge_id ?? "?"})` };
  if (check.refunded || (check.amount > 0 && check.amount_refunded >= check.amount))
    return { ships: false, reason: `the payment was refunded in full (charge ${check.charge_id ?? "?"})` };
  return { ships: true, refunded: Math.max(0, check.amount_refunded) };
}
