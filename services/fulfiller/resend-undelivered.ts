import { randomUUID } from "node:crypto";
import { errorMessage } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { withDeadline } from "../common/pubsub.js";
import { composeOrderEmail } from "./compose-email.js";
import { isUndelivered } from "./delivery-state.js";
import { MailRefusedError } from "./errors.js";
import { concludeOrder, type OrderRecord } from "./order-state.js";
import { OperatorRefusedError } from "./operator-actions.js";
import type { Mailer, OrderStore } from "./ports.js";

/** The order is not one `orders resend --undelivered` may resend; nothing was changed. */
export class ResendRefusedError extends OperatorRefusedError {}

export interface ResendUndeliveredDeps {
  store: OrderStore;
  mailer: Mailer;
  settings: {
    emailTo: readonly string[];
    emailFrom: string;
    templateId?: string | undefined;
    deadlineMs: number;
  };
  log: Logger;
  clock?: () => number;
  newClaimId?: () => string;
}

export interface ResendOutcome {
  result: "resent" | "not_sent" | "needs_review";
  messageId?: string | null;
  reason?: string;
}

/**
 * A resend holds `email.resend` from its claim until it records its outcome. One that has
 * held it for twice the handler deadline is taken to have died (its outcome unknown).
 */
export function resendInFlight(order: OrderRecord, now: Date, deadlineMs: number): boolean {
  const resend = order.email.resend;
  return (
    resend?.state === "sending" &&
    !!resend.started_at &&
    now.getTime() - resend.started_at.getTime() < deadlineMs * 2
  );
}

/**
 * `orders resend SESSION_ID --undelivered`: the order email once more, for a fulfilled
 * order whose email bounced or was dropped (after the address or the suppression was
 * fixed). Under its own claim on `email.resend`, so two operators cannot both send; the
 * new message id replaces the old and the delivery state starts afresh, so a second run
 * sends nothing unless a new bounce arrives. An unknown outcome is needs_review.
 */
export async function resendUndelivered(
  sessionId: string,
  by: string,
  deps: ResendUndeliveredDeps,
): Promise<ResendOutcome> {
  const clock = deps.clock ?? Date.now;
  const claimId = (deps.newClaimId ?? randomUUID)();
  const order = await deps.store.transact<OrderRecord>(sessionId, (current, now) => {
    if (!current) throw new ResendRefusedError(`no order ${sessionId}`);
    if (current.status !== "fulfilled")
      throw new ResendRefusedError(
        `order ${sessionId} is ${current.status}; only fulfilled orders are resent`,
      );
    const state = current.email.delivery?.state;
    if (!isUndelivered(state))
      throw new ResendRefusedError(
        `the order email's delivery state is ${state ?? "not known yet"}; only a bounce or a drop is resent`,
      );
    if (resendInFlight(current, now, deps.settings.deadlineMs))
      throw new ResendRefusedError(`a resend of ${sessionId} is in progress`);
    if (!current.details) throw new ResendRefusedError(`order ${sessionId} has no recorded details to send`);
    const next = {
      ...current,
      email: { ...current.email, resend: { state: "sending" as const, claim_id: claimId, started_at: now } },
      updated_at: now,
    };
    return { next, result: next };
  });

  /** Writes the outcome only while this resend still holds `email.resend`. */
  const record = (change: (o: OrderRecord, now: Date) => OrderRecord) =>
    deps.store.transact(sessionId, (current, now) => {
      if (current?.email.resend?.claim_id !== claimId) return { result: false };
      return { next: change(current, now), result: true };
    });

  const email = composeOrderEmail({ sessionId, details: order.details! });
  let messageId: string | null;
  try {
    ({ messageId } = await withDeadline(
      deps.mailer.send(
        {
          to: deps.settings.emailTo,
          from: deps.settings.emailFrom,
          subject: email.subject,
          text: email.text,
          html: email.html,
          customArgs: email.customArgs,
          templateId: deps.settings.templateId,
          templateData: email.templateData,
        },
        { timeoutMs: deps.settings.deadlineMs },
      ),
      deps.settings.deadlineMs,
      "resending the email",
    ));
  } catch (err) {
    if (err instanceof MailRefusedError) {
      await record((o, now) => ({
        ...o,
        email: { ...o.email, resend: { state: "not_sent", error: err.message } },
        updated_at: now,
      }));
      return { result: "not_sent", reason: err.message };
    }
    const reason = `resend after ${order.email.delivery?.state ?? "a bounce"}: outcome unknown (${errorMessage(err)})`;
    await record((o, now) =>
      concludeOrder(
        { ...o, email: { ...o.email, resend: { state: "unknown", error: reason } } },
        { status: "needs_review", reason, now },
      ),
    );
    deps.log.error(
      { alert: "needs_review", session_id: sessionId, reason },
      "order needs review: resend outcome unknown",
    );
    return { result: "needs_review", reason };
  }
  deps.log.info(
    { session_id: sessionId, sendgrid_message_id: messageId, by },
    "order email resent; recording it",
  );
  await record((o, now) => ({
    ...o,
    email: {
      ...o.email,
      message_id: messageId,
      sent_at: now,
      resent_at: now,
      resent_by: by,
      resend: { state: "sent" },
      // The new message's events start afresh; the old message's are ignored from now on.
      delivery: null,
    },
    updated_at: new Date(clock()),
    history: [
      ...o.history,
      {
        at: now,
        status: o.status,
        reason: `email resent by ${by} after ${o.email.delivery?.state ?? "?"}`,
        event_id: null,
      },
    ].slice(-20),
  }));
  return { result: "resent", messageId };
}
