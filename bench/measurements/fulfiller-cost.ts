/** The cost of a duplicate delivery: Firestore operations and outside calls counted on the real adapters. */
import { Firestore } from "@google-cloud/firestore";
import { createApp } from "../../services/fulfiller/app.js";
import { Fulfiller } from "../../services/fulfiller/fulfil-order.js";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { createStripeClient, StripeApiCatalog } from "../../services/fulfiller/adapters/stripe-catalog.js";
import { SendGridMailer } from "../../services/fulfiller/adapters/sendgrid-mailer.js";
import { createPushAuthenticator } from "../../services/fulfiller/push/push-auth.js";
import { createLogger } from "../../services/common/logger.js";
import { StripeStandIn } from "../../services/local/stripe/stand-in.js";
import { SendGridStandIn } from "../../services/local/sendgrid-server.js";
import {
  buildEvent,
  buildLineItems,
  buildSession,
  SCALE_PRODUCT_ID,
} from "../../services/local/stripe/objects.js";
import type { OrderStore } from "../../services/fulfiller/ports.js";
import { percentile, round } from "../ratios.js";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** Wraps an OrderStore, counting transactions (claim, updateClaimed, transact) and other operations. */
function counting(store: OrderStore) {
  const counts = { transactions: 0, other: 0 };
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "claim" || prop === "updateClaimed" || prop === "transact") counts.transactions += 1;
        else counts.other += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, counts };
}

export async function measureDuplicateCost(n: number) {
  const stripe = new StripeStandIn({ apiKey: "sk_test_bench" });
  const sendgrid = new SendGridStandIn({ apiKey: "SG.bench" });
  await stripe.start();
  await sendgrid.start();
  const db = new Firestore({ projectId: "bench-project" });
  const { store, counts } = counting(new FirestoreOrderStore(db));
  const fulfiller = new Fulfiller({
    store,
    stripe: new StripeApiCatalog(
      createStripeClient({ apiKey: "sk_test_bench", apiBase: stripe.url, timeoutMs: 10_000 }),
    ),
    mailer: new SendGridMailer({ apiKey: "SG.bench", apiBase: sendgrid.url }),
    deadLetter: { publish: () => Promise.resolve("0"), close: () => Promise.resolve() },
    settings: {
      liveKey: false,
      fulfilTrials: true,
      productIds: [SCALE_PRODUCT_ID],
      emailTo: ["ship@example.com"],
      emailFrom: "orders@example.com",
      leaseMs: 60_000,
      deadlineMs: 20_000,
      deadLetterSource: "bench",
    },
  });
  const app = createApp({
    fulfiller,
    authenticate: createPushAuthenticator({ mode: "none" }),
    logger: createLogger({ service: "bench", level: "silent" }),
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pubsub/push`;
  const envelope = (event: Record<string, unknown>) =>
    JSON.stringify({
      message: {
        data: Buffer.from(JSON.stringify(event)).toString("base64"),
        messageId: String(Math.random()),
        attributes: {},
      },
      subscription: "bench",
    });
  const post = async (body: string) => {
    const t = performance.now();
    const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
    await res.arrayBuffer();
    if (res.status !== 204) throw new Error(`push answered ${res.status}`);
    return performance.now() - t;
  };
  try {
    // First deliveries of fresh orders: the full path, for comparison.
    const firsts: number[] = [];
    for (let i = 0; i < 20; i++) {
      const session = buildSession();
      stripe.addCheckout({ session, lineItems: buildLineItems({}) });
      firsts.push(await post(envelope(buildEvent({ type: "checkout.session.completed", object: session }))));
    }
    const session = buildSession();
    stripe.addCheckout({ session, lineItems: buildLineItems({}) });
    const body = envelope(buildEvent({ type: "checkout.session.completed", object: session }));
    await post(body);
    const before = { ...counts, stripe: stripe.requests.length, sendgrid: sendgrid.attempts };
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push(await post(body));
    return {
      duplicates: n,
      first_delivery_ms: round(firsts.reduce((a, b) => a + b, 0) / firsts.length, 2),
      duplicate_ms_mean: round(times.reduce((a, b) => a + b, 0) / n, 2),
      duplicate_ms_p99: round(percentile(times, 99), 2),
      firestore_transactions_per_duplicate: round((counts.transactions - before.transactions) / n, 3),
      firestore_other_ops_per_duplicate: round((counts.other - before.other) / n, 3),
      stripe_calls_per_duplicate: round((stripe.requests.length - before.stripe) / n, 3),
      sendgrid_calls_per_duplicate: round((sendgrid.attempts - before.sendgrid) / n, 3),
    };
  } finally {
    server.close();
    await stripe.stop();
    await sendgrid.stop();
    await db.terminate();
  }
}
