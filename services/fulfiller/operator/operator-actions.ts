/**
 * What operators do to an order through the CLI, on the same claim, send and record
 * code as a delivery: re-decide it (`orders retry`), settle a needs_review order
 * (`orders resolve --resend` / `--sent`), send a stop-shipment notice that was owed
 * while the order was in review, and mark a subscription shipped. What settles an order
 * in review without sending (`resolve --sent`, the reminder) is in review.ts.
 */
import { sendUnderClaim } from "../claims/email-fence.js";
import { claimedRecord } from "../claims/email-records.js";
import { errorMessage } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { sendStopNotice } from "../after-sale/after-sale.js";
import { composeOrderEmail } from "../email/compose-email.js";
import { decideCheckout, fulfilCheckout, type CheckoutDecision } from "../checkout/fulfil-checkout.js";
import {
  emailInDoubt,
  heldLive,
  isInDoubt,
  isStranded,
  RETRYABLE_STATUSES,
  type EmailKind,
  type OrderRecord,
} from "../claims/order-state.js";
import {
  newAttempt,
  OPERATOR_MESSAGE,
  releaseAttempt,
  type Attempt,
  type OrderWork,
  type PushOutcome,
} from "../claims/order-work.js";
import { history, isResolvable, OperatorRefusedError, ResendRefusedError } from "./review.js";
import { claimResend, freshDetails, recheckPayment } from "./resend-checks.js";

export class OperatorActions {
  constructor(private readonly work: OrderWork) {}

  /**
   * An operator's claim transaction. If it fails without saying whether it landed (a
   * Firestore timeout after the commit), the claim is given back at once if it is ours,
   * so the order is not left `processing` under a claim nobody will use.
   */
  private async claim(
    sessionId: string,
    claimId: string,
    kind: EmailKind,
    restoreStatus: () => Attempt["restoreStatus"],
    body: (order: OrderRecord | undefined, now: Date) => { next: OrderRecord; result: OrderRecord },
  ): Promise<OrderRecord> {
    try {
      return await this.work.store.transact<OrderRecord>(sessionId, body);
    } catch (err) {
      if (err instanceof OperatorRefusedError) throw err;
      const attempt = { kind, restoreStatus: restoreStatus(), eventId: "operator" };
      await this.work.store
        .updateClaimed(
          sessionId,
          claimId,
          (order, now) =>
            releaseAttempt(attempt, order, now, `the claim's answer was lost: ${errorMessage(err)}`),
          { requireLiveLease: false, kind },
        )
        .catch(() => undefined); // it did not land (or cannot be undone now): nothing of ours is held
      throw err;
    }
  }

  private attempt(
    sessionId: string,
    claimId: string,
    kind: EmailKind,
    leaseExpiresAt: Date | null | undefined,
    log: Logger,
    eventType: string,
    restoreStatus?: Attempt["restoreStatus"],
  ): Attempt {
    return newAttempt(this.work, {
      message: OPERATOR_MESSAGE,
      eventId: eventType,
      eventType,
      sessionId,
      claimId,
      kind,
      restoreStatus,
      leaseExpiresAt: leaseExpiresAt?.getTime() ?? 0,
      deadline: this.work.newDeadline(),
      log: log.child({ session_id: sessionId, by: eventType }),
    });
  }

  /**
   * `orders retry`: decide a skipped, failed, payment_failed, cancelled or
   * awaiting_payment order again from Stripe's current state, under a fresh claim,
   * through the delivery's own code. An order whose email went out (or may have) is
   * refused, so a second run sends nothing. `dryRun`: the decision, nothing written.
   */
  async retry(
    sessionId: string,
    log: Logger,
    options: { dryRun?: boolean } = {},
  ): Promise<{ decision: CheckoutDecision } | { outcome: PushOutcome }> {
    const refuse = (order: OrderRecord | undefined, now = this.work.now()): void => {
      if (!order) throw new OperatorRefusedError(`no order ${sessionId}`);
      // A `processing` order whose attempt stopped part-way (no delivery will come for an
      // operator's command) is decided again like the status it left.
      if (!RETRYABLE_STATUSES.has(order.status) && !isStranded(order, now))
        throw new OperatorRefusedError(
          `order ${sessionId} is ${order.status}; retry decides only ${[...RETRYABLE_STATUSES].join(", ")} orders`,
        );
      if (order.email.state === "sent" || order.email.state === "sending")
        throw new OperatorRefusedError(
          `order ${sessionId}'s email is ${order.email.state}; it is never emailed again by retry`,
        );
    };
    if (options.dryRun) {
      refuse(await this.work.store.get(sessionId));
      const decision = await decideCheckout(
        { stripe: this.work.stripe, settings: this.work.settings, deadline: this.work.newDeadline() },
        sessionId,
        "retry",
      );
      return { decision };
    }
    const claimId = this.work.newClaimId();
    let restoreStatus: Attempt["restoreStatus"];
    const claimed = await this.claim(
      sessionId,
      claimId,
      "order",
      () => restoreStatus,
      (order, now) => {
        refuse(order, now);
        restoreStatus = order!.status === "processing" ? "failed" : order!.status;
        const reason = `claimed for operator retry (was ${order!.status}: ${order!.reason ?? "-"})`;
        const next: OrderRecord = {
          ...order!,
          status: "processing",
          claim_id: claimId,
          lease_expires_at: new Date(now.getTime() + this.work.settings.leaseMs),
          attempts: order!.attempts + 1,
          last_event_type: "operator.retry",
          updated_at: now,
          history: history(order!, now, "processing", reason),
        };
        return { next, result: next };
      },
    );
    const attempt = this.attempt(
      sessionId,
      claimId,
      "order",
      claimed.lease_expires_at,
      log,
      "operator.retry",
      restoreStatus,
    );
    try {
      return { outcome: await fulfilCheckout(this.work, attempt, "retry") };
    } catch (err) {
      return { outcome: await this.work.handleFailure(attempt, err) };
    }
  }

