/**
 * What an attempt on an order is, and the words every kind of work answers in: the
 * fulfiller's settings and dependencies, an attempt (its message, its claim, its kind of
 * email, its deadline), and a push outcome (acknowledged or not, and why). The machinery
 * that runs attempts is order-work.ts, which re-exports these.
 */
import type { Logger } from "../../common/logger.js";
import type { MessagePublisher } from "../../common/pubsub.js";
import type { Deadline } from "./deadline.js";
import type { EmailKind, OrderStatus } from "./order-state.js";
import type { Mailer, OrderStore, StripeCatalog } from "../ports.js";
import type { PushMessage } from "../push/push-envelope.js";

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
  /** The signed dispatch link in each order email (DESIGN 5b); unset: no link. */
  dispatch?: { secret: string; baseUrl: string } | undefined;
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
  | "cancelled"
  | "duplicate"
  | "ignored"
  | "needs_review"
  | "dead_lettered"
  | "busy"
  | "claim_lost"
  | "transient_failure"
  | "delivery_recorded"
  | "failed"
  | "after_sale_recorded"
  | "stop_notice_sent"
  | "resent"
  | "dispatched"
  | "redacted";

export interface PushOutcome {
  ack: boolean;
  result: PushResult;
  sessionId?: string;
  reason?: string;
  /** The SendGrid message id of an email this outcome sent. */
  messageId?: string | null;
}

/** Not acknowledged: Pub/Sub redelivers (the subscription's backoff is the retry). */
export function transientFailure(reason: string, sessionId?: string): PushOutcome {
  return { ack: false, result: "transient_failure", reason, ...(sessionId ? { sessionId } : {}) };
}

/** An attempt of `kind` on one order, for one message; its claim is taken by the caller. */
export function newAttempt(
  work: { newClaimId: () => string },
  spec: Pick<Attempt, "message" | "eventId" | "eventType" | "sessionId" | "kind" | "deadline" | "log"> &
    Partial<Pick<Attempt, "claimId" | "leaseExpiresAt" | "restoreStatus">>,
): Attempt {
  return { claimId: work.newClaimId(), leaseExpiresAt: 0, ...spec };
}

export const SUBSCRIPTION_MARKER = "initial_order_processed";

/** Pub/Sub's limit on one attribute value, in bytes. */
export const MAX_ATTRIBUTE_VALUE_BYTES = 1024;

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

export interface Attempt {
  message: PushMessage;
  eventId: string;
  eventType: string;
  sessionId: string;
  claimId: string;
  /**
   * Which email it may send, and so which claim it holds: "order", the order's own claim
   * (status processing); "stop_notice" and "resend", the claim on that email's record.
   */
  kind: EmailKind;
  /** An operator's attempt: the status the order goes back to if it ends part-way (never stranded). */
  restoreStatus?: Exclude<OrderStatus, "processing"> | undefined;
  /** When this attempt's claim runs out (set once claimed). */
  leaseExpiresAt: number;
  deadline: Deadline;
  log: Logger;
}

/** A message that is not a push delivery (an operator's action). */
export const OPERATOR_MESSAGE: PushMessage = {
  messageId: "operator",
  publishTime: null,
  attributes: {},
  data: Buffer.alloc(0),
  rawData: "",
  subscription: null,
  deliveryAttempt: null,
};

export type RecordStatus = Exclude<OrderStatus, "processing" | "failed" | "needs_review">;
