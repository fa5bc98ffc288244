/**
 * Faults around any OrderStore (the in-memory one or Firestore on the emulator), as the
 * model test injects them: Firestore unavailable for a write, a write that lands but
 * whose answer is lost, and a crash (the process dies: from then on nothing it asks for
 * happens, neither a read nor a write nor a send).
 */
import { TransientError } from "../../services/common/errors.js";
import type {
  ClaimCheck,
  ClaimPlan,
  ClaimRequest,
  OrderRecord,
  OrderStatus,
} from "../../services/fulfiller/claims/order-state.js";
import type { OrderStore } from "../../services/fulfiller/ports.js";

/** The process died: nothing after this happens. */
export class CrashedError extends Error {
  constructor() {
    super("the process crashed (injected)");
  }
}

export type StoreFault =
  /** The `at`th write from now fails before it lands (UNAVAILABLE). */
  | { kind: "unavailable"; at: number }
  /** The `at`th write from now lands, and its answer is lost (DEADLINE_EXCEEDED). */
  | { kind: "lost_answer"; at: number }
  /** The process dies right after the `at`th write from now (0: before any). */
  | { kind: "crash"; at: number };

export class FaultyStore implements OrderStore {
  private writes = 0;
  private fault: StoreFault | null = null;
  crashed = false;

  constructor(readonly inner: OrderStore) {}

  /** Arms one fault, counted from the next write. */
  arm(fault: StoreFault | null): void {
    this.fault = fault;
    this.writes = 0;
    if (fault?.kind === "crash" && fault.at === 0) this.crashed = true;
  }

  /** A new process: the crash is over; the data is what was written. */
  restart(): void {
    this.crashed = false;
    this.fault = null;
  }

  private alive(): void {
    if (this.crashed) throw new CrashedError();
  }

  /** A write (every transaction may write) under the armed fault. */
  private async write<T>(call: () => Promise<T>): Promise<T> {
    this.alive();
    this.writes += 1;
    const fault = this.fault;
    if (fault?.kind === "unavailable" && fault.at === this.writes) {
      this.fault = null;
      throw new TransientError("Firestore transaction failed: 14 UNAVAILABLE (injected)");
    }
    const result = await call();
    this.alive(); // died while it was in flight: the write landed, nobody hears of it
    if (fault?.kind === "lost_answer" && fault.at === this.writes) {
      this.fault = null;
      throw new TransientError("Firestore transaction failed: 4 DEADLINE_EXCEEDED (injected; it landed)");
    }
    if (fault?.kind === "crash" && fault.at === this.writes) {
      this.crashed = true;
      throw new CrashedError();
    }
    return result;
  }

  private async read<T>(call: () => Promise<T>): Promise<T> {
    this.alive();
    const result = await call();
    this.alive();
    return result;
  }

  claim(request: ClaimRequest): Promise<ClaimPlan> {
    return this.write(() => this.inner.claim(request));
  }

  updateClaimed(
    sessionId: string,
    claimId: string,
    change: (order: OrderRecord, now: Date) => OrderRecord,
    options: ClaimCheck,
  ): Promise<OrderRecord> {
    return this.write(() => this.inner.updateClaimed(sessionId, claimId, change, options));
  }

  transact<T>(
    sessionId: string,
    fn: (order: OrderRecord | undefined, now: Date) => { next?: OrderRecord; result: T },
  ): Promise<T> {
    return this.write(() => this.inner.transact(sessionId, fn));
  }

  findBy(field: Parameters<OrderStore["findBy"]>[0], value: string, limit?: number): Promise<OrderRecord[]> {
    return this.read(() => this.inner.findBy(field, value, limit));
  }

  redact(sessionId: string, by: string): ReturnType<OrderStore["redact"]> {
    return this.write(() => this.inner.redact(sessionId, by));
  }

  recordEvent(eventId: string, eventType: string, outcome: string): Promise<void> {
    return this.read(() => this.inner.recordEvent(eventId, eventType, outcome));
  }

  get(sessionId: string): Promise<OrderRecord | undefined> {
    return this.read(() => this.inner.get(sessionId));
  }

  list(options: { status?: OrderStatus; undelivered?: boolean; limit: number }): Promise<OrderRecord[]> {
    return this.read(() => this.inner.list(options));
  }
}
