import { randomUUID } from "node:crypto";
import { PermanentError, TransientError, errorMessage } from "../common/errors.js";
import { parseStripeEvent, SENDGRID_EVENTS_TYPE } from "../common/event.js";
import { recordDeliveries } from "./record-deliveries.js";
import type { Logger } from "../common/logger.js";
import { DeadlineExceededError, withDeadline, type MessagePublisher } from "../common/pubsub.js";
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
import type { CallOptions, Mailer, OrderStore, StripeCatalog } from "./ports.js";
import type { PushMessage } from "./push-envelope.js";
import { idOf } from "./session.js";

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
  | "transient_failure"
  | "delivery_recorded";

export interface PushOutcome {
  ack: boolean;
  result: PushResult;
  sessionId?: string;
  reason?: string;
}

export const SUBSCRIPTION_MARKER = "initial_order_processed";

/** Pub/Sub's limit on one attribute value, in bytes. */
export const MAX_ATTRIBUTE_VALUE_BYTES = 1024;

/** Less time than this for SendGrid's answer is not worth starting a send with. */
const MIN_SEND_MS = 500;

/** How many times the write that records an accepted email is tried. */
const SENT_WRITE_TRIES = 3;

/**
 * The end of an attempt's deadline kept back from the send for recording its outcome
 * (the `sent` write and its retries, or needs_review): a third of the deadline,
 * between 0.5 and 3 s. Firestore writes to one contended document can take a second.
 */
export function recordReserveMs(deadlineMs: number): number {
  return Math.min(3000, Math.max(500, Math.floor(deadlineMs / 3)));
}

