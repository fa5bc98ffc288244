/**
 * The arithmetic of the benchmarks, pure: a ratio within a round, the median and spread
 * over rounds, and the goals of DESIGN section 10 judged on the median. Nothing here
 * measures; everything here is under a unit test (test/unit/bench/ratios.test.ts).
 */

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One figure over its rounds: the median a goal is judged on, the spread, and every round. */
export interface RatioSummary {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}

/** `a / b` within one round, to 3 places; null when either side is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | null {
  return a !== undefined && b ? round(a / b, 3) : null;
}

/** Median and spread of per-round values (nulls, rounds that did not measure, left out); null when none. */
export function summarize(values: (number | null)[], digits = 3): RatioSummary | null {
  const measured = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  if (!measured.length) return null;
  return {
    median: round(median(measured), digits),
    min: round(Math.min(...measured), digits),
    max: round(Math.max(...measured), digits),
    rounds: measured.map((v) => round(v, digits)),
  };
}

/**
 * Run-by-run ratios of two series measured alternately (the i-th of `a` over the i-th of
 * `b`), summarized: a slow stretch of the machine then falls on both sides of each ratio.
 */
export function pairedSummary(a: number[], b: number[]): RatioSummary | null {
  return summarize(a.map((x, i) => (b[i] ? x / b[i] : null)));
}

/** The medians DESIGN section 10 sets goals on, by name (null: not measured in this run). */
export interface GoalRatios {
  receiver_vs_bare_http: number | null;
  receiver_vs_bare_http_noop_publisher: number | null;
  receiver_vs_express_sample: number | null;
  receiver_p99_vs_bare_light_load: number | null;
  receiver_rss_under_load_vs_bare: number | null;
  receiver_cpu_forged_sendgrid_vs_stripe: number | null;
  receiver_ready_vs_pubsub_client_floor: number | null;
  fulfiller_ready_vs_firestore_client_floor: number | null;
  sale_orders_per_second_vs_ceiling: number | null;
  sale_stripe_requests_per_order: number | null;
  sale_share_of_requests_answered_429: number | null;
}

/** What the goals read beside the ratios: absolute counts that have no baseline. */
export interface GoalCounts {
  sale_dead_letters: number | null;
  receiver_rss_at_rest_mib: number | null;
  fulfiller_rss_at_rest_mib: number | null;
  duplicate: { transactions: number; stripe_calls: number; sendgrid_calls: number };
}

const atLeast = (v: number | null, goal: number) => v !== null && v >= goal;
const atMost = (v: number | null, goal: number) => v !== null && v <= goal;

/** DESIGN section 10's goals, each judged on the median round; one not measured is not met. */
export function judgeGoals(r: GoalRatios, c: GoalCounts): Record<string, boolean> {
  return {
    receiver_at_least_0_9_of_bare: atLeast(r.receiver_vs_bare_http, 0.9),
    receiver_at_least_0_8_of_bare_noop_publisher: atLeast(r.receiver_vs_bare_http_noop_publisher, 0.8),
    receiver_beats_express_sample: (r.receiver_vs_express_sample ?? 0) > 1,
    receiver_p99_light_load_within_1_2_of_bare: atMost(r.receiver_p99_vs_bare_light_load, 1.2),
    receiver_rss_under_load_within_1_15_of_bare: atMost(r.receiver_rss_under_load_vs_bare, 1.15),
    forged_sendgrid_post_within_2x_forged_stripe_cpu: atMost(r.receiver_cpu_forged_sendgrid_vs_stripe, 2),
    receiver_ready_within_1_5x_its_floor: atMost(r.receiver_ready_vs_pubsub_client_floor, 1.5),
    fulfiller_ready_within_2x_its_floor: atMost(r.fulfiller_ready_vs_firestore_client_floor, 2),
    sale_at_least_0_8_of_the_ceiling: atLeast(r.sale_orders_per_second_vs_ceiling, 0.8),
    sale_at_most_1_2_stripe_requests_per_order: atMost(r.sale_stripe_requests_per_order, 1.2),
    sale_at_most_2pct_answered_429: atMost(r.sale_share_of_requests_answered_429, 0.02),
    sale_no_dead_letter: c.sale_dead_letters === 0,
    receiver_rss_at_rest_under_150mib: (c.receiver_rss_at_rest_mib ?? Infinity) < 150,
    fulfiller_rss_at_rest_under_150mib: (c.fulfiller_rss_at_rest_mib ?? Infinity) < 150,
    duplicate_is_one_transaction_no_calls:
      c.duplicate.transactions === 1 && c.duplicate.stripe_calls === 0 && c.duplicate.sendgrid_calls === 0,
  };
}
