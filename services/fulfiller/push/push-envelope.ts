import { AppError } from "../../common/errors.js";

/** A Pub/Sub push request's message, in the emulator's and production's spellings. */
export interface PushMessage {
  messageId: string;
  publishTime: string | null;
  attributes: Record<string, string>;
  /** The decoded payload bytes. */
  data: Buffer;
  /** The base64 text as received, so a dead-lettered copy is the original. */
  rawData: string;
  subscription: string | null;
  deliveryAttempt: number | null;
}

export class BadEnvelopeError extends AppError {
  constructor(reason: string) {
    super(`not a Pub/Sub push envelope: ${reason}`, { status: 400, code: "bad_envelope" });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Parses `{message:{data, attributes, messageId|message_id, publishTime|publish_time},
 * subscription, deliveryAttempt?}`. A request that is not an envelope at all gets 400
 * (it did not come from Pub/Sub); a message whose data cannot be decoded is returned
 * with `data` empty, and the caller dead-letters it with the reason.
 */
export function parsePushEnvelope(body: unknown): PushMessage & { dataProblem: string | null } {
  if (!isRecord(body)) throw new BadEnvelopeError("body is not a JSON object");
  const message = body.message;
  if (!isRecord(message)) throw new BadEnvelopeError("no message object");
  const messageId = message.messageId ?? message.message_id;
  if (typeof messageId !== "string" || !messageId) throw new BadEnvelopeError("message has no messageId");
  const attributes: Record<string, string> = {};
  if (message.attributes !== undefined && message.attributes !== null) {
    if (!isRecord(message.attributes)) throw new BadEnvelopeError("attributes is not an object");
    for (const [key, value] of Object.entries(message.attributes)) {
      if (typeof value === "string") attributes[key] = value;
    }
  }
  const publishTime = message.publishTime ?? message.publish_time;
  const rawData = typeof message.data === "string" ? message.data : "";
  let dataProblem: string | null = null;
  let data = Buffer.alloc(0);
  if (typeof message.data !== "string" || message.data.length === 0) {
    dataProblem = "message has no data";
  } else if (!BASE64.test(message.data.replace(/\s/g, ""))) {
    dataProblem = "message data is not base64";
  } else {
    data = Buffer.from(message.data, "base64");
  }
  const attempt = body.deliveryAttempt ?? body.delivery_attempt;
  return {
    messageId,
    publishTime: typeof publishTime === "string" ? publishTime : null,
    attributes,
    data,
    rawData,
    subscription: typeof body.subscription === "string" ? body.subscription : null,
    deliveryAttempt: typeof attempt === "number" ? attempt : null,
    dataProblem,
  };
}
