/**
 * The one fence around every email the product sends (the order email, the stop-shipment
 * notice, the operator's resend after a bounce, and any kind added later): `sending`
 * written under a live claim, with the attempt's id, which also rides in SendGrid's
 * custom_args; the send bounded by the lease and the deadline; then `sent`, or `not_sent`
 * and an error (a definite refusal), or `needs_review` (an unknown outcome: a second
 * email could cost a second shipment). Nothing else writes an email record's state.
 */
import { errorMessage, TransientError } from "../../common/errors.js";
import { serializeError } from "../../common/http.js";
import { DeadlineExceededError, withDeadline } from "../../common/pubsub.js";
import { inSpan } from "../../common/tracing.js";
import type { OrderEmail } from "../email/compose-email.js";
import { MailOutcomeUnknownError, MailRefusedError } from "../errors.js";
import {
  ClaimLostError,
  concludeOrder,
  emailRecordOf,
  withEmailRecord,
  type ClaimedEmailRecord,
  type EmailKind,
  type OrderRecord,
} from "./order-state.js";
import {
  releaseAttempt,
  transientFailure,
  type Attempt,
  type OrderWork,
  type PushOutcome,
} from "./order-work.js";
import { noticeSent, resendSent } from "./email-records.js";
import type { CallOptions } from "../ports.js";

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
  const what = `sending the ${label(attempt.kind)}`;
  const leaseLeftMs = attempt.leaseExpiresAt - work.clock() - attempt.deadline.reserveMs;
  const timeoutMs = Math.min(attempt.deadline.next(what, MIN_SEND_MS).timeoutMs, leaseLeftMs);
  if (timeoutMs < MIN_SEND_MS)
    throw new TransientError(`too little of the lease left to send the ${label(attempt.kind)}`);
  return timeoutMs;
}

/** What the `sending` write replaced, so that a send that never started can put it back. */
interface SendingMark {
  before: ClaimedEmailRecord;
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
          `handler deadline too near to start sending the ${label(attempt.kind)}; not recording it`,
        );
      const prepared = options.prepare ? options.prepare(order) : order;
      mark.before = emailRecordOf(prepared, attempt.kind);
      mark.startedAt = now;
      return withEmailRecord(
        prepared,
        attempt.kind,
        (record) => ({
          ...record,
          state: "sending",
          started_at: now,
          attempt_id: attempt.claimId,
          error: null,
        }),
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
  const kind = attempt.kind;
  try {
    const change = (order: OrderRecord, now: Date): OrderRecord => {
      const current = emailRecordOf(order, kind);
      if (current.state !== "sending" || current.started_at?.getTime() !== mark.startedAt.getTime())
        throw new ClaimLostError(order.session_id, "the email record is no longer this attempt's `sending`");
      const restored = withEmailRecord(order, kind, () => mark.before, now);
      return release ? releaseAttempt(attempt, restored, now, why) : restored;
    };
    const check = { requireLiveLease: false, kind } as const;
    // Bounded by the lease, not the deadline (which may be all but spent): past the lease,
    // the claim may be another's, and then there is nothing of ours to put back.
    const boundMs = Math.max(1000, attempt.leaseExpiresAt - work.clock());
    await withDeadline(
      work.deps.store.updateClaimed(attempt.sessionId, attempt.claimId, change, check),
      boundMs,
      "putting back the email record",
    );
    attempt.log.warn(
      { reason: why, email_kind: kind, released: release },
      `no ${label(kind)} was sent: the \`sending\` record is withdrawn`,
    );
  } catch (err) {
    attempt.log.error(
      { err: serializeError(err), reason: why, email_kind: kind },
      `no ${label(kind)} was sent, but its \`sending\` record could not be withdrawn; the next delivery will make the order needs_review`,
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
  const what = label(attempt.kind);
  // The order email and its resend are the same email: the dynamic template is theirs,
  // and the stop notice is always the text itself.
  const isOrderEmail = attempt.kind !== "stop_notice";
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
            // SendGrid copies these onto every event: the attempt's id proves which send it was.
            customArgs: { ...email.customArgs, attempt_id: attempt.claimId },
            templateId: isOrderEmail ? settings.templateId : undefined,
            templateData: isOrderEmail ? email.templateData : undefined,
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
          withEmailRecord(
            order,
            attempt.kind,
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
  // Logged before it is recorded: if every write below fails, the id is still on record
  // (an operator's command also prints it with its outcome).
  attempt.log.info(
    { sendgrid_message_id: messageId, by: options.by, email_kind: attempt.kind, attempt_id: attempt.claimId },
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
  if (attempt.kind === "resend") {
    attempt.log.info(
      { outcome: "resent", sendgrid_message_id: messageId, by: options.by, email_kind: "resend" },
      "order email resent",
    );
    return { ack: true, result: "resent", sessionId: attempt.sessionId, messageId };
  }
  if (attempt.kind === "stop_notice") {
    attempt.log.warn(
      {
        outcome: "stop_notice_sent",
        sendgrid_message_id: messageId,
        by: options.by,
        email_kind: "stop_notice",
      },
      "STOP SHIPMENT notice sent",
    );
    return { ack: true, result: "stop_notice_sent", sessionId: attempt.sessionId, messageId };
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
  return { ack: true, result: "fulfilled", sessionId: attempt.sessionId, messageId };
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
  const sent = (record: ClaimedEmailRecord, now: Date): ClaimedEmailRecord => ({
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
          const record = sent(emailRecordOf(order, attempt.kind), now);
          switch (attempt.kind) {
            case "order":
              return concludeOrder(
                { ...order, email: { ...order.email, ...record, state: "sent" } },
                { status: "fulfilled", reason: options.reason, now, eventId: attempt.eventId },
              );
            case "stop_notice":
              return noticeSent(order, record, now, attempt.eventId);
            case "resend":
              return resendSent(order, record, attempt.claimId, options.by, now);
          }
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
        // The record keeps `sending` (the doubt), the claim ends, and the order waits for an
        // operator or for SendGrid's event naming this attempt (record-deliveries.ts).
        const flagged = withEmailRecord(
          order,
          attempt.kind,
          (record) => ({
            ...record,
            error: reason,
            ...(attempt.kind === "order" ? {} : { claim_id: null, lease_expires_at: null }),
          }),
          now,
        );
        return concludeOrder(
          attempt.kind === "stop_notice" && flagged.after_sale
            ? { ...flagged, after_sale: { ...flagged.after_sale, notice: "needs_review" } }
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
    return transientFailure(reason, attempt.sessionId);
  }
  attempt.log.error(
    { alert: "needs_review", reason, email_kind: attempt.kind, attempt_id: attempt.claimId },
    `order needs review: the ${label(attempt.kind)} may or may not have been sent; resolve with \`orders resolve\``,
  );
  return { ack: true, result: "needs_review", sessionId: attempt.sessionId, reason };
}

function label(kind: EmailKind): string {
  return { order: "order email", stop_notice: "stop-shipment notice", resend: "resent order email" }[kind];
}
