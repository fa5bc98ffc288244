/**
 * What operators do to an order through the CLI, on the same claim, send and record
 * code as a delivery: re-decide it (`orders retry`), settle a needs_review order
 * (`orders resolve --resend` / `--sent`), send a stop-shipment notice that was owed
 * while the order was in review, and mark a subscription shipped.
 */
import { claimedRecord, noticeSent, resendSent, sendUnderClaim } from "../claims/email-fence.js";
import { errorMessage } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { sendStopNotice } from "../after-sale/after-sale.js";
import { composeOrderEmail } from "../email/compose-email.js";
import { judgePayment } from "../checkout/decide-fulfilment.js";
import { decideCheckout, fulfilCheckout, type CheckoutDecision } from "../checkout/fulfil-checkout.js";
import { buildOrderDetails } from "../checkout/order-details.js";
import { isUndelivered } from "../delivery/delivery-state.js";
import type { OrderStore } from "../ports.js";
import {
  concludeOrder,
  emailInDoubt,
  emailRecordOf,
  heldLive,
  type ClaimedEmailRecord,
  isInDoubt,
  isStranded,
  RETRYABLE_STATUSES,
  type EmailKind,
  type OrderDetails,
  type OrderRecord,
  type OrderStatus,
  withHistory,
} from "../claims/order-state.js";
import {
  newAttempt,
  OPERATOR_MESSAGE,
  releaseAttempt,
  type Attempt,
  type OrderWork,
  type PushOutcome,
} from "../claims/order-work.js";

/** The operator asked for something the order's state does not allow; nothing was changed. */
export class OperatorRefusedError extends Error {}

/** The order is not one `orders resend --undelivered` may resend; nothing was changed. */
export class ResendRefusedError extends OperatorRefusedError {}

export { emailInDoubt };

/** How long SendGrid's events may take to settle a doubt before the doubt reads as "not sent". */
export const SENDGRID_EVENT_WAIT_MS = 60 * 60 * 1000;

/**
 * What `orders list --review` says of a needs_review order: which email is in doubt, and
 * what SendGrid has said of it. An event naming the attempt would have settled it, so an
 * hour of silence means SendGrid has no record: probably not sent.
 */
export function reviewNote(order: OrderRecord, now: Date): string {
  const kind = emailInDoubt(order);
  const what = { order: "order email", stop_notice: "stop notice", resend: "resent email" }[kind];
  const since = order.updated_at.getTime();
  if (now.getTime() - since < SENDGRID_EVENT_WAIT_MS)
    return `${what}: waiting for SendGrid's events (until ${new Date(since + SENDGRID_EVENT_WAIT_MS).toISOString()})`;
  return `${what}: no SendGrid record: probably not sent (check Email Activity, then resolve --resend)`;
}

/**
 * The scheduled reconcile's reminder: an ERROR `alert: needs_review` line for every order
 * still in review. A process that dies between writing needs_review and logging its alert
 * would otherwise leave an order that nobody is told about; this repeats the alert within
 * the schedule's period until an operator settles the order. Returns the orders named.
 */
export async function remindReview(
  store: Pick<OrderStore, "list">,
  log: Logger,
  now: Date,
  limit = 500,
): Promise<string[]> {
  const inReview = await store.list({ status: "needs_review", limit });
  for (const order of inReview)
    log.error(
      {
        alert: "needs_review",
        session_id: order.session_id,
        reminder: true,
        email_kind: emailInDoubt(order),
        in_doubt: reviewNote(order, now),
      },
      "order still needs review: check SendGrid's activity, then `orders resolve SESSION_ID --sent` or `--resend`",
    );
  return inReview.map((o) => o.session_id);
}

/**
 * Whether an operator may settle the order (`orders resolve`): it is needs_review, or an
 * attempt that started sending its email was stopped part-way and left it `processing`
 * (a crash of the CLI, Ctrl-C): that is an unknown outcome too.
 */
function isResolvable(order: OrderRecord, now: Date): boolean {
  return order.status === "needs_review" || (isStranded(order, now) && isInDoubt(order, "order"));
}

function history(order: OrderRecord, now: Date, status: OrderStatus, reason: string): OrderRecord["history"] {
  return withHistory(order, { at: now, status, reason, event_id: null });
}

/**
 * `orders resolve --sent`: the operator saw in SendGrid's activity that the email in
 * doubt went out. The order is fulfilled again (its order email did go out).
 */
