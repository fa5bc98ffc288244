/**
 * SendGrid's signed Event Webhook, as the local capture server plays it back: realistic
 * event objects, and the ECDSA P-256 signature over the timestamp followed by the body,
 * with a development key pair the local stack makes at start (tests make their own).
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

export interface SendGridKeyPair {
  privateKey: KeyObject;
  /** What SendGrid's settings show as the verification key: base64 of the SPKI DER. */
  publicKeyBase64: string;
}

export function generateSendGridKeyPair(): SendGridKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return {
    privateKey,
    publicKeyBase64: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
  };
}

/** The two headers SendGrid sends with a batch. */
export function signSendGridBatch(
  payload: string,
  privateKey: KeyObject,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = sign("sha256", Buffer.from(`${timestamp}${payload}`), privateKey).toString("base64");
  return {
    "X-Twilio-Email-Event-Webhook-Signature": signature,
    "X-Twilio-Email-Event-Webhook-Timestamp": String(timestamp),
  };
}

/** One event as SendGrid posts it: custom_args are top-level fields. */
export function buildSendGridEvent(options: {
  event: string;
  email: string;
  messageId: string;
  customArgs: Record<string, string>;
  timestamp?: number;
  reason?: string;
}): Record<string, unknown> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    email: options.email,
    timestamp,
    "smtp-id": `<${options.messageId}@ismtpd0001p1lon1.sendgrid.net>`,
    event: options.event,
    category: [],
    sg_event_id: randomBytes(16).toString("base64url"),
    sg_message_id: `${options.messageId}.filterdrecv-6d8b8d9d7-abcde-1-${timestamp}-0`,
    ...options.customArgs,
    ...(options.event === "delivered" ? { response: "250 2.0.0 OK", ip: "168.245.1.1", tls: 1 } : {}),
    ...(options.event === "bounce"
      ? {
          reason: options.reason ?? "550 5.1.1 The email account that you tried to reach does not exist.",
          status: "5.1.1",
          type: "bounce",
          bounce_classification: "Invalid Address",
        }
      : {}),
    ...(options.event === "dropped" ? { reason: options.reason ?? "Bounced Address" } : {}),
    ...(options.event === "deferred" ? { response: "450 4.2.1 try again later", attempt: "1" } : {}),
  };
}
