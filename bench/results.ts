/**
 * What one run writes to results.json: every raw figure, and beside them the per-round
 * ratios summarized (`spreads`), their medians (`ratios`) and DESIGN section 10's goals.
 */
import type { FlashSale } from "./measurements/flash-sale.js";
import type { ForgedPostCost } from "./measurements/forged-posts.js";
import type { measureDuplicateCost } from "./measurements/fulfiller-cost.js";
import type { InstructionsPerRequest } from "./measurements/instructions.js";
import type { measurePipeline } from "./measurements/pipeline.js";
import type { ServerProfile } from "./measurements/profile.js";
import type { LoadResult, Round } from "./measurements/receiver-load.js";
import type { measureReplay } from "./measurements/replay.js";
import { judgeGoals, round, summarize, type GoalRatios, type RatioSummary } from "./ratios.js";

export type StartupRows = Record<string, { ready_ms_median: number; rss_at_rest_mib: number; runs: number }>;
type Duplicate = Awaited<ReturnType<typeof measureDuplicateCost>>;

export type Results = Record<string, unknown> & {
  ratios: Record<string, number | null>;
  spreads: Record<string, RatioSummary | null>;
  goals: Record<string, boolean>;
  receiver: {
    runs: LoadResult[];
    rounds: Omit<Round, "runs">[];
    body_bytes: number;
    seconds_per_run: number;
    /** At saturation, each variant's measured seconds are taken in this many turns. */
    slices_per_run?: number;
    warmup_seconds: number;
    light_load: number;
  };
  profiles: ServerProfile[];
  publisher_batching: { max_batch_ms: number; rps: number; p50: number; p99: number }[];
  fulfiller: {
    pipeline: Awaited<ReturnType<typeof measurePipeline>>;
    duplicate: Duplicate;
  };
  dlq_replay: Awaited<ReturnType<typeof measureReplay>>;
  startup: StartupRows;
  /** Absent in results written before the flash-sale bench. */
  flash_sale?: FlashSale;
  /** Instructions per request (callgrind), no-op publisher; null without valgrind. */
  instructions: InstructionsPerRequest | null;
  production_node_modules: { mib: number; packages: number } | null;
  machine: { cores: number; cpu: string; node: string; memory_gib: number; platform?: string };
  date: string;
  mode: string;
};

type RoundRatio = "receiver_vs_bare" | "receiver_vs_express" | "p99_vs_bare" | "rss_vs_bare";

/** Median and spread of one per-round ratio over the rounds of one kind (publisher and load). */
export function summarizeRounds(
  rounds: Pick<Round, "publisher" | "offered" | RoundRatio>[],
  publisher: Round["publisher"],
  offered: Round["offered"],
  key: RoundRatio,
): RatioSummary | null {
  return summarize(
    rounds.filter((r) => r.publisher === publisher && r.offered === offered).map((r) => r[key]),
  );
}

/** The summaries, medians and goals of one run's measurements. */
export function judgeRun(m: {
  rounds: Pick<Round, "publisher" | "offered" | RoundRatio>[];
  lightLoad: number;
  forged: ForgedPostCost;
  startupRatios: Record<string, RatioSummary | null>;
  startup: StartupRows;
  sale: FlashSale;
  duplicate: Duplicate;
}): Pick<Results, "ratios" | "spreads" | "goals"> {
  const spreads = {
    receiver_vs_bare_http: summarizeRounds(m.rounds, "emulator", "saturation", "receiver_vs_bare"),
    receiver_vs_express_sample: summarizeRounds(m.rounds, "emulator", "saturation", "receiver_vs_express"),
    receiver_vs_bare_http_noop_publisher: summarizeRounds(m.rounds, "noop", "saturation", "receiver_vs_bare"),
    receiver_vs_express_sample_noop_publisher: summarizeRounds(
      m.rounds,
      "noop",
      "saturation",
      "receiver_vs_express",
    ),
    receiver_p99_vs_bare_light_load: m.lightLoad
      ? summarizeRounds(m.rounds, "emulator", m.lightLoad, "p99_vs_bare")
      : null,
    receiver_rss_under_load_vs_bare: summarizeRounds(m.rounds, "emulator", "saturation", "rss_vs_bare"),
    receiver_cpu_forged_sendgrid_vs_stripe: summarize(m.forged.rounds.map((r) => r.ratio)),
    receiver_ready_vs_pubsub_client_floor: m.startupRatios.receiver_ready_vs_pubsub_client_floor ?? null,
    fulfiller_ready_vs_firestore_client_floor:
      m.startupRatios.fulfiller_ready_vs_firestore_client_floor ?? null,
    sale_orders_per_second_vs_ceiling: m.sale.vs_ceiling,
    sale_stripe_requests_per_order: m.sale.stripe_requests_per_order,
    sale_share_of_requests_answered_429: m.sale.share_429,
    sale_without_budget_share_answered_429: m.sale.unbudgeted.share_429,
  };
  const medians = Object.fromEntries(
    Object.entries(spreads).map(([k, v]) => [k, v?.median ?? null]),
  ) as Record<keyof typeof spreads, number | null>;
  const d = m.duplicate;
  const ratios = {
    ...medians,
    duplicate_vs_first_delivery_time:
      d.first_delivery_ms > 0 ? round(d.duplicate_ms_mean / d.first_delivery_ms, 3) : null,
  };
  const goals = judgeGoals(medians satisfies GoalRatios, {
    sale_dead_letters: m.sale.dead_letters,
    receiver_rss_at_rest_mib: m.startup.receiver?.rss_at_rest_mib ?? null,
    fulfiller_rss_at_rest_mib: m.startup.fulfiller?.rss_at_rest_mib ?? null,
    duplicate: {
      transactions: d.firestore_transactions_per_duplicate,
      stripe_calls: d.stripe_calls_per_duplicate,
      sendgrid_calls: d.sendgrid_calls_per_duplicate,
    },
  });
  return { ratios, spreads, goals };
}
