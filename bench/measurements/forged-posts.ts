/**
 * What a forged post costs the public receiver: its CPU time per forged SendGrid batch
 * (well-formed signature from another key, current timestamp, so the curve arithmetic
 * runs) against its CPU time per forged Stripe event (well-formed header, wrong HMAC),
 * counted in the receiver process itself (/proc/PID/stat), in alternating rounds.
 * DESIGN 4a: SendGrid's library took about 10 ms per forged post; the goal is at most 2x
 * a forged Stripe post.
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { signedStripeRequests, startReceiver } from "../receiver-process.js";
import { ratio, summarize } from "../ratios.js";
import {
  buildSendGridEvent,
  generateSendGridKeyPair,
  signSendGridBatch,
} from "../../services/local/sendgrid-events.js";

const SECRET = "whsec_bench_forged_0123456789";

export interface ForgedPostCost {
  /** CPU of the receiver per forged SendGrid post over per forged Stripe post, per round. */
  rounds: { stripe_cpu_us: number; sendgrid_cpu_us: number; ratio: number }[];
  median: number;
  min: number;
  max: number;
  posts_per_round: number;
}

/** utime + stime of a process, in microseconds (Linux). */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

function forgedRequests(kind: "stripe" | "sendgrid", count: number) {
  const attacker = generateSendGridKeyPair();
  if (kind === "stripe") {
    // A header of the right shape with the current time, signed with a guessed secret.
    return signedStripeRequests("whsec_attacker_guess_0123456789", () => ({}), count);
  }
  return Array.from({ length: count }, (_, r) => {
    const body = JSON.stringify(
      Array.from({ length: 12 }, (_, i) =>
        buildSendGridEvent({
          event: i % 2 ? "delivered" : "processed",
          email: "warehouse@example.com",
          messageId: `forged${r}x${i}`,
          customArgs: { order_id: `cs_test_${r}_${i}`, email_kind: "order" },
        }),
      ),
    );
    return {
      method: "POST" as const,
      path: "/webhooks/sendgrid",
      headers: { "content-type": "application/json", ...signSendGridBatch(body, attacker.privateKey) },
      body,
    };
  });
}

/** CPU microseconds the receiver spends per post of `kind`, after a warm-up. */
async function cpuPerPost(port: number, pid: number, kind: "stripe" | "sendgrid", posts: number) {
  const url = `http://127.0.0.1:${port}`;
  const requests = forgedRequests(kind, 40);
  await autocannon({ url, connections: 4, amount: Math.min(200, posts), requests });
  const before = cpuMicros(pid);
  const result = await autocannon({ url, connections: 4, amount: posts, requests });
  const spent = cpuMicros(pid) - before;
  if (result["4xx"] !== posts)
    throw new Error(`expected ${posts} refusals of forged ${kind} posts, got ${result["4xx"]}`);
  return spent / posts;
}

export async function measureForgedPosts(options: {
  rounds: number;
  posts: number;
}): Promise<ForgedPostCost> {
  const keys = generateSendGridKeyPair();
  const rounds: ForgedPostCost["rounds"] = [];
  for (let r = 0; r < options.rounds; r++) {
    const server = await startReceiver({
      BENCH_NOOP: "1",
      BENCH_SECRET: SECRET,
      BENCH_SENDGRID_KEY: keys.publicKeyBase64,
    });
    try {
      // The order alternates between rounds, so a slow stretch of the machine falls on both.
      const order = r % 2 ? (["sendgrid", "stripe"] as const) : (["stripe", "sendgrid"] as const);
      const cost: Record<string, number> = {};
      for (const kind of order) cost[kind] = await cpuPerPost(server.port, server.pid, kind, options.posts);
      const stripe = cost.stripe!;
      const sendgrid = cost.sendgrid!;
      rounds.push({
        stripe_cpu_us: Math.round(stripe),
        sendgrid_cpu_us: Math.round(sendgrid),
        ratio: ratio(sendgrid, stripe)!,
      });
    } finally {
      await server.stop();
    }
  }
  const summary = summarize(rounds.map((r) => r.ratio));
  if (!summary) throw new Error("forged posts: no round measured");
  return {
    rounds,
    median: summary.median,
    min: summary.min,
    max: summary.max,
    posts_per_round: options.posts,
  };
}

// `npm run bench:forged`: the figure alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const posts = Number(process.env.BENCH_POSTS ?? 4000);
  const result = await measureForgedPosts({ rounds, posts });
  for (const [i, r] of result.rounds.entries())
    console.log(
      `round ${i + 1}: forged Stripe ${r.stripe_cpu_us} µs CPU/post, forged SendGrid ${r.sendgrid_cpu_us} µs CPU/post, ratio ${r.ratio}`,
    );
  console.log(
    `receiver CPU per forged SendGrid post / per forged Stripe post: median ${result.median} (${result.min}–${result.max}) over ${rounds} rounds of ${posts} posts each; goal at most 2: ${result.median <= 2 ? "met" : "NOT met"}`,
  );
}