export function confirmSentChange(
  order: OrderRecord | undefined,
  sessionId: string,
  operator: string,
  now: Date,
): OrderRecord {
  if (!order) throw new OperatorRefusedError(`no order ${sessionId}`);
  if (!isResolvable(order, now))
    throw new OperatorRefusedError(
      `order ${sessionId} is ${order.status}; only needs_review orders are resolved`,
    );
  // The record moves to `sent` as the fence would move it after SendGrid's answer.
  const kind = emailInDoubt(order);
  const what = { order: "email", stop_notice: "stop-shipment notice", resend: "resent email" }[kind];
  const reason = `operator confirmed the ${what} was sent (${operator})`;
  const record = emailRecordOf(order, kind);
  const sent: ClaimedEmailRecord = {
    ...record,
    state: "sent",
    sent_at: record.started_at ?? now,
    by: "operator:confirmed",
    claim_id: null,
    lease_expires_at: null,
  };
  const settled =
    kind === "stop_notice"
      ? noticeSent(order, sent, now, null)
      : kind === "resend"
        ? // Its message id is not known: its events are matched by the attempt that sent it.
          resendSent(order, { ...sent, message_id: null }, record.attempt_id ?? "", "operator:confirmed", now)
        : { ...order, email: { ...order.email, ...sent, state: "sent" as const } };
  return concludeOrder(settled, { status: "fulfilled", reason, now });
}

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
          : await this.freshDetails(attempt, sessionId, claimed);
      const { check, verdict } = await this.recheckPayment(attempt, claimed, details);
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
   * The details to send, read from Stripe again: the order has none recorded, or they were
   * erased (DESIGN 5c). Erased ones are used for this email only, never stored again; if
   * Stripe has erased them too, the resend is refused with the reason.
   */
  private async freshDetails(attempt: Attempt, sessionId: string, order: OrderRecord): Promise<OrderDetails> {
    const read = await this.work.read(attempt, "reading the checkout", (o) =>
      this.work.stripe.getCheckout(sessionId, o),
    );
    const details = buildOrderDetails(read.session, read.lineItems);
    if (order.redacted_at && !details.customer.email && !details.shipping?.address) {
      const reason = `the customer's details were erased on ${order.redacted_at.toISOString().slice(0, 10)} and Stripe no longer has them: there is nothing to send`;
      await this.work.update(
        attempt,
        (o, now) => releaseAttempt(attempt, o, now, `resend refused: ${reason}`),
        {
          requireLiveLease: false,
        },
      );
      throw new ResendRefusedError(`order ${sessionId} is not resent: ${reason}`);
    }
    return details;
  }

  /** The payment behind the order as Stripe has it now, and whether the order may still ship. */
  private async recheckPayment(attempt: Attempt, order: OrderRecord, details: OrderDetails) {
    const paymentIntentId = order.payment_intent_id ?? details.payment_intent_id;
    const ref =
      order.invoice_id && !order.payment_intent_id
        ? { invoiceId: order.invoice_id }
        : paymentIntentId
          ? { paymentIntentId }
          : null;
    const check = ref
      ? await this.work.read(attempt, "re-checking the payment", (o) => this.work.stripe.getPayment(ref, o))
      : null;
    return { check, verdict: judgePayment(check) };
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
        if (!order) throw new ResendRefusedError(`no order ${sessionId}`);
        const fromReview =
          !!options.inReview && order.status === "needs_review" && emailInDoubt(order) === "resend";
        if (order.status !== "fulfilled" && !fromReview)
          throw new ResendRefusedError(
            `order ${sessionId} is ${order.status}; only fulfilled orders are resent`,
          );
        const state = order.email.delivery?.state;
        if (!isUndelivered(state))
          throw new ResendRefusedError(
            `the order email's delivery state is ${state ?? "not known yet"}; only a bounce or a drop is resent`,
          );
        const sale = order.after_sale;
        if (sale?.kind === "refunded" || sale?.kind === "disputed")
          throw new ResendRefusedError(
            `order ${sessionId} was ${sale.kind} on ${sale.at.toISOString()}: it must not ship, so its email is not resent`,
          );
        const notice = order.stop_notice?.state;
        if (notice === "sent" || notice === "sending" || notice === "unknown")
          throw new ResendRefusedError(
            `order ${sessionId}'s STOP SHIPMENT notice ${notice === "sent" ? "went out" : "may have gone out"}: its email is not resent`,
          );
        const resend = order.email.resend;
        if (heldLive(order, "resend", now))
          throw new ResendRefusedError(`a resend of ${sessionId} is in progress`);
        if (!fromReview && (resend?.state === "sending" || resend?.state === "unknown"))
          throw new ResendRefusedError(
            `an earlier resend of ${sessionId} may have gone out (it recorded no outcome): check SendGrid's activity, then \`orders resolve ${sessionId} --sent\` or \`--resend\``,
          );
        if (!order.details)
          throw new ResendRefusedError(`order ${sessionId} has no recorded details to send`);
        const reason = fromReview ? "operator resend of the resent email in review" : order.reason;
        const next: OrderRecord = {
          ...order,
          status: "fulfilled",
          reason,
          email: {
            ...order.email,
            resend: claimedRecord(resend, { claimId, now, leaseMs: this.work.settings.leaseMs }),
          },
          updated_at: now,
          ...(fromReview ? { history: history(order, now, "fulfilled", reason ?? "operator resend") } : {}),
        };
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
        ? await this.freshDetails(attempt, sessionId, claimed)
        : claimed.details!;
      const { verdict } = await this.recheckPayment(attempt, claimed, details);
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
