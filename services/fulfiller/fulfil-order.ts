import { randomUUID } from "node:crypto";
import { PermanentError, TransientError, errorMessage } from "../common/errors.js";
import { parseStripeEvent } from "../common/event.js";
import type { Logger } from "../common/logger.js";
import { withDeadline, type MessagePublisher } from "../common/pubsub.js";
import { serializeError } from "../common/http.js";
import { classifyEvent, type CheckoutTrigger } from "./classify-event.js";
import { composeOrderEmail } from "./compose-email.js";
import { Deadline } from "./deadline.js";
import { decidePayment, decideShipping } from "./decide-fulfilment.js";
import { MailOutcomeUnknownError, MailRefusedError } from "./errors.js";
import { buildOrderDetails } from "./order-details.js";
import {
  ClaimLostError,
  concludeOrder,
  releaseOrder,
  type OrderRecord,
  type OrderStatus,
} from "./order-state.js";
import type { Mailer, OrderStore, StripeCatalog } from "./ports.js";
import type { PushMessage } from "./push-envelope.js";

export interface FulfilmentSettings {
  liveKey: boolean;
  fulfilTrials: boolean;
  productIds: readonly string[];
  optInField?: string | undefined;
  emailTo: readonly string[];
  emailFrom: string;
  templateId?: string | undefined;
  leaseMs: number;
  deadlineMs: number;
  /** `dead_letter_source` on what this service dead-letters. */
  deadLetterSource: string;
}

export interface FulfillerDeps {
  store: OrderStore;
  stripe: StripeCatalog;
  mailer: Mailer;
  deadLetter: MessagePublisher;
  settings: FulfilmentSettings;
  clock?: () => number;
  newClaimId?: () => string;
}

export type PushResult =
  | "fulfilled"
  | "skipped"
  | "awaiting_payment"
  | "payment_failed"
  | "duplicate"
  | "ignored"
  | "needs_review"
  | "dead_lettered"
  | "busy"
  | "claim_lost"
  | "transient_failure";

export interface PushOutcome {
  ack: boolean;
  result: PushResult;
  sessionId?: string;
  reason?: string;
}

export const SUBSCRIPTION_MARKER = "initial_order_processed";

interface Attempt {
  message: PushMessage;
  eventId: string;
  eventType: string;
  sessionId: string;
  trigger: CheckoutTrigger;
  claimId: string;
  /** When this attempt's claim runs out (set once claimed). */
  leaseExpiresAt: number;
  deadline: Deadline;
  log: Logger;
}

/**
 * One push delivery, start to end: decode, classify, claim the order, decide from
 * the re-read session, email at most once, record. Returns whether to acknowledge.
 */
export class Fulfiller {
  private readonly clock: () => number;
  private readonly newClaimId: () => string;

  constructor(private readonly deps: FulfillerDeps) {
    this.clock = deps.clock ?? Date.now;
    this.newClaimId = deps.newClaimId ?? randomUUID;
  }

  private now(): Date {
    return new Date(this.clock());
  }

  async handlePush(
    message: PushMessage & { dataProblem?: string | null },
    log: Logger,
  ): Promise<PushOutcome> {
    const deadline = new Deadline(this.deps.settings.deadlineMs, this.clock);
    if (message.dataProblem) return this.deadLetter(message, message.dataProblem, log);
    const event = parseStripeEvent(message.data);
    if (!event) return this.deadLetter(message, "message data is not a Stripe event", log);

    const classification = classifyEvent(event, { liveKey: this.deps.settings.liveKey });
    if (classification.kind === "ignore") {
      try {
        await this.deps.store.recordEvent(event.id, event.type, "ignored");
      } catch (err) {
        log.warn({ err: serializeError(err), event_id: event.id }, "could not count an ignored event");
      }
      log.info(
        { event_id: event.id, event_type: event.type, reason: classification.reason },
        "event ignored",
      );
      return { ack: true, result: "ignored", reason: classification.reason };
    }

    const attempt: Attempt = {
      message,
      eventId: event.id,
      eventType: event.type,
      sessionId: classification.sessionId,
      trigger: classification.trigger,
      claimId: this.newClaimId(),
      leaseExpiresAt: 0,
      deadline,
      log: log.child({ session_id: classification.sessionId, event_id: event.id }),
    };

    let plan;
    try {
      plan = await withDeadline(
        this.deps.store.claim({
          sessionId: attempt.sessionId,
          eventId: attempt.eventId,
          eventType: attempt.eventType,
          claimId: attempt.claimId,
          now: this.now(),
          leaseMs: this.deps.settings.leaseMs,
        }),
        deadline.remainingMs(),
        "claiming the order",
      );
    } catch (err) {
      attempt.log.warn({ err: serializeError(err) }, "could not claim the order; Pub/Sub will redeliver");
      return {
        ack: false,
        result: "transient_failure",
        sessionId: attempt.sessionId,
        reason: errorMessage(err),
      };
    }
    switch (plan.outcome) {
      case "duplicate":
        return {
          ack: true,
          result: "duplicate",
          sessionId: attempt.sessionId,
          reason: `order is ${plan.order.status}`,
        };
      case "busy":
        return {
          ack: false,
          result: "busy",
          sessionId: attempt.sessionId,
          reason: "another attempt holds the lease",
        };
      case "needs_review":
        attempt.log.error(
          { alert: "needs_review", reason: plan.order.reason },
          "order needs review: an email may or may not have been sent; resolve with `orders resolve`",
        );
        return {
          ack: true,
          result: "needs_review",
          sessionId: attempt.sessionId,
          reason: plan.order.reason ?? undefined,
        };
      case "claimed":
        attempt.leaseExpiresAt = plan.order.lease_expires_at?.getTime() ?? 0;
        break;
    }

    try {
      return await this.processClaimed(attempt);
    } catch (err) {
      return this.handleFailure(attempt, err);
    }
  }

