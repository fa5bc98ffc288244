/** The results table `npm run bench` prints and docs/BENCHMARKS.md includes: every round, ratio, goal and figure. */
import { renderProfile } from "./measurements/profile.js";
import type { Variant, Round } from "./measurements/receiver-load.js";
import type { RatioSummary } from "./ratios.js";
import type { Results } from "./results.js";

export function renderTable(r: Results): string {
  const runOf = (round: Omit<Round, "runs">, variant: Variant) =>
    r.receiver.runs.find(
      (l) =>
        l.variant === variant &&
        l.publisher === round.publisher &&
        l.offered === round.offered &&
        l.round === round.round,
    );
  const spread = (s: RatioSummary | null) =>
    s ? `| ${s.median} | ${s.min}–${s.max} | ${s.rounds.join(", ")} |` : "| n/a | | |";
  const rows = [
    "| publisher | offered | round | order | receiver req/s | bare req/s | express req/s | receiver/bare | receiver/express | p99 ms receiver / bare | peak RSS MiB receiver / bare | errors + non-2xx |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...r.receiver.rounds.map((round) => {
      const [a, b, c] = (["receiver", "bare", "express"] as const).map((v) => runOf(round, v));
      const bad = [a, b, c].reduce((n, l) => n + (l ? l.errors + l.non2xx : 0), 0);
      return `| ${round.publisher} | ${round.offered} | ${round.round} | ${round.order.join(", ")} | ${a?.rps ?? ""} | ${b?.rps ?? ""} | ${c?.rps ?? ""} | ${round.receiver_vs_bare ?? ""} | ${round.receiver_vs_express ?? ""} | ${a?.p99 ?? ""} / ${b?.p99 ?? ""} | ${a?.rss_peak_mib ?? ""} / ${b?.rss_peak_mib ?? ""} | ${bad} |`;
    }),
    "",
    "| ratio (per round, paired) | median | spread | rounds |",
    "|---|---|---|---|",
    ...Object.entries(r.spreads).map(([k, v]) => `| ${k} ${spread(v)}`),
    `| duplicate_vs_first_delivery_time | ${r.ratios.duplicate_vs_first_delivery_time ?? "n/a"} | | |`,
    "",
    "| goal (DESIGN section 10; the median round) | met |",
    "|---|---|",
    ...Object.entries(r.goals).map(([k, v]) => `| ${k} | ${v ? "yes" : "NO"} |`),
    "",
    ...(r.instructions
      ? [
          "| instructions per request (callgrind, no-op publisher) | receiver | bare | receiver / bare |",
          "|---|---|---|---|",
          `| main thread (JavaScript, event loop) | ${r.instructions.receiver.main_k}k | ${r.instructions.bare.main_k}k | ${r.instructions.receiver_vs_bare_main_thread} |`,
          `| all threads (with GC and compilers) | ${r.instructions.receiver.all_k}k | ${r.instructions.bare.all_k}k | ${r.instructions.receiver_vs_bare_all_threads} |`,
          "",
        ]
      : ["(instructions per request: valgrind is not installed)", ""]),
    "| start-up (median) | ready ms | RSS at rest MiB |",
    "|---|---|---|",
    ...Object.entries(r.startup).map(([k, v]) => `| ${k} | ${v.ready_ms_median} | ${v.rss_at_rest_mib} |`),
    "",
    "| fulfiller | value |",
    "|---|---|",
    `| end-to-end orders/s (emulator push) | ${r.fulfiller.pipeline.orders_per_second} (${r.fulfiller.pipeline.fulfilled}/${r.fulfiller.pipeline.orders} in ${r.fulfiller.pipeline.seconds} s) |`,
    `| order completion p50 / p95 from first post | ${r.fulfiller.pipeline.completion_ms_p50} / ${r.fulfiller.pipeline.completion_ms_p95} ms |`,
    `| webhook-to-email latency, one at a time (p50 / p95 / max of ${r.fulfiller.pipeline.webhook_to_email.events}) | ${r.fulfiller.pipeline.webhook_to_email.ms_p50} / ${r.fulfiller.pipeline.webhook_to_email.ms_p95} / ${r.fulfiller.pipeline.webhook_to_email.ms_max} ms |`,
    `| dlq replay --all of ${r.dlq_replay.messages} | ${r.dlq_replay.replayed} replayed, ${r.dlq_replay.failed} failed in ${r.dlq_replay.seconds} s (${r.dlq_replay.per_second}/s) |`,
    `| first delivery (fulfil + email), mean | ${r.fulfiller.duplicate.first_delivery_ms} ms |`,
    `| duplicate delivery, mean / p99 | ${r.fulfiller.duplicate.duplicate_ms_mean} / ${r.fulfiller.duplicate.duplicate_ms_p99} ms |`,
    `| per duplicate: Firestore transactions / reads / Stripe / SendGrid | ${r.fulfiller.duplicate.firestore_transactions_per_duplicate} / ${r.fulfiller.duplicate.firestore_other_ops_per_duplicate} / ${r.fulfiller.duplicate.stripe_calls_per_duplicate} / ${r.fulfiller.duplicate.sendgrid_calls_per_duplicate} |`,
    ...(r.flash_sale
      ? [
          "",
          `| flash sale: ${r.flash_sale.orders} orders (+${r.flash_sale.rounds[0]?.retries ?? 0} retries) at a Stripe limit of ${r.flash_sale.rate} requests/s | budget | orders/s | of the ceiling | requests/order served (sent) | 429s | dead letters | emailed once |`,
          "|---|---|---|---|---|---|---|---|",
          ...r.flash_sale.rounds.map(
            (x) =>
              `| round ${x.round} | ${x.budget} | ${x.orders_per_second} | ${x.vs_ceiling} | ${x.stripe_requests_per_order} (${x.stripe_attempts_per_order}) | ${(x.share_429 * 100).toFixed(1)}% | ${x.dead_letters} | ${x.emailed_once}/${x.orders} |`,
          ),
        ]
      : []),
    ...(r.publisher_batching.length
      ? [
          "",
          "| publisher maxMilliseconds | req/s | p50 ms | p99 ms |",
          "|---|---|---|---|",
          ...r.publisher_batching.map((b) => `| ${b.max_batch_ms} | ${b.rps} | ${b.p50} | ${b.p99} |`),
        ]
      : []),
    ...(r.production_node_modules
      ? [
          "",
          `production node_modules: ${r.production_node_modules.mib} MiB, ${r.production_node_modules.packages} package.json files`,
        ]
      : []),
    ...r.profiles.flatMap((p) => ["", renderProfile(p)]),
  ];
  return rows.join("\n");
}
