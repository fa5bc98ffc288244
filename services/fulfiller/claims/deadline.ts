import { withDeadline } from "../../common/pubsub.js";
import { TransientError } from "../../common/errors.js";
import { inSpan, type Context } from "../../common/tracing.js";
import type { CallOptions } from "../ports.js";

/**
 * One push attempt's time budget, wall clock. Every outside call gets what is left
 * of it and is cut off when it runs out, whatever the SDK does inside (its own
 * retries included), so no attempt outlives the push ack deadline or its lease.
 *
 * The last `reserveMs` is kept back from the work (Stripe reads, the send) for
 * writing down how it ended: the `sent` record, needs_review, a release, a dead letter.
 */
export class Deadline {
  private readonly endsAt: number;
  /** The delivery's trace: each call below is a span of it. */
  trace: Context | undefined;

  constructor(
    totalMs: number,
    private readonly clock: () => number = Date.now,
    readonly reserveMs = 0,
  ) {
    this.endsAt = clock() + totalMs;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - this.clock());
  }

  /** Time for the next piece of work, the reserve kept back; throws TransientError when too little is left. */
  next(what: string, minimumMs = 100): CallOptions {
    const available = this.remainingMs() - this.reserveMs;
    if (available < minimumMs) throw new TransientError(`handler deadline exhausted before ${what}`);
    return { timeoutMs: available };
  }

  /**
   * Runs one outside call with the work time left (as its SDK timeout), and rejects
   * with a TransientError when that time is up even if the call has not given up.
   */
  run<T>(what: string, call: (options: CallOptions) => Promise<T>, minimumMs = 100): Promise<T> {
    const options = this.next(what, minimumMs);
    return inSpan(what, this.trace, () => withDeadline(call(options), options.timeoutMs, what));
  }

  /** Like `run`, for writing down an outcome: it may use the reserve, up to the very end. */
  record<T>(what: string, call: (options: CallOptions) => Promise<T>): Promise<T> {
    const timeoutMs = this.remainingMs();
    if (timeoutMs < 1) return Promise.reject(new TransientError(`handler deadline exhausted before ${what}`));
    return inSpan(what, this.trace, () => withDeadline(call({ timeoutMs }), timeoutMs, what));
  }
}
