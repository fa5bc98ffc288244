/**
 * Fulfilling a checkout: decide from Stripe's current state (the session, its line
 * items, its subscription, and right before the email the payment behind it), then
 * act on the decision under the order's claim. A delivery, a trial's first paid
 * invoice and an operator's `orders retry` all come through here.
 */
import type { CheckoutTrigger } from "../classify-event.js";
import { composeOrderEmail } from "../email/compose-email.js";
import {
  decidePayment,
  decideShipping,
  isTrialSession,
  judgePayment,
  TRIAL_REASON,
} from "./decide-fulfilment.js";
import { sendUnderClaim } from "../claims/email-fence.js";
import type { Deadline } from "../claims/deadline.js";
import { buildOrderDetails } from "./order-details.js";
import type { OrderDetails, OrderRecord, PaymentCheck } from "../claims/order-state.js";
import {
  SUBSCRIPTION_MARKER,
  type Attempt,
  type FulfilmentSettings,
  type OrderWork,
  type PushOutcome,
  type RecordStatus,
} from "../claims/order-work.js";
import type { PaymentRef, StripeCatalog } from "../ports.js";
import { idOf } from "../session.js";

/** How the order's payment is found again after the sale; recorded on the order. */
export interface OrderRefs {
  payment_intent_id: string | null;
  subscription_id: string | null;
  invoice_id: string | null;
  /** The Stripe customer (`customer.deleted` erases their orders' details, DESIGN 5c). */
  customer_id: string | null;
}

export type CheckoutDecision =
  | {
      action: "record";
      status: RecordStatus;
      reason: string;
      refs: OrderRefs;
      details?: OrderDetails;
      payment?: PaymentCheck | null;
      /** Waiting for a trial's first paid invoice. */
      awaitingTrial?: boolean;
    }
  | {
      action: "send";
      reason: string;
      refs: OrderRefs;
      details: OrderDetails;
      payment: PaymentCheck | null;
      /** The invoice that converted a trial, when that is why it ships. */
      conversionInvoiceId: string | null;
    };

export interface DecideContext {
  stripe: StripeCatalog;
  settings: Pick<FulfilmentSettings, "fulfilTrials" | "productIds" | "optInField">;
  deadline: Deadline;
}

/**
 * What to do with a checkout, from Stripe's current state alone (no writes: `orders
 * retry --dry-run` prints it). `paidInvoiceId`: the invoice that converts a trial.
 */
export async function decideCheckout(
  ctx: DecideContext,
  sessionId: string,
  trigger: CheckoutTrigger,
  paidInvoiceId: string | null = null,
): Promise<CheckoutDecision> {
  const { stripe, settings, deadline } = ctx;
  // One read: the session, its line items, its subscription and its payment (DESIGN 5).
  const read = await deadline.run("reading the checkout", (o) => stripe.getCheckout(sessionId, o));
  const session = read.session;
  const refs: OrderRefs = {
    payment_intent_id: idOf(session.payment_intent),
    subscription_id: idOf(session.subscription),
    invoice_id: idOf(session.invoice),
    customer_id: idOf(session.customer ?? null),
  };
  const waitsForTrial = isTrialSession(session) && !settings.fulfilTrials;
  let conversionInvoiceId = trigger === "trial_converted" && waitsForTrial ? paidInvoiceId : null;
  if (waitsForTrial && trigger === "retry" && refs.subscription_id) {
    // An operator's retry asks Stripe whether the trial has been paid for since.
    conversionInvoiceId = await paidLatestInvoice(ctx, refs.subscription_id);
  }
  const payment = decidePayment(session, trigger, {
    fulfilTrials: settings.fulfilTrials,
    trialPaid: conversionInvoiceId !== null,
  });
  if (payment.action === "record")
    return {
      action: "record",
      status: payment.status,
      reason: payment.reason,
      refs,
      awaitingTrial: payment.status === "awaiting_payment" && payment.reason === TRIAL_REASON,
    };

  const lineItems = read.lineItems;
  const shipping = decideShipping(session, lineItems, {
    productIds: settings.productIds,
    optInField: settings.optInField,
  });
  if (!shipping.ships)
    return {
      action: "record",
      status: "skipped",
      reason: shipping.reason,
      refs,
      details: buildOrderDetails(session, lineItems),
    };

  const subscription =
    read.subscription ??
    (refs.subscription_id
      ? await deadline.run("reading the subscription", (o) =>
          stripe.getSubscription(refs.subscription_id!, o),
        )
      : null);
  const details = buildOrderDetails(session, lineItems, subscription);
  if (subscription?.metadata?.[SUBSCRIPTION_MARKER] === "true")
    return {
      action: "record",
      status: "skipped",
      reason: `subscription metadata says ${SUBSCRIPTION_MARKER}`,
      refs,
      details,
    };

  // The payment behind the session, as Stripe has it now: read with the session
  // (milliseconds before the email), or with one more request where the expansion
  // depth stops short; a trial's conversion reads the invoice that converted it.
  const noPayment = session.payment_status === "no_payment_required";
  const paymentRef: PaymentRef | null = conversionInvoiceId
    ? { invoiceId: conversionInvoiceId }
    : noPayment || read.payment !== undefined
      ? null
      : read.paymentRef;
  const check = paymentRef
    ? await deadline.run("re-checking the payment", (o) => stripe.getPayment(paymentRef, o))
    : noPayment
      ? null
      : (read.payment ?? null);
  const paidRefs: OrderRefs = {
    ...refs,
    payment_intent_id: check?.payment_intent_id ?? refs.payment_intent_id,
    invoice_id: conversionInvoiceId ?? refs.invoice_id,
  };
  const verdict = judgePayment(check);
  if (!verdict.ships)
    return {
      action: "record",
      status: "cancelled",
      reason: verdict.reason,
      refs: paidRefs,
      details,
      payment: check,
    };
  return {
    action: "send",
    reason: conversionInvoiceId
      ? `${shipping.reason}; trial converted (invoice ${conversionInvoiceId} paid)`
      : shipping.reason,
    refs: paidRefs,
    details: {
      ...details,
      ...(conversionInvoiceId ? { trial: null } : {}),
      ...(verdict.refunded > 0 ? { refunded: verdict.refunded } : {}),
    },
    payment: check,
    conversionInvoiceId,
  };
}