/** `value` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function truncateUtf8(value: string, maxBytes: number): string {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length <= maxBytes) return value;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}

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
  /** Set at SIGTERM: attempts that have not started sending give their order back. */
  private draining = false;
  private sendsInFlight = 0;

  constructor(private readonly deps: FulfillerDeps) {
    this.clock = deps.clock ?? Date.now;
    this.newClaimId = deps.newClaimId ?? randomUUID;
  }

  private now(): Date {
    return new Date(this.clock());
  }

  private newDeadline(): Deadline {
    const { deadlineMs } = this.deps.settings;
    return new Deadline(deadlineMs, this.clock, recordReserveMs(deadlineMs));
  }

  /**
   * Shutdown has begun: sends already in flight finish and are recorded (the server
   * waits for their requests); attempts that have not started sending release their
   * claim and answer 503 so that another instance takes them.
   */
  beginDraining(): void {
    this.draining = true;
  }

  /** Resolves once no send is in flight (and its outcome recorded), or after `maxMs`. */
  async settled(maxMs: number): Promise<void> {
    const until = Date.now() + maxMs;
    while (this.sendsInFlight > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async handlePush(
    message: PushMessage & { dataProblem?: string | null },
    log: Logger,
  ): Promise<PushOutcome> {
    const deadline = this.newDeadline();
    if (message.dataProblem) return this.deadLetter({ message, reason: message.dataProblem, log, deadline });
    if (message.attributes.event_type === SENDGRID_EVENTS_TYPE) {
      const outcome = await recordDeliveries(message.data, { store: this.deps.store, deadline, log });
      if (outcome.result === "dead_letter")
        return this.deadLetter({ message, reason: outcome.reason ?? "bad sendgrid.events", log, deadline });
      return {
        ack: outcome.ack,
        result: outcome.result,
        ...(outcome.reason ? { reason: outcome.reason } : {}),
      };
    }
    const event = parseStripeEvent(message.data);
    if (!event)
      return this.deadLetter({ message, reason: "message data is not a Stripe event", log, deadline });

    const classification = classifyEvent(event, { liveKey: this.deps.settings.liveKey });
    if (classification.kind === "ignore") {
      try {
        await deadline.record("counting an ignored event", () =>
          this.deps.store.recordEvent(event.id, event.type, "ignored"),
        );
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
      if (this.draining) throw new TransientError("shutting down: not claiming new work");
      // The claim may use the whole deadline: if it fails there is nothing to write down
      // (the answer is 503), so no reserve is kept back from it.
      plan = await deadline.record("claiming the order", () =>
        this.deps.store.claim({
          sessionId: attempt.sessionId,
          eventId: attempt.eventId,
          eventType: attempt.eventType,
          claimId: attempt.claimId,
          now: this.now(),
          leaseMs: this.deps.settings.leaseMs,
        }),
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
    const session = await attempt.deadline.run("reading the session", (o) =>
      stripe.getSession(attempt.sessionId, o),
    );
    const payment = decidePayment(session, attempt.trigger, { fulfilTrials: settings.fulfilTrials });
    if (payment.action === "record") return this.conclude(attempt, payment.status, payment.reason);

    const lineItems = await attempt.deadline.run("listing line items", (o) =>
      stripe.listLineItems(attempt.sessionId, o),
    );
    const shipping = decideShipping(session, lineItems, {
      productIds: settings.productIds,
      optInField: settings.optInField,
    });
    if (!shipping.ships)
      return this.conclude(attempt, "skipped", shipping.reason, buildOrderDetails(session, lineItems));

    const subscriptionId = session.mode === "subscription" ? idOf(session.subscription) : null;
    const subscription = subscriptionId
      ? await attempt.deadline.run("reading the subscription", (o) =>
          stripe.getSubscription(subscriptionId, o),
        )
      : null;
    const details = buildOrderDetails(session, lineItems, subscription);
    if (subscription?.metadata?.[SUBSCRIPTION_MARKER] === "true") {
      return this.conclude(attempt, "skipped", `subscription metadata says ${SUBSCRIPTION_MARKER}`, details);
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
   * (unknown outcome). The send ends inside the lease and leaves the end of the
   * attempt's deadline for recording it, so no other attempt can claim the order
   * while the outcome is unknown, and the outcome is written before the push is answered.
   */
  private async sendUnderClaim(
    attempt: Attempt,
    details: NonNullable<OrderRecord["details"]>,
    options: { by: string; reason: string },
  ): Promise<PushOutcome> {
    if (this.draining) throw new TransientError("shutting down: not starting a send");
    const email = composeOrderEmail({ sessionId: attempt.sessionId, details });
    const reserveMs = attempt.deadline.reserveMs;
    const leaseLeftMs = attempt.leaseExpiresAt - this.clock() - reserveMs;
    const sendOptions = attempt.deadline.next("sending the email", MIN_SEND_MS);
    sendOptions.timeoutMs = Math.min(sendOptions.timeoutMs, leaseLeftMs);
    if (sendOptions.timeoutMs < MIN_SEND_MS)
      throw new TransientError("too little of the lease left to send the email");
    await this.update(
      attempt,
      (order, now) => ({ ...order, details, email: { state: "sending", started_at: now }, updated_at: now }),
      { requireLiveLease: true, minRemainingMs: sendOptions.timeoutMs + reserveMs },
    );
    this.sendsInFlight += 1;
    try {
      return await this.sendAndRecord(attempt, email, sendOptions, options);
    } finally {
      this.sendsInFlight -= 1;
    }
  }

  private async sendAndRecord(
    attempt: Attempt,
    email: ReturnType<typeof composeOrderEmail>,
    sendOptions: CallOptions,
    options: { by: string; reason: string },
  ): Promise<PushOutcome> {
    const { settings } = this.deps;
    let messageId: string | null;
    try {
      ({ messageId } = await withDeadline(
        this.deps.mailer.send(
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
        ),
        sendOptions.timeoutMs,
        "sending the email",
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
      const why =
        err instanceof MailOutcomeUnknownError || err instanceof DeadlineExceededError
          ? err.message
          : `unexpected: ${errorMessage(err)}`;
      return await this.markNeedsReview(attempt, `email outcome unknown: ${why}`);
    }
    // Logged before it is recorded: if every write below fails, the id is still on record.
    attempt.log.info(
      { sendgrid_message_id: messageId, by: options.by },
      "order email accepted by SendGrid; recording it",
    );
    try {
      await this.recordSent(attempt, messageId, options);
    } catch (err) {
      attempt.log.error(
        { err: serializeError(err), sendgrid_message_id: messageId },
        "could not record the accepted email",
      );
      return this.markNeedsReview(
        attempt,
        `email accepted by SendGrid (message id ${messageId ?? "unknown"}) but not recorded: ${errorMessage(err)}`,
      );
    }
    attempt.log.info(
      { outcome: "fulfilled", sendgrid_message_id: messageId, by: options.by },
      "order email sent",
    );
    return { ack: true, result: "fulfilled", sessionId: attempt.sessionId };
  }

  /**
   * The provider accepted it: record that even if the lease ran out meanwhile, as long
   * as nobody else claimed the order (the record is the truth about the send). The
   * write is idempotent under the claim, so a Firestore blip is retried briefly rather
   * than costing an operator's minute.
   */
  private async recordSent(
    attempt: Attempt,
    messageId: string | null,
    options: { by: string; reason: string },
  ): Promise<void> {
    for (let attemptNo = 1; ; attemptNo++) {
      try {
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
        return;
      } catch (err) {
        const pauseMs = 100 * attemptNo;
        if (
          err instanceof ClaimLostError ||
          attemptNo >= SENT_WRITE_TRIES ||
          attempt.deadline.remainingMs() < pauseMs + 100
        )
          throw err;
        attempt.log.warn(
          { err: serializeError(err), try: attemptNo },
          "recording the sent email failed; retrying",
        );
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
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
      deadline: this.newDeadline(),
      log: log.child({ session_id: sessionId }),
    };
    try {
      let details = claimed.details ?? null;
      if (!details) {
        const session = await attempt.deadline.run("reading the session", (o) =>
          this.deps.stripe.getSession(sessionId, o),
        );
        const lineItems = await attempt.deadline.run("listing line items", (o) =>
          this.deps.stripe.listLineItems(sessionId, o),
        );
        details = buildOrderDetails(session, lineItems);
      }
      const outcome = await this.sendUnderClaim(attempt, details, {
        by: "operator:resend",
        reason: "operator resend",
      });
      if (outcome.result === "fulfilled" && details.mode === "subscription" && details.subscription_id)
        await this.setSubscriptionMarker(attempt, details.subscription_id);
      return outcome;
    } catch (err) {
      return this.markNeedsReview(attempt, `operator resend failed: ${errorMessage(err)}`);
    }
  }

  /** A claim-checked write of this attempt, bounded by what is left of its deadline like every outside call. */
  private update(
    attempt: Attempt,
    change: (order: OrderRecord, now: Date) => OrderRecord,
    options: { requireLiveLease: boolean; minRemainingMs?: number },
  ): Promise<OrderRecord> {
    return attempt.deadline.record("recording the order", () =>
      this.deps.store.updateClaimed(attempt.sessionId, attempt.claimId, change, options),
    );
  }

  /** Best effort: a failure is logged and recorded, never a reason to redeliver. */
  private async setSubscriptionMarker(
    attempt: Pick<Attempt, "sessionId" | "deadline" | "log">,
    subscriptionId: string,
  ): Promise<NonNullable<OrderRecord["subscription_marker"]>> {
    let marker: NonNullable<OrderRecord["subscription_marker"]>;
    try {
      await attempt.deadline.run("marking the subscription", (o) =>
        this.deps.stripe.markInitialOrderProcessed(subscriptionId, o),
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
      await attempt.deadline.record("recording the subscription marker", () =>
        this.deps.store.transact(attempt.sessionId, (order) => ({
          next: order ? { ...order, subscription_marker: marker } : undefined,
          result: undefined,
        })),
      );
    } catch (err) {
      attempt.log.warn({ err: serializeError(err) }, "could not record the subscription marker outcome");
    }
    return marker;
  }

  /**
   * After an operator settled an order's email by hand (`orders resolve --sent`), marks its
   * subscription as the automatic send would, so a later first-invoice event never ships
   * again. Returns the marker's outcome, or null when the order is not a subscription.
   */
  async markSubscriptionShipped(
    sessionId: string,
    log: Logger,
  ): Promise<NonNullable<OrderRecord["subscription_marker"]> | null> {
    const order = await this.deps.store.get(sessionId);
    const subscriptionId = order?.details?.mode === "subscription" ? order.details.subscription_id : null;
    if (!subscriptionId) return null;
    return this.setSubscriptionMarker(
      { sessionId, deadline: this.newDeadline(), log: log.child({ session_id: sessionId }) },
      subscriptionId,
    );
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

  /**
   * The send's outcome is unknown (or accepted but unrecordable): the order goes to an
   * operator. Acknowledged only once that is written; if the write fails the order still
   * says `sending`, and the redelivery this 503 causes turns that into needs_review.
   */
  private async markNeedsReview(attempt: Attempt, reason: string): Promise<PushOutcome> {
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
      attempt.log.error(
        { err: serializeError(err), reason },
        "could not record needs_review; not acknowledging, so the redelivery records it",
      );
      return { ack: false, result: "transient_failure", sessionId: attempt.sessionId, reason };
    }
    attempt.log.error(
      { alert: "needs_review", reason },
      "order needs review: the email may or may not have been sent; resolve with `orders resolve`",
    );
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
      return this.deadLetter({
        message: attempt.message,
        reason: err.message,
        log: attempt.log,
        deadline: attempt.deadline,
        sessionId: attempt.sessionId,
      });
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
  private async deadLetter({
    message,
    reason,
    log,
    deadline,
    sessionId,
  }: {
    message: PushMessage;
    reason: string;
    log: Logger;
    deadline: Deadline;
    sessionId?: string;
  }): Promise<PushOutcome> {
    const attributes = {
      ...message.attributes,
      dead_letter_reason: truncateUtf8(reason, MAX_ATTRIBUTE_VALUE_BYTES),
      dead_letter_at: this.now().toISOString(),
      dead_letter_source: this.deps.settings.deadLetterSource,
      dead_letter_message_id: message.messageId,
    };
    const data = message.data.length > 0 ? message.data : Buffer.from(message.rawData, "utf8");
    try {
      const id = await deadline.record("publishing to the dead-letter topic", () =>
        this.deps.deadLetter.publish(data, attributes),
      );
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
