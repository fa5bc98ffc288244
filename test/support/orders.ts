import type { Firestore } from "@google-cloud/firestore";
import type { OrderRecord, OrderStatus } from "../../services/fulfiller/claims/order-state.js";

/** Writes an order document directly, as an earlier (possibly crashed) attempt would have left it. */
export async function seedOrder(
  db: Firestore,
  sessionId: string,
  status: OrderStatus,
  extra: Partial<OrderRecord> = {},
): Promise<void> {
  const now = new Date();
  const order: OrderRecord = {
    session_id: sessionId,
    status,
    reason: null,
    claim_id: null,
    lease_expires_at: null,
    attempts: 1,
    event_ids: [],
    last_event_type: null,
    email: { state: "none" },
    history: [],
    created_at: now,
    updated_at: now,
    ...extra,
  };
  await db.collection("orders").doc(sessionId).set(order);
}
