import { createHmac, timingSafeEqual } from "node:crypto";
import { AppError } from "../common/errors.js";
import { eventShapeProblem, type StripeWebhookEvent } from "../common/event.js";

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
 * Verifies a webhook in small steps, each with its own refusal: requireHeader →
 * parseSignatureHeader → matchAnySecret → checkTimestamp (300 s either way; the SDK
 * alone accepts any future timestamp) → parseEvent.
 *
 * This is Stripe's documented scheme (https://docs.stripe.com/webhooks/signature,
 * "verify manually"): an HMAC-SHA256, keyed by the endpoint's secret, over
 * `{t}.{raw body}`, compared in constant time with every `v1` signature in the header.
 * It reads the header exactly as stripe-node's `verifyHeader` does (a unit test checks
 * the two agree header by header), and hashes the raw bytes rather than a decoded copy.
 * Not loading the SDK keeps about 0.1 s off the receiver's start (docs/BENCHMARKS.md).
 */
export function verifyStripeWebhook(options: VerifyOptions): StripeWebhookEvent {
  const tolerance = options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  const header = requireHeader(options.header);
  if (options.payload.length === 0) throw new WebhookRejectedError("invalid_signature", "empty body");
  const parsed = parseSignatureHeader(header);
  matchAnySecret(options.payload, parsed, options.secrets);
  checkTimestamp(parsed.timestamp, tolerance, options.now);
  return parseEvent(options.payload.toString("utf8"));
}

function requireHeader(header: string | undefined): string {
  if (header === undefined || header.trim() === "") {
    throw new WebhookRejectedError("missing_signature", "no Stripe-Signature header");
  }
  return header;
}

interface SignatureHeader {
  /** `t`, in seconds since the epoch. */
  timestamp: number;
  /** Every `v1` value (Stripe sends two while an endpoint's secret is being rolled). */
  signatures: string[];
}

/**
 * `t=…,v1=…[,v1=…][,v0=…]`, read as stripe-node reads it: comma-separated `key=value`
 * parts, the key compared exactly, the value up to the next `=`, a later `t` winning.
 * Stricter in one way: `t` must be digits only (the SDK's parseInt takes "12abc" as 12).
 */
export function parseSignatureHeader(header: string): SignatureHeader {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [key, value] = part.split("=", 2);
    if (key === "t") timestamp = value !== undefined && /^\d+$/.test(value) ? Number(value) : NaN;
    else if (key === "v1") signatures.push(value ?? "");
  }
  if (timestamp === undefined)
    throw new WebhookRejectedError(
      "invalid_signature",
      "Unable to extract timestamp and signatures from header",
    );
  if (Number.isNaN(timestamp))
    throw new WebhookRejectedError("invalid_signature", "timestamp is not a whole number of seconds");
  if (signatures.length === 0)
    throw new WebhookRejectedError("invalid_signature", "No signatures found with expected scheme");
  return { timestamp, signatures };
}

function matchAnySecret(payload: Buffer, header: SignatureHeader, secrets: readonly string[]): void {
  if (secrets.length === 0) throw new WebhookRejectedError("invalid_signature", "no secret configured");
  // What was signed: the header's t, a dot, the body's bytes.
  const prefix = `${header.timestamp}.`;
  const candidates = header.signatures.map((signature) => Buffer.from(signature));
  for (const secret of secrets) {
    const expected = Buffer.from(createHmac("sha256", secret).update(prefix).update(payload).digest("hex"));
    // Every candidate is compared, in constant time for its length, before deciding.
    let matched = false;
    for (const candidate of candidates)
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    if (matched) return;
  }
  throw new WebhookRejectedError(
    "invalid_signature",
    `No signatures found matching the expected signature for payload (${secrets.length} secret${secrets.length === 1 ? "" : "s"} tried)`,
  );
}

function checkTimestamp(timestamp: number, tolerance: number, now: number): void {
  const age = Math.floor(now / 1000) - timestamp;
  if (age > tolerance)
    throw new WebhookRejectedError("invalid_signature", "Timestamp outside the tolerance zone");
  if (-age > tolerance)
    throw new WebhookRejectedError("invalid_signature", "timestamp is in the future beyond the tolerance");
}

/** A snapshot event (`id`, `type`, `data.object`) or a thin one (`id`, `object: "v2.core.event"`, `type`, `related_object`). */
function parseEvent(payload: string): StripeWebhookEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    throw new WebhookRejectedError("invalid_event", "signed body is not JSON");
  }
  const problem = eventShapeProblem(parsed);
  if (problem) throw new WebhookRejectedError("invalid_event", problem);
  return parsed as StripeWebhookEvent;
}
