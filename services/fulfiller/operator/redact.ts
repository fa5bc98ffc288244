/**
 * Erasure of a customer's personal details (DESIGN 5c): `orders redact` (by order or by
 * email), and Stripe's `customer.deleted`. In place: status, fences and ids stay, so a
 * redelivered or replayed event is still a duplicate and sends nothing.
 */
import type { Logger } from "../../common/logger.js";
import { serializeError } from "../../common/http.js";
import { emailHash, erasedFields } from "../claims/customer-data.js";
import type { Deadline } from "../claims/deadline.js";
import { transientFailure, type OrderWork, type PushOutcome } from "../claims/order-work.js";
import type { OrderStore } from "../ports.js";

export interface Redaction {
  session_id: string;
  /** What was erased, by name; empty when nothing was left (already redacted, or expired). */
  erased: string[];
  redacted_at: string | null;
  already: boolean;
}

/** Redacts one order; undefined when there is no such order. `dryRun`: says what would go. */
export async function redactOrderById(
  store: Pick<OrderStore, "get" | "redact">,
  sessionId: string,
  by: string,
  dryRun = false,
): Promise<Redaction | undefined> {
  const before = await store.get(sessionId);
  if (!before) return undefined;
  const already = !!before.redacted_at;
  if (dryRun) return { session_id: sessionId, erased: erasedFields(before), redacted_at: null, already };
  const done = await store.redact(sessionId, by);
  return {
    session_id: sessionId,
    erased: done?.erased ?? [],
    redacted_at: done?.order.redacted_at?.toISOString() ?? null,
    already,
  };
}

/** The orders whose customer's email is `email`, by its keyed hash (the database keeps no address). */
export async function ordersOfEmail(
  store: Pick<OrderStore, "findBy">,
  key: string,
  email: string,
): Promise<string[]> {
  const orders = await store.findBy("customer_email_hash", emailHash(key, email), 1000);
  return orders.map((o) => o.session_id);
}

/** `customer.deleted`: every order of that Stripe customer has its details erased. */
export async function redactCustomer(
  work: OrderWork,
  event: { eventId: string; customerId: string; deadline: Deadline; log: Logger },
): Promise<PushOutcome> {
  try {
    const orders = await event.deadline.record("finding the customer's orders", () =>
      work.store.findBy("customer_id", event.customerId, 1000),
    );
    const erased: string[] = [];
    for (const order of orders.filter((o) => !o.redacted_at)) {
      await event.deadline.record("erasing an order's details", () =>
        work.store.redact(order.session_id, `stripe:customer.deleted ${event.eventId}`),
      );
      erased.push(order.session_id);
    }
    event.log.info(
      { event_id: event.eventId, outcome: "redacted", orders: erased.length, customer_id: event.customerId },
      "customer deleted in Stripe: their orders' personal details erased",
    );
    return { ack: true, result: "redacted", reason: `${erased.length} order(s) redacted` };
  } catch (err) {
    event.log.warn(
      { err: serializeError(err), event_id: event.eventId },
      "could not redact; Pub/Sub will redeliver",
    );
    return transientFailure((err as Error).message);
  }
}