  /**
   * `orders resolve --resend` for a needs_review order whose email in doubt did not go
   * out (checked in SendGrid's activity): send it now under a fresh claim. The order
   * email is re-checked against the payment first, like any order email. At most one
   * email; an unknown outcome leaves it needs_review again.
   */
  async resend(sessionId: string, log: Logger): Promise<PushOutcome> {
    const existing = await this.work.store.get(sessionId);
    const inDoubt = existing?.status === "needs_review" ? emailInDoubt(existing) : "order";
    if (inDoubt === "stop_notice")
      return this.sendNotice(sessionId, log, "operator:resend", (order) => {
        if (order.status !== "needs_review" || emailInDoubt(order) !== "stop_notice")
          throw new OperatorRefusedError(
            `order ${sessionId} is ${order.status}, not a stop notice in review`,
          );
      });
    if (inDoubt === "resend") return this.resendUndelivered(sessionId, log, { inReview: true });
    const claimId = this.work.newClaimId();
    const claimed = await this.claim(
      sessionId,
      claimId,
      "order",
      () => "needs_review",
      (order, now) => {
        if (!order) throw new OperatorRefusedError(`no order ${sessionId}`);
        if (!isResolvable(order, now))
          throw new OperatorRefusedError(`order ${sessionId} is ${order.status}, not needs_review`);
        const reason = "operator resend";
        const next: OrderRecord = {
          ...order,
          status: "processing",
          reason,
          claim_id: claimId,
          lease_expires_at: new Date(now.getTime() + this.work.settings.leaseMs),
          email: {
            state: "none",
            error: `previous attempt: ${order.email.error ?? order.reason ?? "unknown"}`,
          },
          updated_at: now,
          history: history(order, now, "processing", reason),
        };
        return { next, result: next };
      },
    );
    const attempt = this.attempt(
      sessionId,
      claimId,
      "order",
      claimed.lease_expires_at,
      log,
      "operator.resend",
      "needs_review",
    );
    try {
      const details =
        claimed.details && !claimed.redacted_at
          ? claimed.details
          : await freshDetails(this.work, attempt, sessionId, claimed);
      const { check, verdict } = await recheckPayment(this.work, attempt, claimed, details);
      if (!verdict.ships)
        return await this.work.conclude(attempt, "cancelled", verdict.reason, {
          payment: check ? { ...check, checked_at: this.work.now() } : null,
        });
      const shipped = { ...details, ...(verdict.refunded > 0 ? { refunded: verdict.refunded } : {}) };
      const outcome = await sendUnderClaim(
        this.work,
        attempt,
        composeOrderEmail({
          sessionId,
          details: shipped,
          dispatchLink: this.work.dispatchLinkFor(sessionId),
        }),
        {
          by: "operator:resend",
          reason: "operator resend",
          prepare: (order) => ({ ...order, details: shipped }),
        },
      );
      if (outcome.result === "fulfilled" && details.mode === "subscription" && details.subscription_id)
        await this.work.setSubscriptionMarker(attempt, details.subscription_id);
      return outcome;
    } catch (err) {
      // The fence settled any unknown outcome itself: what is thrown is definite (a refusal,
      // a lost claim, a blip before the send), and handled as a delivery's would be.
      return this.work.handleFailure(attempt, err);
    }
  }

