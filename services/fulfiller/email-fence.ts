/**
 * The fence around the one email an attempt may send (the order email, or the
 * stop-shipment notice): `sending` written under a live claim, the send bounded by the
 * lease and the deadline, then `sent`, or `not_sent` and an error (a definite refusal),
 * or `needs_review` (an unknown outcome: a second email could cost a second shipment).
 */
import { errorMessage, TransientError } from "../common/errors.js";
import { serializeError } from "../common/http.js";
import { DeadlineExceededError, withDeadline } from "../common/pubsub.js";
import { inSpan } from "../common/tracing.js";
import type { OrderEmail } from "./compose-email.js";
import { MailOutcomeUnknownError, MailRefusedError } from "./errors.js";
import {
  ClaimLostError,
  concludeOrder,
  HISTORY_LIMIT,
  releaseOrder,
  type EmailRecord,
  type OrderRecord,
} from "./order-state.js";
import type { Attempt, EmailSlot, OrderWork, PushOutcome } from "./order-work.js";
import type { CallOptions } from "./ports.js";

/** Less time than this for SendGrid's answer is not worth starting a send with. */
const MIN_SEND_MS = 500;

/** How many times the write that records an accepted email is tried. */
const SENT_WRITE_TRIES = 3;

export interface SendOptions {
  /** Who sends: "automatic", "operator:resend", … */
  by: string;
  /** The status reason recorded with a sent order email. */
  reason: string;
  /** Also written with `sending` (the order's details, the payment as re-checked). */
  prepare?: (order: OrderRecord) => OrderRecord;
  /** Also written with `sent`. */
  onSent?: (order: OrderRecord) => OrderRecord;
}

/**
 * Records `sending` under a live claim, sends, and records the outcome: `sent`, or
 * `not_sent` and a thrown error (definite refusal), or needs_review (unknown outcome).
 * The send ends inside the lease and leaves the end of the attempt's deadline for
 * recording it, so no other attempt can claim the email while its outcome is unknown.
 */
export async function sendUnderClaim(
  work: OrderWork,
  attempt: Attempt,
  email: OrderEmail,
  options: SendOptions,
): Promise<PushOutcome> {
  if (work.draining) throw new TransientError("shutting down: not starting a send");
  sendTimeoutMs(work, attempt); // throws if there is already too little time to send
  const mark = await markSending(work, attempt, options);
  // The `sending` write may have taken a while: the send gets only what is left now.
  let sendOptions: CallOptions;
  try {
    sendOptions = { timeoutMs: sendTimeoutMs(work, attempt) };
  } catch (err) {
    await withdrawSending(work, attempt, mark, { release: false, why: errorMessage(err) });
    throw err;
  }
  work.sendsInFlight += 1;
  try {
    return await sendAndRecord(work, attempt, email, sendOptions, options);
  } finally {
    work.sendsInFlight -= 1;
  }
}

/**
 * How long the send may take: what is left of the attempt's work time and of its lease,
 * the end of the deadline kept back for recording the outcome. Throws TransientError
 * when that is too little to be worth starting.
 */
function sendTimeoutMs(work: OrderWork, attempt: Attempt): number {
  const what = `sending the ${label(attempt.slot)}`;
  const leaseLeftMs = attempt.leaseExpiresAt - work.clock() - attempt.deadline.reserveMs;
  const timeoutMs = Math.min(attempt.deadline.next(what, MIN_SEND_MS).timeoutMs, leaseLeftMs);
  if (timeoutMs < MIN_SEND_MS)
    throw new TransientError(`too little of the lease left to send the ${label(attempt.slot)}`);
  return timeoutMs;
}

/** What the `sending` write replaced, so that a send that never started can put it back. */
interface SendingMark {
  before: EmailRecord;
  startedAt: Date;
}

/**
 * Writes `sending` under a live claim. Inside the transaction, on every try, it refuses
 * once the attempt's deadline is too near to send: a retry the SDK makes after the
 * attempt has given up must not mark a send that will never happen. If the write is given
 * up on and commits even so, the record is put back once it lands.
 */
async function markSending(work: OrderWork, attempt: Attempt, options: SendOptions): Promise<SendingMark> {
  const reserveMs = attempt.deadline.reserveMs;
  const mark: Partial<SendingMark> = {};
  await work.update(
    attempt,
    (order, now) => {
      if (attempt.deadline.remainingMs() < reserveMs + MIN_SEND_MS)
        throw new TransientError(
          `handler deadline too near to start sending the ${label(attempt.slot)}; not recording it`,
        );
      const prepared = options.prepare ? options.prepare(order) : order;
      mark.before = emailRecord(prepared, attempt.slot);
      mark.startedAt = now;
      return withEmail(
        prepared,
        attempt.slot,
        (record) => ({ ...record, state: "sending", started_at: now, error: null }),
        now,
      );
    },
    {
      requireLiveLease: true,
      minRemainingMs: MIN_SEND_MS + reserveMs,
      ifLate: () =>
        withdrawSending(work, attempt, mark as SendingMark, {
          release: true,
          why: "the `sending` record landed after the attempt had given up",
        }),
    },
  );
  return mark as SendingMark;
}

