/**
 * An OrderStore in memory with the port's transaction semantics: a transaction reads the
 * document, runs the same pure functions as FirestoreOrderStore, and commits all or
 * nothing; documents are copied in and out, as Firestore's are. Faults are FaultyStore's.
 */
import { erasedFields, redactOrder, splitOrder } from "../../services/fulfiller/claims/customer-data.js";

const PII = { retentionDays: 180 };
import {
  assertClaimHeld,
  planClaim,
  type ClaimCheck,
  type ClaimPlan,
  type ClaimRequest,
  type OrderRecord,
  type OrderStatus,
} from "../../services/fulfiller/claims/order-state.js";
import { UNDELIVERED_STATES } from "../../services/fulfiller/delivery/delivery-state.js";
import type { OrderStore } from "../../services/fulfiller/ports.js";

export class MemoryOrderStore implements OrderStore {
  private readonly orders = new Map<string, OrderRecord>();

  constructor(private readonly clock: () => number) {}

  /** The committed order, for the model's checks (never faulted). */
  peek(sessionId: string): OrderRecord | undefined {
    const order = this.orders.get(sessionId);
    return order ? structuredClone(order) : undefined;
  }

  all(): OrderRecord[] {
    return [...this.orders.values()].map((o) => structuredClone(o));
  }

  private async run<T>(
    sessionId: string,
    body: (order: OrderRecord | undefined, now: Date) => { next?: OrderRecord | undefined; result: T },
  ): Promise<T> {
    await Promise.resolve(); // a transaction is never synchronous
    const current = this.orders.get(sessionId);
    const now = new Date(this.clock());
    const { next, result } = body(current ? structuredClone(current) : undefined, now);
    // As Firestore's store writes it: a redacted order never holds the details again.
    if (next)
      this.orders.set(sessionId, structuredClone(next.redacted_at ? splitOrder(next, now, PII).order : next));
    return result;
  }

  claim(request: ClaimRequest): Promise<ClaimPlan> {
    return this.run(request.sessionId, (order) => {
      const plan = planClaim(order, request);
      return { next: plan.order, result: plan };
    });
  }

  updateClaimed(
    sessionId: string,
    claimId: string,
    change: (order: OrderRecord, now: Date) => OrderRecord,
    options: ClaimCheck,
  ): Promise<OrderRecord> {
    return this.run(sessionId, (order, now) => {
      assertClaimHeld(order, claimId, now, options);
      const next = change(order, now);
      return { next, result: next };
    });
  }

  async findBy(
    field: Parameters<OrderStore["findBy"]>[0],
    value: string,
    limit = 10,
  ): Promise<OrderRecord[]> {
    await Promise.resolve();
    return this.all()
      .filter((o) => o[field] === value)
      .slice(0, limit);
  }

  /** As Firestore's: the details erased in place, nothing else changed. */
  redact(sessionId: string, by: string): ReturnType<OrderStore["redact"]> {
    return this.run(sessionId, (order, now) => {
      if (!order) return { result: undefined };
      const next = redactOrder(order, now, by);
      return { next, result: { order: next, erased: erasedFields(order) } };
    });
  }

  async recordEvent(): Promise<void> {
    await Promise.resolve();
  }

  async get(sessionId: string): Promise<OrderRecord | undefined> {
    await Promise.resolve();
    return this.peek(sessionId);
  }

  async list(options: {
    status?: OrderStatus;
    undelivered?: boolean;
    limit: number;
  }): Promise<OrderRecord[]> {
    await Promise.resolve();
    const undelivered = (state: string | undefined) =>
      !!state && (UNDELIVERED_STATES as readonly string[]).includes(state);
    return this.all()
      .filter((o) => !options.status || o.status === options.status)
      .filter(
        (o) =>
          !options.undelivered ||
          undelivered(o.email.delivery?.state) ||
          undelivered(o.stop_notice?.delivery?.state),
      )
      .sort((a, b) => b.updated_at.getTime() - a.updated_at.getTime())
      .slice(0, options.limit);
  }

  transact<T>(
    sessionId: string,
    fn: (order: OrderRecord | undefined, now: Date) => { next?: OrderRecord; result: T },
  ): Promise<T> {
    return this.run(sessionId, fn);
  }
}
