/**
 * The fulfiller end to end: orders through the local stack (receiver, the emulator's push
 * subscription, fulfiller, the Stripe and SendGrid stand-ins), and webhook-to-email latency
 * one event at a time.
 */
import { Firestore } from "@google-cloud/firestore";
import { startStack } from "../../services/local/stack.js";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import type { Plan } from "../plan.js";
import { percentile, round } from "../ratios.js";

export async function measurePipeline(plan: Plan, emulators: { pubsub: string; firestore: string }) {
  const stack = await startStack({
    emulators: { pubsubHost: emulators.pubsub, firestoreHost: emulators.firestore },
    project: "bench-project",
    ports: { receiver: 0, fulfiller: 0, sendgrid: 0, stripe: 0 },
    namePrefix: `bench-${Date.now()}-`,
    env: { LOG_LEVEL: "warn" },
  });
  const db = new Firestore({ projectId: "bench-project" });
  const store = new FirestoreOrderStore(db);
  try {
    const started = performance.now();
    const batches = [];
    const perBatch = Math.ceil(plan.orders / 8);
    for (let b = 0; b < 8; b++) {
      batches.push(stack.sendOrders({ count: Math.max(0, Math.min(perBatch, plan.orders - b * perBatch)) }));
    }
    const sent = (await Promise.all(batches)).flat();
    const postedAt = performance.now();
    const latencies: number[] = [];
    const pending = new Set(sent.map((s) => s.session_id));
    const deadline = Date.now() + 120_000;
    while (pending.size && Date.now() < deadline) {
      for (const email of stack.sendgrid.emails) {
        const id = email.customArgs.order_id;
        if (id && pending.delete(id)) latencies.push(performance.now() - started);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = (performance.now() - started) / 1000;
    const fulfilled = (await Promise.all(sent.map((s) => store.get(s.session_id)))).filter(
      (o) => o?.status === "fulfilled",
    ).length;

    // Webhook-to-email latency, one event at a time (no queueing behind other orders).
    const single: number[] = [];
    for (let i = 0; i < plan.latencyEvents; i++) {
      const postedAt = Date.now();
      const [one] = await stack.sendOrders();
      const until = Date.now() + 20_000;
      let email = stack.sendgrid.emailsFor(one!.session_id)[0];
      while (!email && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 5));
        email = stack.sendgrid.emailsFor(one!.session_id)[0];
      }
      if (email) single.push(email.receivedAt - postedAt);
    }
    return {
      orders: sent.length,
      fulfilled,
      emails: stack.sendgrid.emails.length,
      seconds: round(elapsed, 2),
      orders_per_second: round(fulfilled / elapsed, 1),
      post_seconds: round((postedAt - started) / 1000, 2),
      note: "the emulator pushes about two requests at a time (DESIGN section 7): this bounds the local figure, not production's",
      completion_ms_p50: round(percentile(latencies, 50), 0),
      completion_ms_p95: round(percentile(latencies, 95), 0),
      webhook_to_email: {
        events: single.length,
        ms_p50: single.length ? round(percentile(single, 50), 0) : null,
        ms_p95: single.length ? round(percentile(single, 95), 0) : null,
        ms_max: single.length ? Math.max(...single) : null,
      },
    };
  } finally {
    await stack.stop();
    await db.terminate();
  }
}