  private async processClaimed(attempt: Attempt): Promise<PushOutcome> {
    const { stripe, settings } = this.deps;
    const session = await stripe.getSession(attempt.sessionId, attempt.deadline.next("reading the session"));
    const payment = decidePayment(session, attempt.trigger, { fulfilTrials: settings.fulfilTrials });
    if (payment.action === "record") return this.conclude(attempt, payment.status, payment.reason);

    const lineItems = await stripe.listLineItems(
      attempt.sessionId,
      attempt.deadline.next("listing line items"),
    );
    const details = buildOrderDetails(session, lineItems);
    const shipping = decideShipping(session, lineItems, {
      productIds: settings.productIds,
      optInField: settings.optInField,
    });
    if (!shipping.ships) return this.conclude(attempt, "skipped", shipping.reason, details);

    if (session.mode === "subscription" && details.subscription_id) {
      const metadata = await stripe.getSubscriptionMetadata(
        details.subscription_id,
        attempt.deadline.next("reading the subscription"),
      );
      if (metadata[SUBSCRIPTION_MARKER] === "true") {
        return this.conclude(
          attempt,
          "skipped",
          `subscription metadata says ${SUBSCRIPTION_MARKER}`,
          details,
        );
      }
    }

    const sent = await this.sendUnderClaim(attempt, details, { by: "automatic", reason: shipping.reason });
    if (!sent.ack || sent.result !== "fulfilled") return sent;

    if (session.mode === "subscription" && details.subscription_id) {
      await this.setSubscriptionMarker(attempt, details.subscription_id);
    }
    return { ack: true, result: "fulfilled", sessionId: attempt.sessionId };
  }

  /**
   * Records `email.state = sending` under a live claim, sends, and records the outcome:
   * `sent` + fulfilled, `not_sent` + a thrown error (definite refusal), or needs_review
   * (unknown outcome). The claim's lease outlasts the send, so no other attempt can
   * claim the order while the send is in flight.
   */
  private async sendUnderClaim(
    attempt: Attempt,
    details: NonNullable<OrderRecord["details"]>,
    options: { by: string; reason: string },
  ): Promise<PushOutcome> {
    const { settings } = this.deps;
    const email = composeOrderEmail({ sessionId: attempt.sessionId, details });
    // The send must end (or time out) inside our lease, with a second to record it:
    // then no other attempt can claim the order while the outcome is unknown.
    const leaseLeftMs = attempt.leaseExpiresAt - this.clock() - 1000;
    const sendOptions = attempt.deadline.next("sending the email", 1000);
    sendOptions.timeoutMs = Math.min(sendOptions.timeoutMs, leaseLeftMs);
    if (sendOptions.timeoutMs < 1000)
      throw new TransientError("too little of the lease left to send the email");
    await this.update(
      attempt,
      (order, now) => ({ ...order, details, email: { state: "sending", started_at: now }, updated_at: now }),
      { requireLiveLease: true, minRemainingMs: sendOptions.timeoutMs + 500 },
    );
    let messageId: string | null;
    try {
      ({ messageId } = await this.deps.mailer.send(
        {
          to: settings.emailTo,
          from: settings.emailFrom,
          subject: email.subject,
          text: email.text,
          html: email.html,
          customArgs: email.customArgs,
          templateId: settings.templateId,
          templateData: email.templateData,
        },
        sendOptions,
      ));
    } catch (err) {
      if (err instanceof MailRefusedError) {
        await this.update(
          attempt,
          (order, now) => ({ ...order, email: { state: "not_sent", error: err.message }, updated_at: now }),
          { requireLiveLease: false },
        );
        throw err.toAppError();
      }
      // Anything else (timeout, reset, an unexpected error) leaves the outcome unknown.
      const why = err instanceof MailOutcomeUnknownError ? err.message : `unexpected: ${errorMessage(err)}`;
      return this.markNeedsReview(attempt, `email outcome unknown: ${why}`);
    }

    // The provider accepted it: record that even if the lease ran out meanwhile, as
    // long as nobody else claimed the order (the record is the truth about the send).
    await this.update(
      attempt,
      (order, now) =>
        concludeOrder(
          {
            ...order,
            email: {
              state: "sent",
              started_at: order.email.started_at ?? null,
              sent_at: now,
              message_id: messageId,
              by: options.by,
            },
          },
          { status: "fulfilled", reason: options.reason, now, eventId: attempt.eventId },
        ),
      { requireLiveLease: false },
    );
    attempt.log.info(
      { outcome: "fulfilled", sendgrid_message_id: messageId, by: options.by },
      "order email sent",
    );
    return { ack: true, result: "fulfilled", sessionId: attempt.sessionId };
  }

