/**
 * Orders in review (an email whose outcome is unknown): what `orders list --review` says of
 * one, the scheduled reconcile's reminder, and `orders resolve --sent`, which settles one
 * with the fence's own transitions. What an operator may not do is refused with a reason.
 */
import { noticeSent, resendSent } from "../claims/email-records.js";
import type { Logger } from "../../common/logger.js";
import type { OrderStore } from "../ports.js";
import {
  concludeOrder,
  emailInDoubt,
  emailRecordOf,
  type ClaimedEmailRecord,
  isInDoubt,
  isStranded,
  type OrderRecord,
  type OrderStatus,
  withHistory,
} from "../claims/order-state.js";

export { emailInDoubt };

/** The operator asked for something the order's state does not allow; nothing was changed. */
export class OperatorRefusedError extends Error {}

/** The order is not one `orders resend --undelivered` may resend; nothing was changed. */
export class ResendRefusedError extends OperatorRefusedError {}

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
export function isResolvable(order: OrderRecord, now: Date): boolean {
  return order.status === "needs_review" || (isStranded(order, now) && isInDoubt(order, "order"));
}

export function history(
  order: OrderRecord,
  now: Date,
  status: OrderStatus,
  reason: string,
): OrderRecord["history"] {
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
