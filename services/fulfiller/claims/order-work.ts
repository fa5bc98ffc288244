/**
 * The claim and record machinery every kind of work on an order shares: fulfilling a
 * checkout, a trial conversion, a stop-shipment notice, an operator's re-decision.
 * An attempt holds a claim (the order's own, or the stop notice's), and every write it
 * makes first checks that it still does. The one email it may send goes out through the
 * fence in email-fence.ts.
 */
import { dispatchLink } from "../../common/dispatch-token.js";
import { randomUUID } from "node:crypto";
import { PermanentError, TransientError, errorMessage } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { serializeError } from "../../common/http.js";
import { Deadline } from "./deadline.js";
import {
  ClaimLostError,
  concludeOrder,
  releaseOrder,
  withEmailRecord,
  type OrderRecord,
} from "./order-state.js";
import type { CallOptions, OrderStore, StripeCatalog } from "../ports.js";
import type { PushMessage } from "../push/push-envelope.js";
import type { Attempt, FulfillerDeps, FulfilmentSettings, PushOutcome, RecordStatus } from "./attempt.js";
import {
  MAX_ATTRIBUTE_VALUE_BYTES,
  OPERATOR_MESSAGE,
  recordReserveMs,
  transientFailure,
  truncateUtf8,
} from "./attempt.js";

export * from "./attempt.js";

/** The shared machinery, one per fulfiller; stateless per attempt except for the drain. */
export class OrderWork {
  readonly clock: () => number;
  readonly newClaimId: () => string;
  /** Set at SIGTERM: attempts that have not started sending give their order back. */
  draining = false;
  sendsInFlight = 0;
  /** Writes given up on at the deadline whose `ifLate` may still have to run (the drain waits for them). */
  lateWritesPending = 0;

  constructor(readonly deps: FulfillerDeps) {
    this.clock = deps.clock ?? Date.now;
    this.newClaimId = deps.newClaimId ?? randomUUID;
  }

  get settings(): FulfilmentSettings {
    return this.deps.settings;
  }

  /** The order email's signed dispatch link, valid 30 days from now; null without DISPATCH_LINK_SECRET. */
  dispatchLinkFor(sessionId: string): string | null {
    const d = this.settings.dispatch;
    return d ? dispatchLink(d.baseUrl, d.secret, sessionId, this.now()) : null;
  }

  get stripe(): StripeCatalog {
    return this.deps.stripe;
  }

  get store(): OrderStore {
    return this.deps.store;
  }

  now(): Date {
    return new Date(this.clock());
  }

  newDeadline(): Deadline {
    const { deadlineMs } = this.deps.settings;
    return new Deadline(deadlineMs, this.clock, recordReserveMs(deadlineMs));
  }

  /** A Stripe read bounded by the attempt's work budget. */
  read<T>(
    attempt: Pick<Attempt, "deadline">,
    what: string,
    call: (o: CallOptions) => Promise<T>,
  ): Promise<T> {
    return attempt.deadline.run(what, call);
  }

