/**
 * The receiver against its baselines (DESIGN section 10): (a) a bare `node:http` handler
 * doing the same verification and publish, (b) Stripe's Express sample, in rounds whose
 * order rotates; at saturation the three take turns in slices of each round.
 */
import path from "node:path";
import autocannon from "autocannon";
import { median, ratio, round } from "../ratios.js";
import { sampleRss, spawnServer } from "../measure.js";
import { signedStripeRequests } from "../receiver-process.js";
import { SECRET, type Plan } from "../plan.js";

/** The compiled bench servers, under the bench's dist directory. */
export const SERVERS = {
  receiver: "bench/servers/receiver.js",
  bare: "bench/servers/bare-http.js",
  express: "bench/servers/express-sample.js",
} as const;
export type Variant = keyof typeof SERVERS;

export interface LoadResult {
  variant: string;
  publisher: "emulator" | "noop";
  offered: number | "saturation";
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  rss_peak_mib: number;
  body_bytes: number;
  round?: number;
}

/** One round: each variant measured (the order rotating between rounds), and its ratios. */
export interface Round {
  publisher: "emulator" | "noop";
  offered: number | "saturation";
  round: number;
  order: Variant[];
  runs: Partial<Record<Variant, LoadResult>>;
  receiver_vs_bare: number | null;
  receiver_vs_express: number | null;
  /** At a fixed load: receiver p99 / bare p99. */
  p99_vs_bare: number | null;
  rss_vs_bare: number | null;
}

/** A bench server's configuration (bench/servers/common.ts reads it). */
function serverEnv(options: {
  publisher: "emulator" | "noop";
  topic: string;
  batchMs?: number;
}): Record<string, string> {
  return {
    BENCH_TOPIC: options.topic,
    BENCH_SECRET: SECRET,
    BENCH_NOOP: options.publisher === "noop" ? "1" : "0",
    ...(options.batchMs === undefined ? {} : { BENCH_BATCH_MS: String(options.batchMs) }),
  };
}

export async function runLoad(
  distDir: string,
  plan: Plan,
  variant: Variant,
  options: { publisher: "emulator" | "noop"; rate?: number; batchMs?: number; topic: string },
): Promise<LoadResult> {
  const server = await spawnServer(path.join(distDir, SERVERS[variant]), serverEnv(options));
  try {
    const requests = signedStripeRequests(SECRET);
    const url = `http://127.0.0.1:${server.port}`;
    // Warm-up at the same concurrency and rate as the measurement (the JIT is still
    // optimising the receiver's longer path after one second; a saturating warm-up before a
    // light-load run would leave the emulator a backlog); every variant gets the same.
    await autocannon({
      url,
      connections: options.rate ? 20 : 32,
      duration: plan.warmup,
      requests,
      ...(options.rate ? { overallRate: options.rate } : {}),
    });
    const rss = sampleRss(server.child.pid!);
    const result = await autocannon({
      url,
      connections: options.rate ? 20 : 32,
      duration: plan.seconds,
      requests,
      ...(options.rate ? { overallRate: options.rate } : {}),
    });
    return {
      variant,
      publisher: options.publisher,
      offered: options.rate ?? "saturation",
      rps: round(result.requests.average, 1),
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      rss_peak_mib: rss.stop(),
      body_bytes: Buffer.byteLength(requests[0]!.body),
    };
  } finally {
    await server.stop();
  }
}

/**
 * One saturation round: every variant's server started at once and warmed, then measured in
 * plan.slices turns of plan.seconds / plan.slices each, the variants taking turns in each
 * slice (A B C A B C …). A slow stretch of the machine, which here lasts seconds to minutes,
 * then falls on every variant alike instead of on whichever ran during it. Throughput is the
 * requests of all of a variant's slices over their time; p50 and p99 are the median of its
 * slices'; the RSS peak is over all of its slices.
 */
