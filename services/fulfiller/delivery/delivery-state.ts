/**
 * Whether an email arrived, from SendGrid's Event Webhook, as pure functions over the
 * order record. SendGrid retries a batch for up to 72 hours and does not keep batches
 * in order, so each event is counted once (by `sg_event_id`) and a weaker or older event
 * never overwrites a stronger or later one: a late `deferred` never undoes `delivered`.
 */
export const DELIVERY_STATES = [
  "processed",
  "deferred",
  "delivered",
  "bounce",
  "dropped",
  "spamreport",
] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** How far an email got: a higher rank always wins; equal ranks go by time. */
const RANK: Record<DeliveryState, number> = {
  processed: 1,
  deferred: 2,
  delivered: 3,
  bounce: 3,
  dropped: 3,
  spamreport: 4,
};

/** The states that mean the order email did not reach the warehouse. */
export const UNDELIVERED_STATES: readonly DeliveryState[] = ["bounce", "dropped"];

export type EmailKind = "order" | "stop_notice";

export interface DeliveryEvent {
  orderId: string;
  kind: EmailKind;
  state: DeliveryState;
  at: Date;
  reason: string | null;
  sgEventId: string | null;
  sgMessageId: string | null;
  /** The `attempt_id` custom arg: the claim of the attempt that sent the email. */
  attemptId: string | null;
}

export interface DeliveryRecord {
  state: DeliveryState;
  /** When SendGrid says that state was reached. */
  at: Date;
  reason: string | null;
  sg_message_id: string | null;
  /** Distinct events counted. */
  events: number;
  /** Recent `sg_event_id`s, to count a retried batch once. */
  seen: string[];
  history: { state: DeliveryState; at: Date; reason: string | null }[];
  /** The undelivered alert was logged for this state (record-deliveries.ts). */
  alerted?: boolean;
}

const SEEN_LIMIT = 100;
const HISTORY_LIMIT = 20;

function isDeliveryState(value: unknown): value is DeliveryState {
  return typeof value === "string" && (DELIVERY_STATES as readonly string[]).includes(value);
}

/**
 * The events of a batch that concern an order email: those with an `order_id` custom
 * arg and a delivery state. Others (other mail from the account, opens and clicks) are
 * left out; the count of what was left out is returned for the log line.
 */
export function parseDeliveryEvents(batch: readonly Record<string, unknown>[]): {
  events: DeliveryEvent[];
  ignored: number;
} {
  const events: DeliveryEvent[] = [];
  for (const raw of batch) {
    const orderId = raw.order_id;
    if (typeof orderId !== "string" || !orderId || !isDeliveryState(raw.event)) continue;
    const seconds = typeof raw.timestamp === "number" ? raw.timestamp : Number(raw.timestamp);
    const reason = [raw.reason, raw.response, raw.type].find(
      (v): v is string => typeof v === "string" && v !== "",
    );
    events.push({
      orderId,
      kind: raw.email_kind === "stop_notice" ? "stop_notice" : "order",
      state: raw.event,
      at: new Date(Number.isFinite(seconds) ? seconds * 1000 : 0),
      reason: reason ?? null,
      sgEventId: typeof raw.sg_event_id === "string" ? raw.sg_event_id : null,
      sgMessageId: typeof raw.sg_message_id === "string" ? raw.sg_message_id : null,
      attemptId: typeof raw.attempt_id === "string" && raw.attempt_id ? raw.attempt_id : null,
    });
  }
  return { events, ignored: batch.length - events.length };
}

/** Which email an event must name to count: the message id SendGrid returned, or the attempt that sent it. */
export interface EmailIdentity {
  message_id?: string | null;
  attempt_id?: string | null;
}

/**
 * Whether `event` is about `email` (DESIGN 4a): SendGrid's sg_message_id starts with the
 * X-Message-Id the send returned, or the event's `attempt_id` custom arg names the attempt
 * that sent it. An event that names only the order is someone else's email in the same
 * account (a forged or stray one could otherwise fake a bounce, and a resend ship twice).
 */
export function ofEmail(event: DeliveryEvent, email: EmailIdentity): boolean {
  if (email.message_id && event.sgMessageId?.startsWith(email.message_id)) return true;
  return !!email.attempt_id && event.attemptId === email.attempt_id;
}

/** The X-Message-Id a send returned, from an event's sg_message_id (`ID.filter…`). */
export function messageIdOf(event: DeliveryEvent): string | null {
  return event.sgMessageId?.split(".")[0] || null;
}

/**
 * The record after `events` (all for one email). Events of another email than `email`
 * (an earlier send before a resend, someone else's) and events already counted change
 * nothing. `became` names the state the email moved to, if it moved.
 */
export function applyDeliveryEvents(
  current: DeliveryRecord | null | undefined,
  events: readonly DeliveryEvent[],
  email: EmailIdentity,
): { next: DeliveryRecord | null; became: DeliveryState | null } {
  let next = current ? { ...current, seen: [...current.seen], history: [...current.history] } : null;
  const before = current?.state ?? null;
  const ordered = [...events].sort((a, b) => a.at.getTime() - b.at.getTime());
  for (const event of ordered) {
    if (!ofEmail(event, email)) continue;
    if (event.sgEventId && next?.seen.includes(event.sgEventId)) continue;
    const base: DeliveryRecord = next ?? {
      state: event.state,
      at: event.at,
      reason: event.reason,
      sg_message_id: event.sgMessageId,
      events: 0,
      seen: [],
      history: [],
    };
    const wins =
      !next ||
      RANK[event.state] > RANK[next.state] ||
      (RANK[event.state] === RANK[next.state] && event.at.getTime() > next.at.getTime());
    next = {
      ...base,
      ...(wins
        ? {
            state: event.state,
            at: event.at,
            reason: event.reason,
            sg_message_id: event.sgMessageId,
            // A new state is alerted afresh (record-deliveries.ts).
            ...(event.state !== base.state ? { alerted: false } : {}),
          }
        : {}),
      events: base.events + 1,
      seen: event.sgEventId ? [...base.seen, event.sgEventId].slice(-SEEN_LIMIT) : base.seen,
      history: [...base.history, { state: event.state, at: event.at, reason: event.reason }].slice(
        -HISTORY_LIMIT,
      ),
    };
  }
  const became = next && next.state !== before ? next.state : null;
  return { next, became };
}

export function isUndelivered(state: DeliveryState | null | undefined): boolean {
  return !!state && UNDELIVERED_STATES.includes(state);
}
