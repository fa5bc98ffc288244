/**
 * What one `npm run bench` measures, by mode: `--smoke` (the suite's run: every path once),
 * `--quick` (one round of each, under 4 minutes), or the full run (3 rounds, about 9 minutes).
 */
import path from "node:path";

export type Mode = "smoke" | "quick" | "full";

export interface Plan {
  /** Webhook-to-email latency: events sent one at a time. */
  latencyEvents: number;
  /** Dead letters `dlq replay --all` republishes. */
  replay: number;
  /** Alternating rounds of each receiver comparison. */
  rounds: number;
  /** Seconds measured per variant and round. */
  seconds: number;
  /** At saturation, the turns those seconds are taken in. */
  slices: number;
  warmup: number;
  /** Requests/s offered at light load (0: not run). */
  lightLoad: number;
  profileSeconds: number;
  /** Publisher batching windows tried (`maxMilliseconds`). */
  batchMs: number[];
  startupRuns: number;
  instructions: { warm: number; measure: number };
  /** Orders end to end through the local stack. */
  orders: number;
  duplicates: number;
  /** Whether the receiver is also compared with a no-op publisher. */
  noop: boolean;
  /** Whether the production node_modules is installed and measured. */
  modules: boolean;
  forged: { rounds: number; posts: number };
  sale: { rounds: number; orders: number; rate: number };
}

export const PLANS: Record<Mode, Plan> = {
  smoke: {
    latencyEvents: 3,
    replay: 20,
    rounds: 1,
    seconds: 1,
    slices: 1,
    warmup: 1,
    lightLoad: 0,
    profileSeconds: 1,
    batchMs: [],
    startupRuns: 1,
    instructions: { warm: 50, measure: 30 },
    orders: 5,
    duplicates: 10,
    noop: false,
    modules: false,
    forged: { rounds: 3, posts: 200 },
    sale: { rounds: 1, orders: 10, rate: 10 },
  },
  quick: {
    latencyEvents: 50,
    replay: 500,
    rounds: 1,
    seconds: 4,
    slices: 2,
    warmup: 1,
    lightLoad: 200,
    profileSeconds: 3,
    batchMs: [1, 10],
    startupRuns: 3,
    instructions: { warm: 800, measure: 300 },
    orders: 40,
    duplicates: 100,
    noop: true,
    modules: true,
    forged: { rounds: 3, posts: 1000 },
    sale: { rounds: 1, orders: 40, rate: 10 },
  },
  full: {
    latencyEvents: 60,
    replay: 500,
    rounds: 3,
    seconds: 8,
    slices: 4,
    warmup: 2,
    lightLoad: 200,
    profileSeconds: 6,
    batchMs: [1, 5, 10],
    startupRuns: 5,
    instructions: { warm: 1500, measure: 500 },
    orders: 200,
    duplicates: 300,
    noop: true,
    modules: true,
    forged: { rounds: 3, posts: 4000 },
    sale: { rounds: 3, orders: 80, rate: 10 },
  },
};

/** The webhook signing secret every benchmark server and request uses. */
export const SECRET = "whsec_bench_secret_0123456789";

export interface BenchArgs {
  mode: Mode;
  /** Where results.json goes (`--out`, default bench/). */
  outDir: string;
  /** Whether docs/BENCHMARKS.md is written too (not with `--out` or `--smoke`). */
  writeDocs: boolean;
  /** `--render [--check]`: the document from results.json, measuring nothing. */
  render: { check: boolean } | null;
}

export function parseArgs(argv: string[]): BenchArgs {
  const mode: Mode = argv.includes("--smoke") ? "smoke" : argv.includes("--quick") ? "quick" : "full";
  const outIndex = argv.indexOf("--out");
  const outDir = outIndex >= 0 ? path.resolve(argv[outIndex + 1] ?? "bench") : path.resolve("bench");
  return {
    mode,
    outDir,
    writeDocs: outIndex < 0 && mode !== "smoke",
    render: argv.includes("--render") ? { check: argv.includes("--check") } : null,
  };
}
