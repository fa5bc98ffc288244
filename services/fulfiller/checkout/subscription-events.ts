/**
 * A subscription after checkout (section 5a). With FULFIL_TRIALS=false a trial's order
 * waits (`awaiting_payment`, reason `trial`): the subscription's first paid invoice
 * (`invoice.paid`, `amount_paid` > 0) fulfils it through the normal checkout path, and
 * `customer.subscription.deleted` before that cancels it. Every other invoice (renewals
 * of subscriptions that shipped, invoices of subscriptions that are not our orders) is
 * ignored: it never ships again.
 */
import { PermanentError, errorMessage } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { serializeError } from "../../common/http.js";
import type { Deadline } from "../claims/deadline.js";
import { fulfilCheckout } from "./fulfil-checkout.js";
import type { OrderRecord } from "../claims/order-state.js";
import {
  newAttempt,
  transientFailure,
  type Attempt,
  type OrderWork,
  type PushOutcome,
} from "../claims/order-work.js";
import type { PushMessage } from "../push/push-envelope.js";

export interface SubscriptionEvent {
  message: PushMessage;
  eventId: string;
  eventType: string;
  deadline: Deadline;
  log: Logger;
}

type Found = { order: OrderRecord } | { outcome: PushOutcome };

/** Looks something up in Stripe and Firestore: a 404 is acknowledged, a 4xx dead-lettered, the rest retried. */
async function lookUp(work: OrderWork, event: SubscriptionEvent, find: () => Promise<Found>): Promise<Found> {
  try {
    return await find();
  } catch (err) {
    if (err instanceof PermanentError && err.code === "stripe_404") {
      event.log.warn(
        { err: serializeError(err), event_id: event.eventId },
        "Stripe does not know this object; acknowledging",
      );
      return { outcome: { ack: true, result: "ignored", reason: err.message } };
    }
    if (err instanceof PermanentError)
      return {
        outcome: await work.deadLetter({
          message: event.message,
          reason: err.message,
          log: event.log,
          deadline: event.deadline,
        }),
      };
    event.log.warn(
      { err: serializeError(err), event_id: event.eventId },
      "could not look up the order; Pub/Sub will redeliver",
    );
    return { outcome: transientFailure(errorMessage(err)) };
  }
}

function ignored(event: SubscriptionEvent, reason: string): Found {
  event.log.info({ event_id: event.eventId, event_type: event.eventType, reason }, "event ignored");
  return { outcome: { ack: true, result: "ignored", reason } };
}

async function awaitingTrialOrder(
  work: OrderWork,
  event: SubscriptionEvent,
  subscriptionId: string,
): Promise<OrderRecord | null> {
  const orders = await event.deadline.run("finding the order of the subscription", () =>
    work.store.findBy("subscription_id", subscriptionId),
  );
  return orders.find((o) => o.trial_conversion?.state === "awaiting") ?? null;
}

/** Claims the order like any delivery, and checks it still waits for its trial once claimed. */
async function claimTrialOrder(
  work: OrderWork,
  event: SubscriptionEvent,
  sessionId: string,
  then: (attempt: Attempt) => Promise<PushOutcome>,
): Promise<PushOutcome> {
  const attempt = newAttempt(work, {
    message: event.message,
    eventId: event.eventId,
    eventType: event.eventType,
    sessionId,
    kind: "order",
    deadline: event.deadline,
    log: event.log.child({ session_id: sessionId, event_id: event.eventId }),
  });
  const refused = await work.claimOrder(attempt);
  if (refused) return refused;
  try {
    return await then(attempt);
  } catch (err) {
    return work.handleFailure(attempt, err);
  }
}

export async function handleInvoicePaid(
  work: OrderWork,
  event: SubscriptionEvent & { invoiceId: string },
): Promise<PushOutcome> {
  const found = await lookUp(work, event, async () => {
    const invoice = await event.deadline.run("reading the invoice", (o) =>
      work.stripe.getInvoice(event.invoiceId, o),
    );
    if (invoice.status !== "paid" || invoice.amount_paid <= 0)
      return ignored(
        event,
        `invoice ${invoice.id} is ${invoice.status ?? "?"} with ${invoice.amount_paid} paid: nothing to convert`,
      );
    if (!invoice.subscription_id) return ignored(event, `invoice ${invoice.id} is not a subscription's`);
    const order = await awaitingTrialOrder(work, event, invoice.subscription_id);
    if (!order)
      return ignored(event, "no order waits for this subscription's trial: renewal invoices never re-ship");
    return { order };
  });
  if ("outcome" in found) return found.outcome;
  // Once claimed, the decision is the normal one, from Stripe's current state.
  return claimTrialOrder(work, event, found.order.session_id, (attempt) =>
    fulfilCheckout(work, attempt, "trial_converted", event.invoiceId),
  );
}

export async function handleSubscriptionDeleted(
  work: OrderWork,
  event: SubscriptionEvent & { subscriptionId: string },
): Promise<PushOutcome> {
  const found = await lookUp(work, event, async () => {
    const subscription = await event.deadline.run("reading the subscription", (o) =>
      work.stripe.getSubscription(event.subscriptionId, o),
    );
    if (subscription.status !== "canceled")
      return ignored(
        event,
        `subscription ${subscription.id} is ${subscription.status ?? "?"} now, not canceled`,
      );
    const order = await awaitingTrialOrder(work, event, subscription.id);
    if (!order) return ignored(event, "no order waits for this subscription's trial");
    return { order };
  });
  if ("outcome" in found) return found.outcome;
  return claimTrialOrder(work, event, found.order.session_id, (attempt) =>
    work.conclude(
      attempt,
      "cancelled",
      "subscription cancelled during its trial, before any payment",
      (order) => ({
        trial_conversion: { state: "cancelled", invoice_id: null, at: work.now() },
        subscription_id: order.subscription_id ?? event.subscriptionId,
      }),
    ),
  );
}
