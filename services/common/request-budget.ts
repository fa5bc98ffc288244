/**
 * A per-process budget of requests per second to an API with an account-wide rate limit
 * (Stripe's: 100 requests/s live, 25 in a sandbox, shared with everything else the
 * merchant runs). Every Stripe request takes a token first; a caller waits for its token
 * within the time it has left, and is refused at once, without taking one, when the wait
 * would outlast that. A 429 from the API halves the rate for a jittered while, and the
 * rate comes back by doubling once each quiet while has passed.
 *
 * The bucket is GCRA (the generic cell rate algorithm): one number, the theoretical
 * arrival time of the next request, stands for the bucket. Waits are reservations, so
 * callers are served in the order they asked, and no timer runs while nobody waits.
 */
import { TransientError } from "./errors.js";

export interface RequestBudgetOptions {
  /** Tokens per second while no 429 has been seen. */
  ratePerSecond: number;
  /** Requests that may go at once after a quiet spell (default 1: evenly spaced). */
  burst?: number;
  /** How long a 429 halves the rate before it may double back (default 10 s, jittered 0.5x–1.5x). */
  slowDownMs?: number;
  /** The slowest the bucket goes, as a fraction of the rate (default 1/16). */
  minFactor?: number;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** No token within the time the caller had left: transient, the caller answers 503. */
export class BudgetExhaustedError extends TransientError {
  constructor(
    readonly waitMs: number,
    readonly maxWaitMs: number,
    ratePerSecond: number,
  ) {
    super(
      `Stripe request budget: the next token is ${Math.ceil(waitMs)} ms away at ${formatRate(ratePerSecond)} requests/s, and the attempt has ${Math.max(0, Math.floor(maxWaitMs))} ms left`,
      { code: "stripe_budget" },
    );
  }
}

function formatRate(rate: number): string {
  return rate >= 10 ? rate.toFixed(0) : rate.toFixed(2).replace(/\.?0+$/, "");
}

export class RequestBudget {
  readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly slowDownMs: number;
  private readonly minFactor: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The theoretical arrival time of the next request (ms). */
  private tat = -Infinity;
  /** The share of the rate in force (1 = full rate). */
  private factor = 1;
  /** When the current slow-down may be lifted by one step. */
  private slowUntil = 0;
  /** Counters, for logs, `doctor` and the bench. */
  readonly stats = { taken: 0, waited: 0, waitedMs: 0, refused: 0, rateLimited: 0 };

  constructor(options: RequestBudgetOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error("a request budget needs a rate above 0");
    this.ratePerSecond = options.ratePerSecond;
    this.burst = Math.max(1, options.burst ?? 1);
    this.slowDownMs = options.slowDownMs ?? 10_000;
    this.minFactor = options.minFactor ?? 1 / 16;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Requests per second allowed now (below the rate while a 429 is being answered). */
  currentRate(): number {
    this.recover(this.now());
    return this.ratePerSecond * this.factor;
  }

  /**
   * Takes a token, waiting for it up to `maxWaitMs`; resolves with the milliseconds waited.
   * Refuses with BudgetExhaustedError, taking nothing, when the token is further away.
   */
  async take(maxWaitMs: number): Promise<number> {
    const now = this.now();
    this.recover(now);
    const interval = this.interval();
    const tat = Math.max(this.tat, now);
    const wait = Math.max(0, tat - (this.burst - 1) * interval - now);
    if (wait > maxWaitMs) {
      this.stats.refused += 1;
      throw new BudgetExhaustedError(wait, maxWaitMs, this.ratePerSecond * this.factor);
    }
    this.tat = tat + interval;
    this.stats.taken += 1;
    if (wait > 0) {
      this.stats.waited += 1;
      this.stats.waitedMs += wait;
      await this.sleep(wait);
    }
    return wait;
  }

  /**
   * The API answered 429: halve the rate (down to `minFactor`) for a jittered while, and
   * push the next token back by a jittered interval at the new rate, so that callers
   * already waiting spread out instead of retrying together.
   */
  rateLimited(): void {
    const now = this.now();
    this.stats.rateLimited += 1;
    this.factor = Math.max(this.minFactor, this.factor / 2);
    this.slowUntil = now + this.slowDownMs * (0.5 + this.random());
    this.tat = Math.max(this.tat, now) + this.interval() * (0.5 + this.random());
  }

  private interval(): number {
    return 1000 / (this.ratePerSecond * this.factor);
  }

  /** One doubling of the rate for each quiet slow-down period that has passed. */
  private recover(now: number): void {
    while (this.factor < 1 && now >= this.slowUntil) {
      this.factor = Math.min(1, this.factor * 2);
      this.slowUntil += this.slowDownMs;
    }
  }
}
