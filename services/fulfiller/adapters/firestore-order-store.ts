import { FieldValue, Timestamp, type Firestore } from "@google-cloud/firestore";
import { TransientError } from "../../common/errors.js";
import {
  assertClaimHeld,
  ClaimLostError,
  planClaim,
  type ClaimCheck,
  type ClaimPlan,
  type ClaimRequest,
  type OrderRecord,
  type OrderStatus,
} from "../claims/order-state.js";
import type { OrderStore } from "../ports.js";
import { UNDELIVERED_STATES } from "../delivery/delivery-state.js";

export const ORDERS = "orders";
export const EVENTS = "stripe_events";
/** The event ledger is for observability; Firestore's TTL policy deletes entries after this. */
export const EVENT_TTL_MS = 30 * 24 * 3600 * 1000;

/** Firestore Timestamps back to Dates, deeply, so the domain sees plain data. */
function revive(value: unknown): unknown {
  if (value instanceof Timestamp) return value.toDate();
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

function toOrder(data: FirebaseData | undefined): OrderRecord | undefined {
  return data ? (revive(data) as OrderRecord) : undefined;
}
type FirebaseData = Record<string, unknown>;

/** Firestore and gRPC errors carry a numeric status code (UNAVAILABLE = 14, ...). */
function isFirestoreError(err: unknown): boolean {
  return typeof (err as { code?: unknown } | null)?.code === "number";
}

/**
 * Firestore's own failures become transient errors for the caller (Pub/Sub retries);
 * errors raised by our code inside a transaction (a lost claim, a refused
 * operator action) pass through unchanged.
 */
async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ClaimLostError || err instanceof TransientError || !isFirestoreError(err)) throw err;
    throw new TransientError(`Firestore ${what} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Orders in `orders/{session_id}`, deliveries in `stripe_events/{event_id}`. */
export class FirestoreOrderStore implements OrderStore {
  constructor(
    private readonly db: Firestore,
    private readonly clock: () => number = Date.now,
  ) {}

  private order(sessionId: string) {
    return this.db.collection(ORDERS).doc(sessionId);
  }

  private event(eventId: string) {
    return this.db.collection(EVENTS).doc(eventId);
  }

  claim(request: ClaimRequest): Promise<ClaimPlan> {
    return guard("claim", () =>
      this.db.runTransaction(async (tx) => {
        const orderRef = this.order(request.sessionId);
        const eventRef = this.event(request.eventId);
        const [orderSnap, eventSnap] = await tx.getAll(orderRef, eventRef);
        const plan = planClaim(toOrder(orderSnap?.data()), request);
        if (plan.outcome !== "busy" || !orderSnap?.exists) tx.set(orderRef, plan.order);
        else tx.update(orderRef, { event_ids: plan.order.event_ids });
        tx.set(
          eventRef,
          {
            event_type: request.eventType,
            session_id: request.sessionId,
            deliveries: FieldValue.increment(1),
            last_seen_at: request.now,
            last_outcome: plan.outcome,
            expire_at: new Date(request.now.getTime() + EVENT_TTL_MS),
            ...(eventSnap?.exists ? {} : { first_seen_at: request.now }),
          },
          { merge: true },
        );
        return plan;
      }),
    );
  }

  updateClaimed(
    sessionId: string,
    claimId: string,
    change: (order: OrderRecord, now: Date) => OrderRecord,
    options: ClaimCheck,
  ): Promise<OrderRecord> {
    return guard("update", () =>
      this.db.runTransaction(async (tx) => {
        const ref = this.order(sessionId);
        const snap = await tx.get(ref);
        const now = new Date(this.clock());
        const order = toOrder(snap.data());
        assertClaimHeld(order, claimId, now, options);
        const next = change(order, now);
        tx.set(ref, next);
        return next;
      }),
    );
  }

  recordEvent(eventId: string, eventType: string, outcome: string): Promise<void> {
    const now = new Date(this.clock());
    return guard("ledger write", async () => {
      await this.event(eventId).set(
        {
          event_type: eventType,
          deliveries: FieldValue.increment(1),
          last_seen_at: now,
          last_outcome: outcome,
          expire_at: new Date(now.getTime() + EVENT_TTL_MS),
        },
        { merge: true },
      );
    });
  }

  get(sessionId: string): Promise<OrderRecord | undefined> {
    return guard("read", async () => toOrder((await this.order(sessionId).get()).data()));
  }

  /** Newest first. With a status, this needs the (status, updated_at desc) composite index Terraform creates. */
  list(options: { status?: OrderStatus; undelivered?: boolean; limit: number }): Promise<OrderRecord[]> {
    return guard("query", async () => {
      const newest = () => {
        let query = this.db.collection(ORDERS).orderBy("updated_at", "desc").limit(options.limit);
        if (options.status) query = query.where("status", "==", options.status);
        return query;
      };
      if (!options.undelivered) return (await newest().get()).docs.map((doc) => toOrder(doc.data())!);
      // Undelivered order emails and undelivered stop notices (a bounced notice means the
      // warehouse may ship a refunded order): one query each, on the composite indexes
      // (…delivery.state, updated_at desc) Terraform creates, merged newest first.
      const snaps = await Promise.all(
        (["email", "stop_notice"] as const).map((record) =>
          newest()
            .where(`${record}.delivery.state`, "in", [...UNDELIVERED_STATES])
            .get(),
        ),
      );
      const byId = new Map<string, OrderRecord>();
      for (const doc of snaps.flatMap((snap) => snap.docs)) byId.set(doc.id, toOrder(doc.data())!);
      return [...byId.values()]
        .sort((a, b) => b.updated_at.getTime() - a.updated_at.getTime())
        .slice(0, options.limit);
    });
  }

  findBy(
    field: "payment_intent_id" | "subscription_id" | "invoice_id",
    value: string,
  ): Promise<OrderRecord[]> {
    return guard("query", async () => {
      // An equality on one field: served by Firestore's automatic single-field index.
      const snap = await this.db.collection(ORDERS).where(field, "==", value).limit(10).get();
      return snap.docs.map((doc) => toOrder(doc.data())!);
    });
  }

  transact<T>(
    sessionId: string,
    fn: (order: OrderRecord | undefined, now: Date) => { next?: OrderRecord; result: T },
  ): Promise<T> {
    return guard("transaction", () =>
      this.db.runTransaction(async (tx) => {
        const ref = this.order(sessionId);
        const snap = await tx.get(ref);
        const { next, result } = fn(toOrder(snap.data()), new Date(this.clock()));
        if (next) tx.set(ref, next);
        return result;
      }),
    );
  }

  /** How many deliveries the ledger counted for an event. */
  async deliveries(eventId: string): Promise<number> {
    const snap = await this.event(eventId).get();
    return (snap.data()?.deliveries as number | undefined) ?? 0;
  }
}
