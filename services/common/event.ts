/**
 * The Stripe event contract as this product relies on it, and the Pub/Sub message
 * that carries one. Nothing here imports an SDK.
 *
 * Stripe delivers an event in one of two payload styles, chosen per event destination:
 * - snapshot (`object: "event"`, or absent in very old payloads): `id`, `type` such as
 *   `checkout.session.completed`, and the object as it was in `data.object`;
 * - thin (`object: "v2.core.event"`): `id`, `type` such as `v1.checkout.session.completed`,
 *   and `related_object` (`id`, `type`, `url`) naming what changed, with no copy of it;
 *   `context` names a connected account, `snapshot_event` the snapshot twin if any
 *   (stripe-node's `EventNotificationBase` and `V1…EventNotification` types).
 * The pipeline re-reads everything it decides on from the API, so either carries enough.
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

export interface ThinEventEnvelope {
  id: string;
  object: "v2.core.event";
  /** `v1.<snapshot type>` for v1 resources, `v2.…` for v2 ones. */
  type: string;
  livemode: boolean;
  /** RFC 3339, where a snapshot event has seconds since the epoch. */
  created?: string;
  related_object: { id: string; type: string; url?: string };
  /** The connected account (Connect), where a snapshot event has `account`. */
  context?: string | null;
  reason?: unknown;
  snapshot_event?: string | null;
}

/** A verified webhook body in either payload style. */
export type StripeWebhookEvent = StripeEventEnvelope | ThinEventEnvelope;

export type PayloadStyle = "snapshot" | "thin";

export const THIN_EVENT_OBJECT = "v2.core.event";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasIdAndType(value: Record<string, unknown>): boolean {
  return (
    typeof value.id === "string" &&
    value.id.length > 0 &&
    typeof value.type === "string" &&
    value.type.length > 0
  );
}

/** A value with the shape of a snapshot Stripe event: `id`, `type` and an object in `data.object`. */
export function isStripeEvent(value: unknown): value is StripeEventEnvelope {
  if (!isRecord(value) || !hasIdAndType(value)) return false;
  if (value.object !== undefined && value.object !== "event") return false;
  return isRecord(value.data) && isRecord(value.data.object);
}

/** A value with the shape of a thin event: `id`, `object: "v2.core.event"`, `type`, `related_object.id`/`type`. */
export function isThinEvent(value: unknown): value is ThinEventEnvelope {
  if (!isRecord(value) || !hasIdAndType(value) || value.object !== THIN_EVENT_OBJECT) return false;
  const related = value.related_object;
  return (
    isRecord(related) &&
    typeof related.id === "string" &&
    related.id.length > 0 &&
    typeof related.type === "string" &&
    related.type.length > 0
  );
}

export function payloadStyleOf(event: StripeWebhookEvent): PayloadStyle {
  return event.object === THIN_EVENT_OBJECT ? "thin" : "snapshot";
}

export function isThin(event: StripeWebhookEvent): event is ThinEventEnvelope {
  return payloadStyleOf(event) === "thin";
}

/** Why a JSON value is not an event of either style, or null when it is one. */
export function eventShapeProblem(value: unknown): string | null {
  if (isStripeEvent(value) || isThinEvent(value)) return null;
  if (isRecord(value) && value.object === THIN_EVENT_OBJECT)
    return "thin event lacks id, type or related_object";
  return "signed body lacks id, type or data.object";
}

/** Parses a body as a Stripe event of either style, or returns null. */
export function parseStripeEvent(body: string | Uint8Array): StripeWebhookEvent | null {
  try {
    const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
    const parsed: unknown = JSON.parse(text);
    return isStripeEvent(parsed) || isThinEvent(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * What the pipeline reads of an event, the same for both styles: Stripe's snapshot
 * type name (`v1.` dropped), the id of what it is about, the connected account if any,
 * and, for a snapshot event only, the object as it was.
 */
export interface EventNotice {
  id: string;
  /** The snapshot name: `charge.refunded` for both `charge.refunded` and `v1.charge.refunded`. */
  type: string;
  /** Stripe's own name, as the event carries it. */
  stripeType: string;
  style: PayloadStyle;
  livemode: boolean;
  account: string | null;
  /** `data.object.id`, or `related_object.id`. */
  objectId: string | null;
  /** `data.object` of a snapshot event; null for a thin one. */
  snapshot: Record<string, unknown> | null;
}

export function noticeOf(event: StripeWebhookEvent): EventNotice {
  if (isThin(event)) {
    return {
      id: event.id,
      type: event.type.startsWith("v1.") ? event.type.slice(3) : event.type,
      stripeType: event.type,
      style: "thin",
      livemode: event.livemode === true,
      account: typeof event.context === "string" && event.context ? event.context : null,
      objectId: event.related_object.id,
      snapshot: null,
    };
  }
  const objectId = event.data.object.id;
  return {
    id: event.id,
    type: event.type,
    stripeType: event.type,
    style: "snapshot",
    livemode: event.livemode === true,
    account: typeof event.account === "string" && event.account ? event.account : null,
    objectId: typeof objectId === "string" && objectId ? objectId : null,
    snapshot: event.data.object,
  };
}

/** The `event_type` of the warehouse's dispatch confirmation (receiver's /dispatch form, DESIGN 5b). */
export const DISPATCH_CONFIRMED_TYPE = "dispatch.confirmed";

/** The message the fulfiller records (published as `dispatch.confirmed`, source `warehouse`). */
export interface DispatchConfirmed {
  type: "dispatch.confirmed";
  /** One per submission: a repeated post is a new message the fulfiller dedupes by number. */
  id: string;
  session_id: string;
  carrier: string;
  tracking_number: string;
  tracking_url: string | null;
  /** ISO 8601, as the receiver took it. */
  confirmed_at: string;
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
  "payload_style",
  "received_at",
] as const;

/** The attribute names the dead-letter path adds; replay removes them. */
export const DEAD_LETTER_ATTRIBUTES = ["dead_letter_reason", "dead_letter_at", "dead_letter_source"] as const;

/**
 * Pub/Sub attributes for an event of either style. Values must be strings; a null or
 * absent value is left out rather than sent as "null". `event_type` keeps Stripe's
 * name (`v1.checkout.session.completed` for a thin event); `object_id` is what the
 * event is about; `account` the connected account (`account`, or a thin event's
 * `context`); `payload_style` says which of the two shapes the data is.
 */
export function eventAttributes(
  event: StripeWebhookEvent,
  receivedAtMs: number,
  notice: EventNotice = noticeOf(event),
): Record<string, string> {
  const attributes: Record<string, string> = {
    source: "stripe",
    event_id: event.id,
    event_type: event.type,
    livemode: notice.livemode ? "true" : "false",
    payload_style: notice.style,
    received_at: isoTime(receivedAtMs),
  };
  if (notice.objectId) attributes.object_id = notice.objectId;
  if (!isThin(event) && typeof event.api_version === "string" && event.api_version)
    attributes.api_version = event.api_version;
  if (notice.account) attributes.account = notice.account;
  return attributes;
}
