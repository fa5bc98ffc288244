/**
 * The Stripe event contract as this product relies on it, and the Pub/Sub message
 * that carries one. Nothing here imports an SDK.
 */
import { isoTime } from "./iso-time.js";

export interface StripeEventEnvelope {
  id: string;
  object?: string;
  type: string;
  livemode: boolean;
  api_version?: string | null;
  account?: string | null;
  created?: number;
  data: { object: Record<string, unknown> & { id?: unknown; object?: unknown } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value with the shape of a Stripe event: `id`, `type` and an object in `data.object`. */
export function isStripeEvent(value: unknown): value is StripeEventEnvelope {
  if (!isRecord(value)) return false;
  if (typeof value.id !== "string" || value.id.length === 0) return false;
  if (typeof value.type !== "string" || value.type.length === 0) return false;
  if (value.object !== undefined && value.object !== "event") return false;
  return isRecord(value.data) && isRecord(value.data.object);
}

/** Parses a body as a Stripe event, or returns null. */
export function parseStripeEvent(body: string | Uint8Array): StripeEventEnvelope | null {
  try {
    const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
    const parsed: unknown = JSON.parse(text);
    return isStripeEvent(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** The `event_type` attribute of a message that carries a batch of SendGrid delivery events. */
export const SENDGRID_EVENTS_TYPE = "sendgrid.events";

/** The attribute names the receiver sets on every published Stripe event. */
export const EVENT_ATTRIBUTES = [
  "source",
  "event_id",
  "event_type",
  "object_id",
  "livemode",
  "api_version",
  "account",
  "received_at",
] as const;

/** The attribute names the dead-letter path adds; replay removes them. */
export const DEAD_LETTER_ATTRIBUTES = ["dead_letter_reason", "dead_letter_at", "dead_letter_source"] as const;

/**
 * Pub/Sub attributes for an event. Values must be strings; a null or absent value
 * is left out rather than sent as "null".
 */
export function eventAttributes(event: StripeEventEnvelope, receivedAtMs: number): Record<string, string> {
  const attributes: Record<string, string> = {
    source: "stripe",
    event_id: event.id,
    event_type: event.type,
    livemode: event.livemode ? "true" : "false",
    received_at: isoTime(receivedAtMs),
  };
  const objectId = event.data.object.id;
  if (typeof objectId === "string" && objectId) attributes.object_id = objectId;
  if (typeof event.api_version === "string" && event.api_version) attributes.api_version = event.api_version;
  if (typeof event.account === "string" && event.account) attributes.account = event.account;
  return attributes;
}
