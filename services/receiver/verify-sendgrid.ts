import { createPublicKey, createVerify, type KeyObject } from "node:crypto";
import { AppError } from "../common/errors.js";
import { SIGNATURE_TOLERANCE_SECONDS } from "./verify-signature.js";

export const SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature";
export const SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp";

/**
 * SendGrid posts the events of the whole account in one batch, so its cap is larger than
 * Stripe's: a batch refused for its size is refused on every retry (DESIGN 4a).
 */
export const MAX_SENDGRID_BODY_BYTES = 4 * 1024 * 1024;

/** One event of SendGrid's Event Webhook; custom_args (order_id, email_kind) are top-level fields. */
export type SendGridEvent = Record<string, unknown>;

/** Why a SendGrid batch was refused. The caller sees only `code`; `reason` is for our logs. */
export class SendGridWebhookRejectedError extends AppError {
  readonly reason: string;

  constructor(code: "missing_signature" | "invalid_signature" | "invalid_batch", reason: string) {
    const message = {
      missing_signature: `the ${SENDGRID_SIGNATURE_HEADER} and ${SENDGRID_TIMESTAMP_HEADER} headers are required`,
      invalid_signature: `the ${SENDGRID_SIGNATURE_HEADER} header does not verify`,
      invalid_batch: "the signed body is not a JSON array of events",
    }[code];
    super(message, { status: 400, code });
    this.reason = reason;
  }
}

export interface SendGridVerifyOptions {
  payload: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  /** Milliseconds since the epoch. */
  now: number;
  toleranceSeconds?: number;
}

/** A DER ECDSA signature over P-256 is at most 72 bytes; anything longer is not one. */
const MAX_SIGNATURE_BASE64_CHARS = 100;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The verification key as SendGrid's settings show it (base64 of the SPKI DER), or as a
 * PEM. Throws unless it is an ECDSA P-256 public key (caught at start-up).
 */
export function parseSendGridPublicKey(publicKey: string): KeyObject {
  const text = publicKey.trim();
  const key = text.startsWith("-----BEGIN")
    ? createPublicKey(text)
    : createPublicKey({ key: Buffer.from(text, "base64"), format: "der", type: "spki" });
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw new Error("SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA P-256 public key");
  return key;
}

/**
 * Verifies SendGrid's signed Event Webhook: an ECDSA P-256 / SHA-256 signature (base64
 * DER) over the timestamp header's value followed by the raw body, with `node:crypto`.
 * SendGrid's own library verifies in pure JavaScript, about 10 ms of blocked event loop
 * per forged post: a denial of service on a public endpoint. The timestamp must be within
 * ±300 s, as for Stripe, so a captured batch cannot be replayed later; it and the
 * signature's shape are checked before any curve arithmetic.
 */
export class SendGridWebhookVerifier {
  private readonly key: KeyObject;

  constructor(publicKey: string) {
    this.key = parseSendGridPublicKey(publicKey);
  }

  verify(options: SendGridVerifyOptions): SendGridEvent[] {
    const signature = options.signature?.trim();
    const timestamp = options.timestamp?.trim();
    if (!signature || !timestamp)
      throw new SendGridWebhookRejectedError("missing_signature", "no signature or timestamp header");
    const tolerance = options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
    const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : NaN;
    if (!Number.isFinite(seconds) || Math.abs(seconds - Math.floor(options.now / 1000)) > tolerance)
      throw new SendGridWebhookRejectedError("invalid_signature", "timestamp outside the tolerance");
    if (options.payload.length === 0)
      throw new SendGridWebhookRejectedError("invalid_signature", "empty body");
    if (signature.length > MAX_SIGNATURE_BASE64_CHARS || !BASE64.test(signature))
      throw new SendGridWebhookRejectedError("invalid_signature", "signature is not base64 DER");
    let valid: boolean;
    try {
      // What SendGrid signs: the timestamp header's value, then the body's bytes.
      valid = createVerify("sha256")
        .update(timestamp, "utf8")
        .update(options.payload)
        .verify({ key: this.key, dsaEncoding: "der" }, Buffer.from(signature, "base64"));
    } catch {
      valid = false; // a malformed signature, not a server fault
    }
    if (!valid) throw new SendGridWebhookRejectedError("invalid_signature", "signature does not match");
    return parseBatch(options.payload);
  }
}

function parseBatch(payload: Buffer): SendGridEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new SendGridWebhookRejectedError("invalid_batch", "signed body is not JSON");
  }
  if (!Array.isArray(parsed) || parsed.length === 0)
    throw new SendGridWebhookRejectedError("invalid_batch", "signed body is not a non-empty array");
  if (!parsed.every((e) => typeof e === "object" && e !== null && !Array.isArray(e)))
    throw new SendGridWebhookRejectedError("invalid_batch", "an element of the batch is not an object");
  return parsed as SendGridEvent[];
}
