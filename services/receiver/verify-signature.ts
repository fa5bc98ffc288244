import Stripe from "stripe";
import { AppError } from "../common/errors.js";
import { isStripeEvent, type StripeEventEnvelope } from "../common/event.js";

/** Stripe's own default; the receiver applies it to timestamps in the future too. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Why a request was refused. The caller sees only `code`; `reason` is for our logs. */
export class WebhookRejectedError extends AppError {
  readonly reason: string;

  constructor(code: "missing_signature" | "invalid_signature" | "invalid_event", reason: string) {
    const message = {
      missing_signature: "the Stripe-Signature header is required",
      invalid_signature: "the Stripe-Signature header does not verify",
      invalid_event: "the signed body is not a Stripe event",
    }[code];
    super(message, { status: 400, code });
    this.reason = reason;
  }
}

export interface VerifyOptions {
  payload: Buffer;
  header: string | undefined;
  secrets: readonly string[];
  /** Milliseconds since the epoch; injectable for tests. */
  now: number;
  toleranceSeconds?: number;
}

/**
 * Verifies a webhook in small steps, each with its own refusal:
 * requireHeader → matchAnySecret (stripe-node's verifier, 300 s tolerance) →
 * rejectFutureTimestamp (which the SDK alone does not) → parseEvent.
 */
export function verifyStripeWebhook(options: VerifyOptions): StripeEventEnvelope {
  const tolerance = options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  const header = requireHeader(options.header);
  if (options.payload.length === 0) throw new WebhookRejectedError("invalid_signature", "empty body");
  // Decoded once: the SDK would decode the bytes again for every secret, and the parse once more.
  // (The signature is over the bytes; the SDK signs their UTF-8 decoding, as here.)
  const text = options.payload.toString("utf8");
  matchAnySecret(text, header, options.secrets, tolerance, options.now);
  rejectFutureTimestamp(header, tolerance, options.now);
  return parseEvent(text);
}

function requireHeader(header: string | undefined): string {
  if (header === undefined || header.trim() === "") {
    throw new WebhookRejectedError("missing_signature", "no Stripe-Signature header");
  }
  return header;
}

function matchAnySecret(
  payload: string,
  header: string,
  secrets: readonly string[],
  tolerance: number,
  now: number,
): void {
  const verifier = Stripe.webhooks.signature;
  if (!verifier) throw new Error("stripe SDK has no webhook signature helper");
  let lastReason = "no secret configured";
  for (const secret of secrets) {
    try {
      verifier.verifyHeader(payload, header, secret, tolerance, undefined, now);
      return;
    } catch (err) {
      // The SDK's message says which check failed (header format, no match, tolerance).
      lastReason = err instanceof Error ? (err.message.split("\n")[0] ?? err.message) : String(err);
    }
  }
  throw new WebhookRejectedError("invalid_signature", lastReason);
}

function rejectFutureTimestamp(header: string, tolerance: number, now: number): void {
  const match = /(?:^|,)\s*t=(\d+)\s*(?:,|$)/.exec(header);
  const timestamp = match?.[1] ? Number(match[1]) : NaN;
  if (!Number.isFinite(timestamp) || timestamp - Math.floor(now / 1000) > tolerance) {
    throw new WebhookRejectedError("invalid_signature", "timestamp is in the future beyond the tolerance");
  }
}

function parseEvent(payload: string): StripeEventEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    throw new WebhookRejectedError("invalid_event", "signed body is not JSON");
  }
  if (!isStripeEvent(parsed)) {
    throw new WebhookRejectedError("invalid_event", "signed body lacks id, type or data.object");
  }
  return parsed;
}
