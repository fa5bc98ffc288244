/**
 * `npm run bench:sendgrid`: the receiver's throughput on SendGrid Event Webhook batches of
 * 100 events against its Stripe path, same process, same no-op publisher (the publish is
 * measured by `npm run bench`). Three alternating rounds of each; medians and spread.
 */
import { signedStripeRequests, startReceiver } from "../receiver-process.js";
import autocannon from "autocannon";
import {
  buildSendGridEvent,
  generateSendGridKeyPair,
  signSendGridBatch,
} from "../../services/local/sendgrid-events.js";

const SECRET = "whsec_bench_sendgrid_0123456789";
const ROUNDS = 3;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const keys = generateSendGridKeyPair();

function sendgridRequests() {
  return Array.from({ length: 20 }, (_, r) => {
    const body = JSON.stringify(
      Array.from({ length: 100 }, (_, i) =>
        buildSendGridEvent({
          event: i % 2 ? "delivered" : "processed",
          email: "warehouse@example.com",
          messageId: `msg${r}x${i}`,
          customArgs: { order_id: `cs_test_${r}_${i}`, email_kind: "order", order_ref: "ABCDEFGH" },
        }),
      ),
    );
    return {
      method: "POST" as const,
      path: "/webhooks/sendgrid",
      headers: { "content-type": "application/json", ...signSendGridBatch(body, keys.privateKey) },
      body,
    };
  });
}

async function round(
  path: "stripe" | "sendgrid",
): Promise<{ rps: number; p99: number; bytes: number; non2xx: number }> {
  const server = await startReceiver({
    BENCH_NOOP: "1",
    BENCH_SECRET: SECRET,
    BENCH_SENDGRID_KEY: keys.publicKeyBase64,
  });
  try {
    const requests = path === "stripe" ? signedStripeRequests(SECRET) : sendgridRequests();
    const url = `http://127.0.0.1:${server.port}`;
    await autocannon({ url, connections: 8, duration: 1, requests });
    const result = await autocannon({ url, connections: 16, duration: SECONDS, requests });
    return {
      rps: result.requests.average,
      p99: result.latency.p99,
      bytes: Buffer.byteLength(requests[0]!.body),
      non2xx: result.non2xx,
    };
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stripe: number[] = [];
const sendgrid: number[] = [];
const ratios: number[] = [];
let sizes = { stripe: 0, sendgrid: 0 };
for (let i = 0; i < ROUNDS; i++) {
  const s = await round("stripe");
  const g = await round("sendgrid");
  if (s.non2xx || g.non2xx) throw new Error(`non-2xx answers: stripe ${s.non2xx}, sendgrid ${g.non2xx}`);
  stripe.push(s.rps);
  sendgrid.push(g.rps);
  ratios.push(g.rps / s.rps);
  sizes = { stripe: s.bytes, sendgrid: g.bytes };
  console.log(
    `round ${i + 1}: stripe ${s.rps.toFixed(0)} req/s (p99 ${s.p99} ms), sendgrid ${g.rps.toFixed(0)} batches/s = ${(g.rps * 100).toFixed(0)} events/s (p99 ${g.p99} ms), ratio ${(g.rps / s.rps).toFixed(3)}`,
  );
}
console.log(
  `\nbodies: Stripe event ${sizes.stripe} bytes, SendGrid batch of 100 ${sizes.sendgrid} bytes; no-op publisher; ${SECONDS} s per round\n` +
    `stripe path:   median ${median(stripe).toFixed(0)} req/s (${Math.min(...stripe).toFixed(0)}–${Math.max(...stripe).toFixed(0)})\n` +
    `sendgrid path: median ${median(sendgrid).toFixed(0)} batches/s (${Math.min(...sendgrid).toFixed(0)}–${Math.max(...sendgrid).toFixed(0)}), ${(median(sendgrid) * 100).toFixed(0)} events/s\n` +
    `batches per Stripe request: median ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})`,
);