  /**
   * Claims the order for a push delivery (`planClaim` in a transaction). Returns the
   * outcome to answer with when the attempt does not go on, or null once claimed.
   * The claim may use the whole deadline: if it fails there is nothing to write down.
   */
  async claimOrder(attempt: Attempt): Promise<PushOutcome | null> {
    let plan;
    try {
      if (this.draining) throw new TransientError("shutting down: not claiming new work");
      plan = await attempt.deadline.record("claiming the order", () =>
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
      return transientFailure(errorMessage(err), attempt.sessionId);
    }
    switch (plan.outcome) {
      case "duplicate":
        // Still in review: say so again (the attempt that made it needs_review may have died
        // before its alert, or lost the answer of the write).
        if (plan.order.status === "needs_review")
          attempt.log.error(
            { alert: "needs_review", reason: plan.order.reason, duplicate: true },
            "order still needs review: an email may or may not have been sent; resolve with `orders resolve`",
          );
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
        return null;
    }
  }

  /**
   * A claim-checked write of this attempt, bounded by what is left of its deadline like
   * every outside call. A write given up on at the deadline may still commit afterwards
   * (the SDK goes on with it); `ifLate` is then called with what it wrote.
   */
  async update(
    attempt: Attempt,
    change: (order: OrderRecord, now: Date) => OrderRecord,
    options: {
      requireLiveLease: boolean;
      minRemainingMs?: number;
      ifLate?: (written: OrderRecord) => unknown;
    },
  ): Promise<OrderRecord> {
    const { ifLate, ...check } = options;
    let write: Promise<OrderRecord> | undefined;
    try {
      return await attempt.deadline.record(
        "recording the order",
        () =>
          (write = this.deps.store.updateClaimed(attempt.sessionId, attempt.claimId, change, {
            ...check,
            kind: attempt.kind,
          })),
      );
    } catch (err) {
      // Resolves only if the write committed after all; if it failed, there is nothing to undo.
      // (ifLate reports its own failures.)
      if (ifLate && write) {
        this.lateWritesPending += 1;
        void write
          .then(ifLate, () => undefined)
          .catch(() => undefined)
          .finally(() => (this.lateWritesPending -= 1));
      }
      throw err;
    }
  }

  /** Ends the order's claim in `status`, with anything else the decision learnt merged in. */
  async conclude(
    attempt: Attempt,
    status: RecordStatus,
    reason: string,
    extra: Partial<OrderRecord> | ((order: OrderRecord) => Partial<OrderRecord>) = {},
  ): Promise<PushOutcome> {
    await this.update(
      attempt,
      (order, now) =>
        concludeOrder(
          { ...order, ...(typeof extra === "function" ? extra(order) : extra) },
          { status, reason, now, eventId: attempt.eventId },
        ),
      { requireLiveLease: true },
    );
    attempt.log.info({ outcome: status, reason }, `order ${status}`);
    return { ack: true, result: status, sessionId: attempt.sessionId, reason };
  }

  /** What an attempt that threw answers: 503 for transient trouble, `failed` and the dead-letter topic for permanent. */
  async handleFailure(attempt: Attempt, err: unknown): Promise<PushOutcome> {
    const release = (order: OrderRecord, now: Date, why: string): OrderRecord =>
      releaseAttempt(attempt, order, now, why);
    if (err instanceof ClaimLostError) {
      attempt.log.warn({ reason: err.message }, "claim lost; stopping this attempt");
      // If it was only our lease running short, give it back at once.
      await this.update(attempt, (order, now) => release(order, now, "claim lost"), {
        requireLiveLease: false,
      }).catch(() => {});
      return { ack: false, result: "claim_lost", sessionId: attempt.sessionId, reason: err.message };
    }
    if (err instanceof PermanentError) {
      try {
        await this.update(
          attempt,
          (order, now) =>
            attempt.kind !== "order"
              ? // The order shipped and stays fulfilled: the email's failure is the dead letter's reason.
                release(
                  withEmailRecord(order, attempt.kind, (r) => ({ ...r, error: err.message }), now),
                  now,
                  err.message,
                )
              : concludeOrder(order, {
                  status: "failed",
                  reason: err.message,
                  now,
                  eventId: attempt.eventId,
                }),
          { requireLiveLease: false },
        );
      } catch (recordErr) {
        attempt.log.warn(
          { err: serializeError(recordErr) },
          "could not record the failure; Pub/Sub will redeliver",
        );
        return transientFailure(errorMessage(recordErr), attempt.sessionId);
      }
      // An operator's action has no message to dead-letter: the `failed` record and the answer say it.
      if (attempt.message === OPERATOR_MESSAGE)
        return { ack: true, result: "failed", sessionId: attempt.sessionId, reason: err.message };
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
      await this.update(attempt, (order, now) => release(order, now, reason), { requireLiveLease: false });
    } catch (releaseErr) {
      attempt.log.warn({ err: serializeError(releaseErr) }, "could not release the lease; it will expire");
    }
    return transientFailure(reason, attempt.sessionId);
  }

  /** Publishes the original message with the reason to the dead-letter topic; 503 if that fails. */
  async deadLetter({
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
      return transientFailure(`dead-letter publish failed: ${errorMessage(err)}`);
    }
  }

  /** Best effort: a failure is logged and recorded, never a reason to redeliver. */
  async setSubscriptionMarker(
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
}

/**
 * The order after an attempt gives its claim back without an outcome. The order email's
 * attempt makes the order claimable again for Pub/Sub's redelivery, or, for an operator's
 * command (which no delivery will repeat), puts back the status it came from, so that
 * the command can be run again; the stop notice's and the resend's attempts free their
 * record's claim, and the order keeps its status.
 */
export function releaseAttempt(
  attempt: Pick<Attempt, "kind" | "restoreStatus" | "eventId">,
  order: OrderRecord,
  now: Date,
  why: string,
): OrderRecord {
  if (attempt.kind !== "order")
    return withEmailRecord(
      order,
      attempt.kind,
      (r) => ({ ...r, claim_id: null, lease_expires_at: null }),
      now,
    );
  if (attempt.restoreStatus)
    return concludeOrder(order, {
      status: attempt.restoreStatus,
      reason: `${why} (the operator's command did not finish: run it again)`,
      now,
      eventId: attempt.eventId,
    });
  return releaseOrder(order, now, why);
}
