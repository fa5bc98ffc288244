import { expect } from "chai";
import { readFileSync } from "node:fs";
import {
  judgeGoals,
  median,
  pairedSummary,
  percentile,
  ratio,
  round,
  summarize,
  type GoalCounts,
  type GoalRatios,
} from "../../../bench/ratios.js";
import { summarizeRounds } from "../../../bench/results.js";
import { fillTemplate } from "../../../bench/render-doc.js";
import type { Results } from "../../../bench/results.js";

const METGOALS: GoalRatios = {
  receiver_vs_bare_http: 0.95,
  receiver_vs_bare_http_noop_publisher: 0.85,
  receiver_vs_express_sample: 1.4,
  receiver_p99_vs_bare_light_load: 1.1,
  receiver_rss_under_load_vs_bare: 1.05,
  receiver_cpu_forged_sendgrid_vs_stripe: 1.8,
  receiver_ready_vs_pubsub_client_floor: 1.4,
  fulfiller_ready_vs_firestore_client_floor: 1.9,
  sale_orders_per_second_vs_ceiling: 0.96,
  sale_stripe_requests_per_order: 1,
  sale_share_of_requests_answered_429: 0,
};
const COUNTS: GoalCounts = {
  sale_dead_letters: 0,
  receiver_rss_at_rest_mib: 110,
  fulfiller_rss_at_rest_mib: 130,
  duplicate: { transactions: 1, stripe_calls: 0, sendgrid_calls: 0 },
};