  /**
   * `orders resend SESSION_ID --undelivered`: the order email once more, for a fulfilled
   * order whose email bounced or was dropped (after the address or the suppression was
   * fixed), through the one fence under a claim on `email.resend`. Refused with the reason
   * when a refund, a dispute or a stop notice says the order must not ship, when Stripe's
   * payment says so now, or while another resend holds the claim or may have gone out (an
   * unknown outcome is never taken as free because time has passed). `inReview`: `orders
   * resolve --resend` for a resend in doubt, after the operator saw it did not go out.
   */
  async resendUndelivered(
    sessionId: string,
    log: Logger,
    options: { inReview?: boolean } = {},
  ): Promise<PushOutcome> {
    const claimId = this.work.newClaimId();
    const by = "operator:resend-undelivered";
    const claimed = await this.claim(
      sessionId,
      claimId,
      "resend",
      () => undefined,
      (order, now) => {
        const next = claimResend(order, {
          sessionId,
          claimId,
          now,
          leaseMs: this.work.settings.leaseMs,
          inReview: !!options.inReview,
        });
        return { next, result: next };
      },
    );
    const attempt = this.attempt(
      sessionId,
      claimId,
      "resend",
      claimed.email.resend?.lease_expires_at,
      log,
      by,
    );
    try {
      const details = claimed.redacted_at
        ? await freshDetails(this.work, attempt, sessionId, claimed)
        : claimed.details!;
      const { verdict } = await recheckPayment(this.work, attempt, claimed, details);
      if (!verdict.ships) {
        await this.work.update(
          attempt,
          (order, now) => releaseAttempt(attempt, order, now, `resend refused: ${verdict.reason}`),
          { requireLiveLease: false },
        );
        throw new ResendRefusedError(`order ${sessionId} is not resent: ${verdict.reason}`);
      }
      const shipped = { ...details, ...(verdict.refunded > 0 ? { refunded: verdict.refunded } : {}) };
      return await sendUnderClaim(
        this.work,
        attempt,
        composeOrderEmail({
          sessionId,
          details: shipped,
          dispatchLink: this.work.dispatchLinkFor(sessionId),
        }),
        {
          by,
          reason: "resent after a bounce or drop",
        },
      );
    } catch (err) {
      if (err instanceof OperatorRefusedError) throw err;
      return this.work.handleFailure(attempt, err);
    }
  }

  /**
   * After `orders resolve --sent` settled an order email, a refund or dispute that arrived
   * while it was in review is still owed its stop-shipment notice: send it. Null when none is owed.
   */
  async sendOwedNotice(sessionId: string, log: Logger): Promise<PushOutcome | null> {
    const order = await this.work.store.get(sessionId);
    const owed =
      order?.status === "fulfilled" &&
      order.email.state === "sent" &&
      order.stop_notice?.state !== "sent" &&
      (order.after_sale?.kind === "refunded" || order.after_sale?.kind === "disputed") &&
      order.after_sale.notice !== "sent";
    if (!owed) return null;
    return this.sendNotice(sessionId, log, "operator:owed", (current) => {
      if (current.status !== "fulfilled" || current.stop_notice?.state === "sent")
        throw new OperatorRefusedError(`order ${sessionId}'s stop notice is no longer owed`);
    });
  }

  /** Claims `stop_notice` (after `check`) and sends the notice; the order is fulfilled while it does. */
  private async sendNotice(
    sessionId: string,
    log: Logger,
    by: string,
    check: (order: OrderRecord) => void,
  ): Promise<PushOutcome> {
    const claimId = this.work.newClaimId();
    const claimed = await this.claim(
      sessionId,
      claimId,
      "stop_notice",
      () => undefined,
      (order, now) => {
        if (!order) throw new OperatorRefusedError(`no order ${sessionId}`);
        check(order);
        if (!order.after_sale)
          throw new OperatorRefusedError(`order ${sessionId} has no refund or dispute on record`);
        // The notice has one fence, like the order email: never take it over from a live
        // claim (a redelivered charge.refunded may be sending it now), and never send again
        // after a send whose outcome is unknown.
        const notice = order.stop_notice;
        if (heldLive(order, "stop_notice", now))
          throw new OperatorRefusedError(
            `order ${sessionId}'s stop notice is being sent by another attempt (its claim holds until ${notice?.lease_expires_at?.toISOString()}); look again after that`,
          );
        // (`orders resolve --resend` is the operator's answer to that doubt: there it is expected.)
        if (isInDoubt(order, "stop_notice") && by !== "operator:resend")
          throw new OperatorRefusedError(
            `order ${sessionId}'s stop notice may already have gone out (an attempt started sending it and recorded no outcome): check SendGrid's activity first`,
          );
        const reason = `${by}: stop-shipment notice`;
        const next: OrderRecord = {
          ...order,
          status: "fulfilled",
          reason,
          stop_notice: claimedRecord(order.stop_notice, {
            claimId,
            now,
            leaseMs: this.work.settings.leaseMs,
          }),
          after_sale: { ...order.after_sale, notice: "owed" },
          updated_at: now,
          history: history(order, now, "fulfilled", reason),
        };
        return { next, result: next };
      },
    );
    const attempt = this.attempt(
      sessionId,
      claimId,
      "stop_notice",
      claimed.stop_notice?.lease_expires_at,
      log,
      by,
    );
    try {
      return await sendStopNotice(this.work, attempt, claimed, by);
    } catch (err) {
      return this.work.handleFailure(attempt, err);
    }
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
    const order = await this.work.store.get(sessionId);
    const subscriptionId = order?.details?.mode === "subscription" ? order.details.subscription_id : null;
    if (!subscriptionId) return null;
    return this.work.setSubscriptionMarker(
      { sessionId, deadline: this.work.newDeadline(), log: log.child({ session_id: sessionId }) },
      subscriptionId,
    );
  }
}
