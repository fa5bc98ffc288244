import { DEAD_LETTER_ATTRIBUTES } from "../common/event.js";
import type { DeadLetter } from "./dead-letters.js";

/** Pub/Sub's own dead-lettering (after max delivery attempts) adds these. */
export const PUBSUB_DLQ_PREFIX = "CloudPubSubDeadLetterSource";

export interface DeadLetterRow {
  message_id: string;
  event_id: string | null;
  event_type: string | null;
  reason: string;
  delivery_count: number | null;
  source_subscription: string | null;
  published_at: string | null;
  replay_count: number;
}

export function describeDeadLetter(m: DeadLetter): DeadLetterRow {
  const a = m.attributes;
  const pubsubCount = a[`${PUBSUB_DLQ_PREFIX}DeliveryCount`];
  const reason =
    a.dead_letter_reason ??
    (pubsubCount
      ? `delivery attempts exhausted (${pubsubCount} deliveries, Pub/Sub dead-lettered it)`
      : "unknown");
  return {
    message_id: m.messageId,
    event_id: a.event_id ?? null,
    event_type: a.event_type ?? null,
    reason,
    delivery_count: pubsubCount ? Number(pubsubCount) : m.deliveryAttempt,
    source_subscription: a[`${PUBSUB_DLQ_PREFIX}Subscription`] ?? a.dead_letter_source ?? null,
    published_at: m.publishTime?.toISOString() ?? null,
    replay_count: Number(a.replay_count ?? 0),
  };
}

/** The attributes a replay publishes: the original ones, minus every dead-letter one, plus the replay's own. */
export function replayAttributes(attributes: Record<string, string>, now: Date): Record<string, string> {
  const out: Record<string, string> = {};
  const dropped = new Set<string>(DEAD_LETTER_ATTRIBUTES);
  for (const [key, value] of Object.entries(attributes)) {
    if (dropped.has(key) || key.startsWith("dead_letter_") || key.startsWith(PUBSUB_DLQ_PREFIX)) continue;
    out[key] = value;
  }
  out.replayed_at = now.toISOString();
  out.replay_count = String(Number(attributes.replay_count ?? 0) + 1);
  return out;
}