/**
 * No send was started, but `sending` is (or may be) on record: puts the record back as it
 * was, if it is still this attempt's mark under this attempt's claim, and with `release`
 * gives the claim back too. If that fails, the order stays `sending` and the next delivery
 * makes it needs_review: safe, but an operator's minute.
 */
async function withdrawSending(
  work: OrderWork,
  attempt: Attempt,
  mark: SendingMark,
  { release, why }: { release: boolean; why: string },
): Promise<void> {
  const slot = attempt.slot;
  try {
    const change = (order: OrderRecord, now: Date): OrderRecord => {
      const current = emailRecord(order, slot);
      if (current.state !== "sending" || current.started_at?.getTime() !== mark.startedAt.getTime())
        throw new ClaimLostError(order.session_id, "the email record is no longer this attempt's `sending`");
      const restored = withEmail(order, slot, () => mark.before, now);
      if (!release) return restored;
      return slot === "stop_notice"
        ? { ...restored, stop_notice: { ...restored.stop_notice!, claim_id: null, lease_expires_at: null } }
        : releaseOrder(restored, now, why);
    };
    const check = {
      requireLiveLease: false,
      slot: slot === "stop_notice" ? "stop_notice" : "order",
    } as const;
    // Bounded by the lease, not the deadline (which may be all but spent): past the lease,
    // the claim may be another's, and then there is nothing of ours to put back.
    const boundMs = Math.max(1000, attempt.leaseExpiresAt - work.clock());
    await withDeadline(
      work.deps.store.updateClaimed(attempt.sessionId, attempt.claimId, change, check),
      boundMs,
      "putting back the email record",
    );
    attempt.log.warn(
      { reason: why, email_kind: emailKind(slot), released: release },
      `no ${label(slot)} was sent: the \`sending\` record is withdrawn`,
    );
  } catch (err) {
    attempt.log.error(
      { err: serializeError(err), reason: why, email_kind: emailKind(slot) },
      `no ${label(slot)} was sent, but its \`sending\` record could not be withdrawn; the next delivery will make the order needs_review`,
    );
  }
}

async function sendAndRecord(
  work: OrderWork,
  attempt: Attempt,
  email: OrderEmail,
  sendOptions: CallOptions,
  options: SendOptions,
): Promise<PushOutcome> {
  const { settings } = work.deps;
  const what = label(attempt.slot);
  let messageId: string | null;
  try {
    ({ messageId } = await inSpan(`sending the ${what}`, attempt.deadline.trace, () =>
      withDeadline(
        work.deps.mailer.send(
          {
            to: settings.emailTo,
            from: settings.emailFrom,
            subject: email.subject,
            text: email.text,
            html: email.html,
            customArgs: email.customArgs,
            // A dynamic template is the order email's; the stop notice is always the text itself.
            templateId: attempt.slot === "email" ? settings.templateId : undefined,
            templateData: attempt.slot === "email" ? email.templateData : undefined,
          },
          sendOptions,
        ),
        sendOptions.timeoutMs,
        `sending the ${what}`,
      ),
    ));
  } catch (err) {
    if (err instanceof MailRefusedError) {
      await work.update(
        attempt,
        (order, now) =>
          withEmail(
            order,
            attempt.slot,
            (record) => ({ ...record, state: "not_sent", error: err.message }),
            now,
          ),
        { requireLiveLease: false },
      );
      throw err.toAppError();
    }
    // Anything else (timeout, reset, an unexpected error) leaves the outcome unknown.
    const why =
      err instanceof MailOutcomeUnknownError || err instanceof DeadlineExceededError
        ? err.message
        : `unexpected: ${errorMessage(err)}`;
    return await markNeedsReview(work, attempt, `${what} outcome unknown: ${why}`);
  }
  // Logged before it is recorded: if every write below fails, the id is still on record.
  attempt.log.info(
    { sendgrid_message_id: messageId, by: options.by, email_kind: emailKind(attempt.slot) },
    `${what} accepted by SendGrid; recording it`,
  );
  try {
    await recordSent(work, attempt, messageId, options);
  } catch (err) {
    attempt.log.error(
      { err: serializeError(err), sendgrid_message_id: messageId },
      `could not record the accepted ${what}`,
    );
    return markNeedsReview(
      work,
      attempt,
      `${what} accepted by SendGrid (message id ${messageId ?? "unknown"}) but not recorded: ${errorMessage(err)}`,
    );
  }
  if (attempt.slot === "stop_notice") {
    attempt.log.warn(
      {
        outcome: "stop_notice_sent",
        sendgrid_message_id: messageId,
        by: options.by,
        email_kind: "stop_notice",
      },
      "STOP SHIPMENT notice sent",
    );
    return { ack: true, result: "stop_notice_sent", sessionId: attempt.sessionId };
  }
  // From the receiver taking the webhook to SendGrid accepting the email: the
  // webhook-to-email latency metric (DESIGN section 11) reads it from this line.
  const receivedAt = Date.parse(attempt.message.attributes.received_at ?? "");
  attempt.log.info(
    {
      outcome: "fulfilled",
      sendgrid_message_id: messageId,
      by: options.by,
      ...(Number.isFinite(receivedAt) ? { webhook_to_email_ms: work.clock() - receivedAt } : {}),
    },
    "order email sent",
  );
  return { ack: true, result: "fulfilled", sessionId: attempt.sessionId };
}