  /**
   * Operator action for a needs_review order whose email did not go out (checked in
   * SendGrid's activity): send it now under a fresh claim. At most one email; an
   * unknown outcome leaves it needs_review again.
   */
  async resend(sessionId: string, log: Logger): Promise<PushOutcome> {
    const claimId = this.newClaimId();
    const claimed = await this.deps.store.transact(sessionId, (order, now) => {
      if (!order) throw new Error(`no order ${sessionId}`);
      if (order.status !== "needs_review")
        throw new Error(`order ${sessionId} is ${order.status}, not needs_review`);
      const reason = "operator resend";
      const next = {
        ...order,
        status: "processing" as const,
        reason,
        claim_id: claimId,
        lease_expires_at: new Date(now.getTime() + this.deps.settings.leaseMs),
        email: {
          state: "none" as const,
          error: `previous attempt: ${order.email.error ?? order.reason ?? "unknown"}`,
        },
        updated_at: now,
        history: [...order.history, { at: now, status: "processing" as const, reason, event_id: null }].slice(
          -20,
        ),
      };
      return { next, result: next };
    });
    const attempt: Attempt = {
      message: {
        messageId: "operator",
        publishTime: null,
        attributes: {},
        data: Buffer.alloc(0),
        rawData: "",
        subscription: null,
        deliveryAttempt: null,
      },
      eventId: "operator-resend",
      eventType: "operator.resend",
      sessionId,
      trigger: "completed",
      claimId,
      leaseExpiresAt: claimed.lease_expires_at?.getTime() ?? 0,
      deadline: new Deadline(this.deps.settings.deadlineMs, this.clock),
      log: log.child({ session_id: sessionId }),
    };
    try {
      let details = claimed.details ?? null;
      if (!details) {
        const session = await this.deps.stripe.getSession(
          sessionId,
          attempt.deadline.next("reading the session"),
        );
        const lineItems = await this.deps.stripe.listLineItems(
          sessionId,
          attempt.deadline.next("listing line items"),
        );
        details = buildOrderDetails(session, lineItems);
      }
      return await this.sendUnderClaim(attempt, details, {
        by: "operator:resend",
        reason: "operator resend",
      });
    } catch (err) {
      return this.markNeedsReview(attempt, `operator resend failed: ${errorMessage(err)}`);
    }
  }

  /**
   * A claim-checked write of this attempt, bounded like every outside call (with a
   * floor, so the record of a send that just happened still gets its chance).
   */
  private update(
    attempt: Attempt,
    change: (order: OrderRecord, now: Date) => OrderRecord,
    options: { requireLiveLease: boolean; minRemainingMs?: number },
  ): Promise<OrderRecord> {
    return withDeadline(
      this.deps.store.updateClaimed(attempt.sessionId, attempt.claimId, change, options),
      Math.max(attempt.deadline.remainingMs(), 2000),
      "recording the order",
    );
  }

  /** Best effort: a failure is logged and recorded, never a reason to redeliver. */
  private async setSubscriptionMarker(attempt: Attempt, subscriptionId: string): Promise<void> {
    let marker: NonNullable<OrderRecord["subscription_marker"]>;
    try {
      await this.deps.stripe.markInitialOrderProcessed(
        subscriptionId,
        attempt.deadline.next("marking the subscription"),
      );
      marker = { state: "set", error: null, at: this.now() };
    } catch (err) {
      attempt.log.warn(
        { err: serializeError(err), subscription_id: subscriptionId },
        "could not set the subscription marker",
      );
      marker = { state: "failed", error: errorMessage(err), at: this.now() };
    }
    try {
      await this.deps.store.transact(attempt.sessionId, (order) => ({
        next: order ? { ...order, subscription_marker: marker } : undefined,
        result: undefined,
      }));
    } catch (err) {
      attempt.log.warn({ err: serializeError(err) }, "could not record the subscription marker outcome");
    }
  }

