/**
 * The push path: decode a delivery, classify it, and hand it to the module for its kind
 * of work. Each of those holds the order through the claim and record machinery in
 * order-work.ts; this file only routes and drains.
 */
import type { Logger } from "../common/logger.js";
import type { Context } from "../common/tracing.js";
import { serializeError } from "../common/http.js";
import { parseStripeEvent, SENDGRID_EVENTS_TYPE } from "../common/event.js";
import { handleChargeEvent } from "./after-sale/after-sale.js";
import { classifyEvent } from "./classify-event.js";
import { fulfilCheckout } from "./checkout/fulfil-checkout.js";
import { OperatorActions } from "./operator/operator-actions.js";
import { newAttempt, OrderWork, type FulfillerDeps, type PushOutcome } from "./claims/order-work.js";
import type { PushMessage } from "./push/push-envelope.js";
import { recordDeliveries } from "./delivery/record-deliveries.js";
import { recordDispatch } from "./delivery/record-dispatch.js";
import { redactCustomer } from "./operator/redact.js";
import { DISPATCH_CONFIRMED_TYPE } from "../common/event.js";
import { handleInvoicePaid, handleSubscriptionDeleted } from "./checkout/subscription-events.js";

export {
  MAX_ATTRIBUTE_VALUE_BYTES,
  recordReserveMs,
  SUBSCRIPTION_MARKER,
  truncateUtf8,
  type FulfillerDeps,
  type FulfilmentSettings,
  type PushOutcome,
  type PushResult,
} from "./claims/order-work.js";

/** One push delivery, start to end; and the operator's actions on the same machinery. */
export class Fulfiller {
  private readonly work: OrderWork;
  /** `orders retry`, `orders resolve`, the owed stop notice, the subscription marker. */
  readonly operator: OperatorActions;

  constructor(deps: FulfillerDeps) {
    this.work = new OrderWork(deps);
    this.operator = new OperatorActions(this.work);
  }

  /**
   * Shutdown has begun: sends already in flight finish and are recorded (the server
   * waits for their requests); attempts that have not started sending release their
   * claim and answer 503 so that another instance takes them.
   */
  beginDraining(): void {
    this.work.draining = true;
  }

  /**
   * Resolves once no send is in flight (and its outcome recorded) and no `sending` record
   * given up on may still land unwithdrawn, or after `maxMs`.
   */
  async settled(maxMs: number): Promise<void> {
    const until = Date.now() + maxMs;
    while ((this.work.sendsInFlight > 0 || this.work.lateWritesPending > 0) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async handlePush(
    message: PushMessage & { dataProblem?: string | null },
    log: Logger,
    trace?: Context,
  ): Promise<PushOutcome> {
    const work = this.work;
    const deadline = work.newDeadline();
    // Each outside call of the attempt is a span of the order's trace.
    deadline.trace = trace;
    if (message.dataProblem) return work.deadLetter({ message, reason: message.dataProblem, log, deadline });
    if (message.attributes.event_type === SENDGRID_EVENTS_TYPE) {
      const outcome = await recordDeliveries(message.data, {
        store: work.store,
        deadline,
        log,
      });
      if (outcome.result === "dead_letter")
        return work.deadLetter({ message, reason: outcome.reason ?? "bad sendgrid.events", log, deadline });
      return {
        ack: outcome.ack,
        result: outcome.result,
        ...(outcome.reason ? { reason: outcome.reason } : {}),
      };
    }
    if (message.attributes.event_type === DISPATCH_CONFIRMED_TYPE)
      return recordDispatch(work, message, deadline, log);
    const event = parseStripeEvent(message.data);
    if (!event)
      return work.deadLetter({ message, reason: "message data is not a Stripe event", log, deadline });

    const classification = classifyEvent(event, { liveKey: work.settings.liveKey });
    const common = { message, eventId: event.id, eventType: event.type, deadline, log };
    switch (classification.kind) {
      case "ignore":
        try {
          await deadline.record("counting an ignored event", () =>
            work.store.recordEvent(event.id, event.type, "ignored"),
          );
        } catch (err) {
          log.warn({ err: serializeError(err), event_id: event.id }, "could not count an ignored event");
        }
        log.info(
          { event_id: event.id, event_type: event.type, reason: classification.reason },
          "event ignored",
        );
        return { ack: true, result: "ignored", reason: classification.reason };
      case "charge":
        return handleChargeEvent(work, {
          ...common,
          chargeId: classification.chargeId,
          disputeId: classification.disputeId,
        });
      case "invoice_paid":
        return handleInvoicePaid(work, { ...common, invoiceId: classification.invoiceId });
      case "subscription_deleted":
        return handleSubscriptionDeleted(work, { ...common, subscriptionId: classification.subscriptionId });
      case "customer_deleted":
        return redactCustomer(work, { ...common, customerId: classification.customerId });
      case "checkout":
        break;
    }

    const attempt = newAttempt(work, {
      ...common,
      sessionId: classification.sessionId,
      kind: "order",
      log: log.child({ session_id: classification.sessionId, event_id: event.id }),
    });
    const refused = await work.claimOrder(attempt);
    if (refused) return refused;
    try {
      return await fulfilCheckout(work, attempt, classification.trigger);
    } catch (err) {
      return work.handleFailure(attempt, err);
    }
  }
}
