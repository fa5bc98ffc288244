import { TransientError } from "../common/errors.js";

/** One push attempt's time budget: every outside call gets what is left of it. */
export class Deadline {
  private readonly endsAt: number;

  constructor(
    totalMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.endsAt = clock() + totalMs;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - this.clock());
  }

  /** Time for the next call; throws TransientError when the budget is spent. */
  next(what: string, minimumMs = 100): { timeoutMs: number } {
    const remaining = this.remainingMs();
    if (remaining < minimumMs) throw new TransientError(`handler deadline exhausted before ${what}`);
    return { timeoutMs: remaining };
  }
}