describe("unit: the benchmarks' arithmetic (bench/ratios.ts)", () => {
  it("when the rounds are odd or even in number, then the median is the middle one or the mean of the two", () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(percentile([10, 20, 30, 40], 50)).to.equal(30);
    expect(percentile([10, 20, 30, 40], 99)).to.equal(40);
    expect(round(0.12345, 3)).to.equal(0.123);
  });

  it("when a round lacks a side or its baseline is zero, then its ratio is null, not Infinity or NaN", () => {
    expect(ratio(90, 100)).to.equal(0.9);
    expect(ratio(2, 3)).to.equal(0.667);
    expect(ratio(undefined, 100)).to.equal(null);
    expect(ratio(90, 0)).to.equal(null);
    expect(ratio(90, undefined)).to.equal(null);
  });

  it("when ratios are summarized, then the median, the spread and every round are kept, and rounds that measured nothing are left out", () => {
    expect(summarize([0.91, null, 0.85, 0.88])).to.deep.equal({
      median: 0.88,
      min: 0.85,
      max: 0.91,
      rounds: [0.91, 0.85, 0.88],
    });
    expect(summarize([null, null])).to.equal(null);
    expect(summarize([])).to.equal(null);
  });

  it("when two series alternate, then each run is divided by its own partner, not by the other series' median", () => {
    // Pairwise: 150/100, 300/200, 140/100 → 1.5, 1.5, 1.4. Medians alone would give 150/100.
    expect(pairedSummary([150, 300, 140], [100, 200, 100])).to.deep.equal({
      median: 1.5,
      min: 1.4,
      max: 1.5,
      rounds: [1.5, 1.5, 1.4],
    });
    expect(pairedSummary([150, 300], [100])).to.deep.include({ rounds: [1.5] });
  });

  it("when rounds of several kinds are mixed, then one summary reads only its publisher and load", () => {
    const rounds = [
      { publisher: "emulator", offered: "saturation", receiver_vs_bare: 0.9 },
      { publisher: "emulator", offered: "saturation", receiver_vs_bare: 0.8 },
      { publisher: "noop", offered: "saturation", receiver_vs_bare: 0.5 },
      { publisher: "emulator", offered: 200, receiver_vs_bare: 0.1 },
    ].map((r) => ({ receiver_vs_express: null, p99_vs_bare: null, rss_vs_bare: null, ...r })) as Parameters<
      typeof summarizeRounds
    >[0];
    expect(summarizeRounds(rounds, "emulator", "saturation", "receiver_vs_bare")?.rounds).to.deep.equal([
      0.9, 0.8,
    ]);
    expect(summarizeRounds(rounds, "noop", "saturation", "receiver_vs_bare")?.median).to.equal(0.5);
    expect(summarizeRounds(rounds, "emulator", 200, "p99_vs_bare")).to.equal(null);
  });

  it("when every median meets DESIGN section 10, then every goal is met", () => {
    const goals = judgeGoals(METGOALS, COUNTS);
    expect(Object.values(goals).every(Boolean), JSON.stringify(goals)).to.equal(true);
  });

  it("when a median is just past its bound, then that goal alone is not met, at each bound's edge", () => {
    const cases: [keyof GoalRatios, number, number, string][] = [
      ["receiver_vs_bare_http", 0.9, 0.899, "receiver_at_least_0_9_of_bare"],
      ["receiver_vs_bare_http_noop_publisher", 0.8, 0.799, "receiver_at_least_0_8_of_bare_noop_publisher"],
      ["receiver_vs_express_sample", 1.001, 1, "receiver_beats_express_sample"],
      ["receiver_p99_vs_bare_light_load", 1.2, 1.201, "receiver_p99_light_load_within_1_2_of_bare"],
      ["receiver_rss_under_load_vs_bare", 1.15, 1.151, "receiver_rss_under_load_within_1_15_of_bare"],
      [
        "receiver_cpu_forged_sendgrid_vs_stripe",
        2,
        2.001,
        "forged_sendgrid_post_within_2x_forged_stripe_cpu",
      ],
      ["receiver_ready_vs_pubsub_client_floor", 1.5, 1.501, "receiver_ready_within_1_5x_its_floor"],
      ["fulfiller_ready_vs_firestore_client_floor", 2, 2.001, "fulfiller_ready_within_2x_its_floor"],
      ["sale_orders_per_second_vs_ceiling", 0.8, 0.799, "sale_at_least_0_8_of_the_ceiling"],
      ["sale_stripe_requests_per_order", 1.2, 1.201, "sale_at_most_1_2_stripe_requests_per_order"],
      ["sale_share_of_requests_answered_429", 0.02, 0.0201, "sale_at_most_2pct_answered_429"],
    ];
    for (const [key, meets, misses, goal] of cases) {
      expect(judgeGoals({ ...METGOALS, [key]: meets }, COUNTS)[goal], `${key} = ${meets}`).to.equal(true);
      const missed = judgeGoals({ ...METGOALS, [key]: misses }, COUNTS);
      expect(missed[goal], `${key} = ${misses}`).to.equal(false);
      expect(Object.values(missed).filter((v) => !v)).to.have.length(1);
      // Not measured is not met.
      expect(judgeGoals({ ...METGOALS, [key]: null }, COUNTS)[goal], `${key} = null`).to.equal(false);
    }
  });

  it("when a count without a baseline is off, then its goal is not met", () => {
    expect(judgeGoals(METGOALS, { ...COUNTS, sale_dead_letters: 1 }).sale_no_dead_letter).to.equal(false);
    expect(judgeGoals(METGOALS, { ...COUNTS, sale_dead_letters: null }).sale_no_dead_letter).to.equal(false);
    expect(
      judgeGoals(METGOALS, { ...COUNTS, receiver_rss_at_rest_mib: 150 }).receiver_rss_at_rest_under_150mib,
    ).to.equal(false);
    const duplicate = { transactions: 1, stripe_calls: 1, sendgrid_calls: 0 };
    expect(judgeGoals(METGOALS, { ...COUNTS, duplicate }).duplicate_is_one_transaction_no_calls).to.equal(
      false,
    );
  });

  it("when the document's template names a figure the results do not have, then rendering fails instead of leaving it blank", () => {
    const results = JSON.parse(readFileSync("bench/results.json", "utf8")) as Results;
    expect(fillTemplate("a {{date}} b {{spread:receiver_vs_bare_http}}", results, "")).to.match(
      /^a \d{4}-\d\d-\d\d b [\d.]+ \([\d.]+–[\d.]+\)$/,
    );
    expect(() => fillTemplate("{{no_such_figure}}", results, "")).to.throw("no value for {{no_such_figure}}");
    expect(fillTemplate("{{spread:no_such_ratio}}", results, "")).to.equal("n/a");
  });
});
