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
import type { OrderStore, RedactedOrder } from "../ports.js";
import {
  DEFAULT_PII_RETENTION_DAYS,
  erasedFields,
  holdsInlinePii,
  mergeOrder,
  redactOrder,
  splitOrder,
  type CustomerData,
  type PiiOptions,
} from "../claims/customer-data.js";
import { UNDELIVERED_STATES } from "../delivery/delivery-state.js";

export const ORDERS = "orders";
export const EVENTS = "stripe_events";
/** `orders/{id}/private/customer`: the customer's details, apart (DESIGN 5c; TTL on expire_at). */
export const PRIVATE = "private";
export const CUSTOMER_DOC = "customer";
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

/** An order's two documents as the one record the domain sees. */
function recordOf(
  orderSnap: FirebaseFirestore.DocumentSnapshot | undefined,
  customerSnap: FirebaseFirestore.DocumentSnapshot | undefined,
): OrderRecord | undefined {
  const order = toOrder(orderSnap?.data());
  const customer = customerSnap?.exists ? (revive(customerSnap.data()) as CustomerData) : undefined;
  return order && mergeOrder(order, customer);
}

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

/**
 * Orders in `orders/{session_id}`, the customer's details in
 * `orders/{session_id}/private/customer`, deliveries in `stripe_events/{event_id}`. Every
 * transaction reads both order documents and writes both: the domain sees one record.
 */
export class FirestoreOrderStore implements OrderStore {
  private readonly pii: PiiOptions;

  constructor(
    private readonly db: Firestore,
    private readonly clock: () => number = Date.now,
    pii: Partial<PiiOptions> = {},
  ) {
    this.pii = {
      retentionDays: pii.retentionDays ?? DEFAULT_PII_RETENTION_DAYS,
      emailHashKey: pii.emailHashKey,
    };
  }

  private order(sessionId: string) {
    return this.db.collection(ORDERS).doc(sessionId);
  }

  private customer(sessionId: string) {
    return this.order(sessionId).collection(PRIVATE).doc(CUSTOMER_DOC);
  }

  /** Both documents of an order, in the transaction, as one record. */
  private async read(tx: FirebaseFirestore.Transaction, sessionId: string) {
    const [orderSnap, customerSnap] = await tx.getAll(this.order(sessionId), this.customer(sessionId));
    return { exists: !!orderSnap?.exists, order: recordOf(orderSnap, customerSnap) };
  }

  /** Writes the record as its two documents: the order without the details, the details apart. */
  private write(tx: FirebaseFirestore.Transaction, next: OrderRecord, now: Date): void {
    const { order, customer } = splitOrder(next, now, this.pii);
    tx.set(this.order(next.session_id), order);
    if (customer) tx.set(this.customer(next.session_id), customer);
    else if (next.redacted_at) tx.delete(this.customer(next.session_id));
  }

  private event(eventId: string) {
    return this.db.collection(EVENTS).doc(eventId);
  }

  claim(request: ClaimRequest): Promise<ClaimPlan> {
    return guard("claim", () =>
      this.db.runTransaction(async (tx) => {
        const orderRef = this.order(request.sessionId);
        const eventRef = this.event(request.eventId);
        const current = await this.read(tx, request.sessionId);
        const eventSnap = await tx.get(eventRef);
        const plan = planClaim(current.order, request);
        if (plan.outcome !== "busy" || !current.exists) this.write(tx, plan.order, request.now);
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
        const now = new Date(this.clock());
        const { order } = await this.read(tx, sessionId);
        assertClaimHeld(order, claimId, now, options);
        const next = change(order, now);
        this.write(tx, next, now);
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

  /** The whole record, the customer's details included. */
  get(sessionId: string): Promise<OrderRecord | undefined> {
    return guard("read", async () => {
      const [orderSnap, customerSnap] = await this.db.getAll(this.order(sessionId), this.customer(sessionId));
      return recordOf(orderSnap, customerSnap);
    });
  }

  redact(sessionId: string, by: string): Promise<RedactedOrder | undefined> {
    return guard("redaction", () =>
      this.db.runTransaction(async (tx) => {
        const now = new Date(this.clock());
        const { order } = await this.read(tx, sessionId);
        if (!order) return undefined;
        const erased = erasedFields(order);
        const next = redactOrder(order, now, by);
        this.write(tx, next, now);
        return { order: next, erased };
      }),
    );
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
    field: "payment_intent_id" | "subscription_id" | "invoice_id" | "customer_id" | "customer_email_hash",
    value: string,
    limit = 10,
  ): Promise<OrderRecord[]> {
    return guard("query", async () => {
      // An equality on one field: served by Firestore's automatic single-field index.
      const snap = await this.db.collection(ORDERS).where(field, "==", value).limit(limit).get();
      return snap.docs.map((doc) => toOrder(doc.data())!);
    });
  }

  transact<T>(
    sessionId: string,
    fn: (order: OrderRecord | undefined, now: Date) => { next?: OrderRecord; result: T },
  ): Promise<T> {
    return guard("transaction", () =>
      this.db.runTransaction(async (tx) => {
        const now = new Date(this.clock());
        const { order } = await this.read(tx, sessionId);
        const { next, result } = fn(order, now);
        if (next) this.write(tx, next, now);
        return result;
      }),
    );
  }

  /**
   * Order ids, in id order after `after`, whose order document still holds the customer's
   * details inline (written before the split): `orders migrate-pii` rewrites them.
   */
  async legacyPage(
    after: string | null,
    size: number,
  ): Promise<{ ids: string[]; scanned: number; last: string | null }> {
    let query = this.db.collection(ORDERS).orderBy("__name__").limit(size);
    if (after) query = query.startAfter(after);
    const snap = await guard("query", () => query.get());
    const ids = snap.docs.filter((d) => holdsInlinePii(toOrder(d.data())!)).map((d) => d.id);
    return { ids, scanned: snap.size, last: snap.docs.at(-1)?.id ?? null };
  }

  /** How many deliveries the ledger counted for an event. */
  async deliveries(eventId: string): Promise<number> {
    const snap = await this.event(eventId).get();
    return (snap.data()?.deliveries as number | undefined) ?? 0;
  }
}
