import type { EventWebhook } from "@sendgrid/eventwebhook";
import { AppError } from "../common/errors.js";
import { SIGNATURE_TOLERANCE_SECONDS } from "./verify-signature.js";

export const SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature";
export const SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp";

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

/**
 * Verifies SendGrid's signed Event Webhook with its own library: an ECDSA P-256
 * signature over the timestamp header's value followed by the raw body, against the
 * verification key from SendGrid's settings (base64). The timestamp must be within
 * ±300 s, as for Stripe, so a captured batch cannot be replayed later.
 */
export class SendGridWebhookVerifier {
  private readonly key: ReturnType<EventWebhook["convertPublicKeyToECDSA"]>;

  /**
   * Loads SendGrid's library (and its ECDSA code) only where the webhook is configured:
   * it is off by default, and the library is a few per cent of the receiver's start-up.
   * Rejects when the key is not an ECDSA public key (caught at start-up).
   */
  static async create(publicKey: string): Promise<SendGridWebhookVerifier> {
    const { EventWebhook } = await import("@sendgrid/eventwebhook");
    return new SendGridWebhookVerifier(new EventWebhook(), publicKey);
  }

  private constructor(
    private readonly webhook: EventWebhook,
    publicKey: string,
  ) {
    this.key = this.webhook.convertPublicKeyToECDSA(publicKey.trim());
  }

  verify(options: SendGridVerifyOptions): SendGridEvent[] {
    const { signature, timestamp } = options;
    if (!signature?.trim() || !timestamp?.trim())
      throw new SendGridWebhookRejectedError("missing_signature", "no signature or timestamp header");
    const tolerance = options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
    const seconds = /^\d+$/.test(timestamp.trim()) ? Number(timestamp.trim()) : NaN;
    if (!Number.isFinite(seconds) || Math.abs(seconds - Math.floor(options.now / 1000)) > tolerance)
      throw new SendGridWebhookRejectedError("invalid_signature", "timestamp outside the tolerance");
    if (options.payload.length === 0)
      throw new SendGridWebhookRejectedError("invalid_signature", "empty body");
    let valid: boolean;
    try {
      valid = this.webhook.verifySignature(this.key, options.payload, signature.trim(), timestamp);
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