/**
 * The provider accepted it: record that even if the lease ran out meanwhile, as long
 * as nobody else claimed it (the record is the truth about the send). The write is
 * idempotent under the claim, so a Firestore blip is retried briefly rather than
 * costing an operator's minute.
 */
async function recordSent(
  work: OrderWork,
  attempt: Attempt,
  messageId: string | null,
  options: SendOptions,
): Promise<void> {
  const sent = (record: EmailRecord, now: Date): EmailRecord => ({
    ...record,
    state: "sent",
    started_at: record.started_at ?? null,
    sent_at: now,
    message_id: messageId,
    by: options.by,
    error: null,
  });
  for (let attemptNo = 1; ; attemptNo++) {
    try {
      await work.update(
        attempt,
        (current, now) => {
          const order = options.onSent ? options.onSent(current) : current;
          return attempt.slot === "email"
            ? concludeOrder(
                { ...order, email: sent(order.email, now) },
                { status: "fulfilled", reason: options.reason, now, eventId: attempt.eventId },
              )
            : noticeSent(order, sent(order.stop_notice ?? { state: "none" }, now), now, attempt.eventId);
        },
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
 * The send's outcome is unknown (or accepted but unrecordable): the order goes to an
 * operator. Acknowledged only once that is written; if the write fails the record still
 * says `sending`, and the redelivery this 503 causes turns that into needs_review.
 */
export async function markNeedsReview(
  work: OrderWork,
  attempt: Attempt,
  reason: string,
): Promise<PushOutcome> {
  try {
    await work.update(
      attempt,
      (order, now) => {
        const flagged = withEmail(order, attempt.slot, (record) => ({ ...record, error: reason }), now);
        return concludeOrder(
          attempt.slot === "stop_notice"
            ? {
                ...flagged,
                stop_notice: { ...flagged.stop_notice!, claim_id: null, lease_expires_at: null },
                after_sale: flagged.after_sale ? { ...flagged.after_sale, notice: "needs_review" } : null,
              }
            : flagged,
          { status: "needs_review", reason, now, eventId: attempt.eventId },
        );
      },
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
    { alert: "needs_review", reason, email_kind: emailKind(attempt.slot) },
    `order needs review: the ${label(attempt.slot)} may or may not have been sent; resolve with \`orders resolve\``,
  );
  return { ack: true, result: "needs_review", sessionId: attempt.sessionId, reason };
}

function label(slot: EmailSlot): string {
  return slot === "email" ? "order email" : "stop-shipment notice";
}

function emailKind(slot: EmailSlot): "order" | "stop_notice" {
  return slot === "email" ? "order" : "stop_notice";
}

/** The order's `slot` email record. */
function emailRecord(order: OrderRecord, slot: EmailSlot): EmailRecord {
  return slot === "email" ? order.email : (order.stop_notice ?? { state: "none" });
}

/** The order with its `slot` email record changed. */
function withEmail(
  order: OrderRecord,
  slot: EmailSlot,
  change: (record: EmailRecord) => EmailRecord,
  now: Date,
): OrderRecord {
  if (slot === "email") return { ...order, email: change(order.email), updated_at: now };
  return {
    ...order,
    stop_notice: { ...order.stop_notice, ...change(order.stop_notice ?? { state: "none" }) },
    updated_at: now,
  };
}

/** The stop notice went out: the notice's claim ends, the order keeps its status. */
function noticeSent(order: OrderRecord, notice: EmailRecord, now: Date, eventId: string): OrderRecord {
  return {
    ...order,
    stop_notice: { ...notice, claim_id: null, lease_expires_at: null },
    after_sale: order.after_sale ? { ...order.after_sale, notice: "sent" } : null,
    updated_at: now,
    history: [
      ...order.history,
      { at: now, status: order.status, reason: "stop-shipment notice sent", event_id: eventId },
    ].slice(-HISTORY_LIMIT),
  };
}
