/**
 * `npm run bench:tracing`: what tracing costs the receiver. The receiver as shipped, with
 * the OpenTelemetry SDK registered (spans recorded and batched, as on Cloud Run) against
 * without it (the API a no-op: ids still travel to logs and the message), at saturation,
 * same process set-up, same no-op publisher, requests carrying a `traceparent` as Cloud
 * Run's do. Three alternating rounds of each; medians and spread.
 */
import { randomBytes } from "node:crypto";
import { signedStripeRequests, startReceiver } from "../receiver-process.js";
import autocannon from "autocannon";

const SECRET = "whsec_bench_tracing_0123456789";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);

async function round(tracing: boolean): Promise<{ rps: number; p99: number; non2xx: number }> {
  const server = await startReceiver({
    BENCH_NOOP: "1",
    BENCH_SECRET: SECRET,
    BENCH_TRACING: tracing ? "1" : "0",
  });
  try {
    const url = `http://127.0.0.1:${server.port}`;
    const list = signedStripeRequests(SECRET, () => ({
      traceparent: `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`,
    }));
    await autocannon({ url, connections: 8, duration: 1, requests: list });
    const result = await autocannon({ url, connections: 32, duration: SECONDS, requests: list });
    return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx };
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const on: number[] = [];
const off: number[] = [];
const ratios: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  // Alternate which goes first, so neither always runs on a warmer machine.
  const first = i % 2 === 0;
  const a = await round(first);
  const b = await round(!first);
  const traced = first ? a : b;
  const plain = first ? b : a;
  if (traced.non2xx || plain.non2xx)
    throw new Error(`non-2xx answers: ${traced.non2xx} traced, ${plain.non2xx} plain`);
  on.push(traced.rps);
  off.push(plain.rps);
  ratios.push(traced.rps / plain.rps);
  console.log(
    `round ${i + 1}: tracing on ${traced.rps.toFixed(0)} req/s (p99 ${traced.p99} ms), off ${plain.rps.toFixed(0)} req/s (p99 ${plain.p99} ms), ratio ${(traced.rps / plain.rps).toFixed(3)}`,
  );
}
const spread = (xs: number[], digits = 0) =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
console.log(
  `\nreceiver at saturation, no-op publisher, ${SECONDS} s per round, ${ROUNDS} rounds\n` +
    `tracing off: median ${median(off).toFixed(0)} req/s (${spread(off)})\n` +
    `tracing on:  median ${median(on).toFixed(0)} req/s (${spread(on)})\n` +
    `on / off:    median ${median(ratios).toFixed(3)} (${spread(ratios, 3)})`,
);