  private async conclude(
    attempt: Attempt,
    status: Exclude<OrderStatus, "processing" | "failed" | "needs_review">,
    reason: string,
    details?: OrderRecord["details"],
  ): Promise<PushOutcome> {
    await this.update(
      attempt,
      (order, now) =>
        concludeOrder(
          { ...order, details: details ?? order.details ?? null },
          { status, reason, now, eventId: attempt.eventId },
        ),
      { requireLiveLease: true },
    );
    attempt.log.info({ outcome: status, reason }, `order ${status}`);
    return { ack: true, result: status, sessionId: attempt.sessionId, reason };
  }

  private async markNeedsReview(attempt: Attempt, reason: string): Promise<PushOutcome> {
    attempt.log.error(
      { alert: "needs_review", reason },
      "order needs review: the email may or may not have been sent; resolve with `orders resolve`",
    );
    try {
      await this.update(
        attempt,
        (order, now) =>
          concludeOrder(
            { ...order, email: { ...order.email, error: reason } },
            { status: "needs_review", reason, now, eventId: attempt.eventId },
          ),
        { requireLiveLease: false },
      );
    } catch (err) {
      // email.state is still `sending`: the next delivery marks it needs_review.
      attempt.log.error(
        { err: serializeError(err) },
        "could not record needs_review; the next delivery will",
      );
    }
    return { ack: true, result: "needs_review", sessionId: attempt.sessionId, reason };
  }

  private async handleFailure(attempt: Attempt, err: unknown): Promise<PushOutcome> {
    if (err instanceof ClaimLostError) {
      attempt.log.warn({ reason: err.message }, "claim lost; stopping this attempt");
      // If it was only our lease running short, give the order back at once.
      await this.update(attempt, (order, now) => releaseOrder(order, now, "claim lost"), {
        requireLiveLease: false,
      }).catch(() => {});
      return { ack: false, result: "claim_lost", sessionId: attempt.sessionId, reason: err.message };
    }
    if (err instanceof PermanentError) {
      try {
        await this.update(
          attempt,
          (order, now) =>
            concludeOrder(order, { status: "failed", reason: err.message, now, eventId: attempt.eventId }),
          { requireLiveLease: false },
        );
      } catch (recordErr) {
        attempt.log.warn(
          { err: serializeError(recordErr) },
          "could not record the failure; Pub/Sub will redeliver",
        );
        return {
          ack: false,
          result: "transient_failure",
          sessionId: attempt.sessionId,
          reason: errorMessage(recordErr),
        };
      }
      return this.deadLetter(attempt.message, err.message, attempt.log, attempt.sessionId);
    }
    // Transient, or unexpected (treated as transient: Pub/Sub's retries, then its dead-lettering, bound it).
    const reason = errorMessage(err);
    attempt.log.warn({ err: serializeError(err) }, "transient failure; releasing the order for redelivery");
    try {
      await this.update(attempt, (order, now) => releaseOrder(order, now, reason), {
        requireLiveLease: false,
      });
    } catch (releaseErr) {
      attempt.log.warn({ err: serializeError(releaseErr) }, "could not release the lease; it will expire");
    }
    return { ack: false, result: "transient_failure", sessionId: attempt.sessionId, reason };
  }

  /** Publishes the original message with the reason to the dead-letter topic; 503 if that fails. */
  private async deadLetter(
    message: PushMessage,
    reason: string,
    log: Logger,
    sessionId?: string,
  ): Promise<PushOutcome> {
    const attributes = {
      ...message.attributes,
      dead_letter_reason: reason.slice(0, 1000),
      dead_letter_at: this.now().toISOString(),
      dead_letter_source: this.deps.settings.deadLetterSource,
      dead_letter_message_id: message.messageId,
    };
    const data = message.data.length > 0 ? message.data : Buffer.from(message.rawData, "utf8");
    try {
      const id = await this.deps.deadLetter.publish(data, attributes);
      log.error(
        { alert: "dead_lettered", reason, dead_letter_message_id: id, session_id: sessionId },
        "message dead-lettered",
      );
      return { ack: true, result: "dead_lettered", reason, ...(sessionId ? { sessionId } : {}) };
    } catch (err) {
      log.error(
        { err: serializeError(err), reason },
        "could not publish to the dead-letter topic; not acknowledging",
      );
      return {
        ack: false,
        result: "transient_failure",
        reason: `dead-letter publish failed: ${errorMessage(err)}`,
      };
    }
  }
}