export async function runSaturationRound(
  distDir: string,
  plan: Plan,
  order: Variant[],
  options: { publisher: "emulator" | "noop"; topic: string },
): Promise<Partial<Record<Variant, LoadResult>>> {
  const requests = signedStripeRequests(SECRET);
  const servers = new Map<Variant, Awaited<ReturnType<typeof spawnServer>>>();
  try {
    for (const variant of order) {
      servers.set(variant, await spawnServer(path.join(distDir, SERVERS[variant]), serverEnv(options)));
    }
    const url = (variant: Variant) => `http://127.0.0.1:${servers.get(variant)!.port}`;
    for (const variant of order) {
      await autocannon({ url: url(variant), connections: 32, duration: plan.warmup, requests });
    }
    const rss = new Map(order.map((v) => [v, sampleRss(servers.get(v)!.child.pid!)]));
    const slices = new Map<Variant, autocannon.Result[]>(order.map((v) => [v, []]));
    for (let slice = 0; slice < plan.slices; slice++) {
      for (const variant of order) {
        slices.get(variant)!.push(
          await autocannon({
            url: url(variant),
            connections: 32,
            duration: plan.seconds / plan.slices,
            requests,
          }),
        );
      }
    }
    const out: Partial<Record<Variant, LoadResult>> = {};
    for (const variant of order) {
      const results = slices.get(variant)!;
      const total = results.reduce((n, r) => n + r.requests.total, 0);
      const seconds = results.reduce((n, r) => n + r.duration, 0);
      out[variant] = {
        variant,
        publisher: options.publisher,
        offered: "saturation",
        rps: round(total / seconds, 1),
        p50: median(results.map((r) => r.latency.p50)),
        p99: median(results.map((r) => r.latency.p99)),
        max: Math.max(...results.map((r) => r.latency.max)),
        errors: results.reduce((n, r) => n + r.errors + r.timeouts, 0),
        non2xx: results.reduce((n, r) => n + r.non2xx, 0),
        rss_peak_mib: rss.get(variant)!.stop(),
        body_bytes: Buffer.byteLength(requests[0]!.body),
      };
    }
    return out;
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
}

/**
 * Every receiver comparison of the plan: saturation with the emulator, with a no-op
 * publisher, and at light load, each in `plan.rounds` rounds whose order rotates (the
 * variants take turns, so a slow stretch of the machine falls on all of them); then the
 * publisher's batching windows, the receiver alone.
 */
export async function measureReceiver(
  distDir: string,
  plan: Plan,
  topic: string,
  log: (line: string) => void,
): Promise<{
  loads: LoadResult[];
  rounds: Round[];
  batching: { max_batch_ms: number; rps: number; p50: number; p99: number }[];
}> {
  const loads: LoadResult[] = [];
  const rounds: Round[] = [];
  const variants: Variant[] = ["receiver", "bare", "express"];
  let turn = 0;
  const inRounds = async (publisher: "emulator" | "noop", rate: number | undefined) => {
    for (let r = 1; r <= plan.rounds; r++, turn++) {
      const order = variants.map((_, k) => variants[(k + turn) % variants.length]!);
      const runs: Round["runs"] = {};
      if (rate === undefined) {
        log(
          `receiver load: ${order.join(", ")} at saturation in turns (${publisher} publisher), round ${r}…`,
        );
        const measured = await runSaturationRound(distDir, plan, order, { publisher, topic });
        for (const variant of order) {
          const run = { ...measured[variant]!, round: r };
          runs[variant] = run;
          loads.push(run);
        }
      } else {
        for (const variant of order) {
          log(`receiver load: ${variant} at ${rate} (${publisher} publisher), round ${r}…`);
          const run = { ...(await runLoad(distDir, plan, variant, { publisher, rate, topic })), round: r };
          runs[variant] = run;
          loads.push(run);
        }
      }
      const { receiver, bare, express } = runs;
      const one: Round = {
        publisher,
        offered: rate ?? "saturation",
        round: r,
        order,
        runs,
        receiver_vs_bare: ratio(receiver?.rps, bare?.rps),
        receiver_vs_express: ratio(receiver?.rps, express?.rps),
        p99_vs_bare: ratio(receiver?.p99, bare?.p99),
        rss_vs_bare: ratio(receiver?.rss_peak_mib, bare?.rss_peak_mib),
      };
      rounds.push(one);
      log(
        `  round ${r}: receiver/bare ${one.receiver_vs_bare}, receiver/express ${one.receiver_vs_express}` +
          (rate ? `, p99 receiver/bare ${one.p99_vs_bare}` : `, peak RSS receiver/bare ${one.rss_vs_bare}`),
      );
    }
  };
  await inRounds("emulator", undefined);
  if (plan.noop) await inRounds("noop", undefined);
  if (plan.lightLoad) await inRounds("emulator", plan.lightLoad);
  const batching = [];
  for (const batchMs of plan.batchMs) {
    log(`publisher batching: maxMilliseconds=${batchMs}…`);
    const r = await runLoad(distDir, plan, "receiver", { publisher: "emulator", batchMs, topic });
    batching.push({ max_batch_ms: batchMs, rps: r.rps, p50: r.p50, p99: r.p99 });
  }

  return { loads, rounds, batching };
}