/** The subscription's latest invoice, when it is paid with money (a trial that converted). */
async function paidLatestInvoice(ctx: DecideContext, subscriptionId: string): Promise<string | null> {
  const subscription = await ctx.deadline.run("reading the subscription", (o) =>
    ctx.stripe.getSubscription(subscriptionId, o),
  );
  const latest = idOf(subscription.latest_invoice ?? null);
  if (!latest) return null;
  const invoice = await ctx.deadline.run("reading the latest invoice", (o) =>
    ctx.stripe.getInvoice(latest, o),
  );
  return invoice.status === "paid" && invoice.amount_paid > 0 ? invoice.id : null;
}

/** What the decision learnt that the order keeps, whatever the outcome. */
function learnt(decision: CheckoutDecision, now: Date, order: OrderRecord): Partial<OrderRecord> {
  // "converted" is written with `sent` only: a send that fails leaves the order waiting for a redelivery.
  const trial: OrderRecord["trial_conversion"] =
    decision.action === "record" && decision.awaitingTrial
      ? { state: "awaiting", invoice_id: null, at: order.trial_conversion?.at ?? now }
      : (order.trial_conversion ?? null);
  return {
    ...decision.refs,
    ...(decision.details ? { details: decision.details } : {}),
    ...(decision.payment ? { payment: { ...decision.payment, checked_at: now } } : {}),
    trial_conversion: trial,
  };
}

/** Decides and acts under the attempt's claim on the order. */
export async function fulfilCheckout(
  work: OrderWork,
  attempt: Attempt,
  trigger: CheckoutTrigger,
  paidInvoiceId: string | null = null,
): Promise<PushOutcome> {
  const decision = await decideCheckout(
    { stripe: work.stripe, settings: work.settings, deadline: attempt.deadline },
    attempt.sessionId,
    trigger,
    paidInvoiceId,
  );
  if (decision.action === "record") {
    return work.conclude(attempt, decision.status, decision.reason, (order) =>
      learnt(decision, work.now(), order),
    );
  }
  const email = composeOrderEmail({
    sessionId: attempt.sessionId,
    details: decision.details,
    dispatchLink: work.dispatchLinkFor(attempt.sessionId),
  });
  const sent = await sendUnderClaim(work, attempt, email, {
    by: "automatic",
    reason: decision.reason,
    prepare: (order) => ({ ...order, ...learnt(decision, work.now(), order) }),
    ...(decision.conversionInvoiceId
      ? {
          onSent: (order: OrderRecord) => ({
            ...order,
            trial_conversion: {
              state: "converted" as const,
              invoice_id: decision.conversionInvoiceId,
              at: work.now(),
            },
          }),
        }
      : {}),
  });
  if (!sent.ack || sent.result !== "fulfilled") return sent;
  if (decision.details.mode === "subscription" && decision.details.subscription_id)
    await work.setSubscriptionMarker(attempt, decision.details.subscription_id);
  return sent;
}
