// A flash sale at Stripe's rate limit (DESIGN 5, 10), at a small scale: orders through
// the receiver and the emulator's push subscription with production's 10 delivery
// attempts, a Stripe stand-in that serves R requests/s account-wide and answers 429
// beyond, and a fulfiller whose request budget is the same R. The budget makes a burst
// wait for Stripe instead of nacking into the dead-letter topic.
import { expect } from "chai";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { DeadLetterSubscription } from "../../services/cli/dead-letters.js";
import { postSignedEvent } from "../../services/cli/commands/send-test-event.js";
import { LOCAL } from "../../services/local/defaults.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { waitFor, waitForQuiet } from "../support/wait.js";

const RATE = 10; // Stripe's limit in this test, requests/s
const ORDERS = 50;
const RETRIES = 15; // Stripe's own redeliveries of some of them

describe("e2e: a flash sale at Stripe's rate limit (budget, one read per order)", function () {
  this.timeout(180_000);
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let db: Firestore;
  let store: FirestoreOrderStore;

  before(async function () {
    const env = requireEmulators(this);
    stack = await startTestStack("sale", env, {
      maxDeliveryAttempts: 10,
      stripeRateLimit: RATE,
      fulfillerEnv: { STRIPE_REQUESTS_PER_SECOND: String(RATE) },
    });
    db = new Firestore({ projectId: env.project });
    store = new FirestoreOrderStore(db);
  });
  after(async () => {
    await stack?.stop();
    await db?.terminate();
  });

  it(`when ${ORDERS} orders and ${RETRIES} retries arrive at once, then each is emailed exactly once, nothing is dead-lettered, and at most 2% of Stripe requests get 429`, async () => {
    // Registered with the stand-in first, then posted as one burst.
    const sent = await stack.sendOrders({ count: ORDERS, duplicates: 0 });
    const url = `${stack.receiverUrl}/webhooks/stripe`;
    const payloads = sent.map((s) => s.payload!);
    const burst = [...payloads, ...payloads.slice(0, RETRIES)];
    const statuses = await Promise.all(
      burst.map(async (p) => (await postSignedEvent(url, p, LOCAL.webhookSecret)).status),
    );
    expect(statuses.every((s) => s === 200)).to.equal(true);
    const started = Date.now();
    for (const s of sent)
      await waitFor(
        `order ${s.session_id} fulfilled`,
        async () => (await store.get(s.session_id))?.status === "fulfilled",
        90_000,
        250,
      );
    const seconds = (Date.now() - started) / 1000;
    await waitForQuiet("the pipeline", () => [stack.lines.length, stack.sendgrid.attempts]);

    for (const s of sent) expect(stack.sendgrid.emailsFor(s.session_id), s.session_id).to.have.length(1);
    const pubsub = new PubSub({ projectId: stack.project });
    const dlq = new DeadLetterSubscription(pubsub, stack.names.dlqSubscription);
    const { messages } = await dlq.browse({ limit: 100 });
    await dlq.close();
    await pubsub.close();
    expect(messages, "dead letters").to.have.length(0);

    const { served, limited } = stack.stripe!.rate;
    const share = limited / (served + limited);
    console.log(
      `      flash sale: ${ORDERS} orders (+${RETRIES} retries) in ${seconds.toFixed(1)} s at a limit of ${RATE} requests/s: ` +
        `${(ORDERS / seconds).toFixed(1)} orders/s, ${(served / ORDERS).toFixed(2)} Stripe requests per order, ${limited} 429s (${(share * 100).toFixed(1)}%)`,
    );
    expect(share, "share of Stripe requests answered 429").to.be.at.most(0.02);
    // One read per order (a retry of a fulfilled order is a duplicate: no Stripe call).
    expect(served / ORDERS, "Stripe requests per order").to.be.at.most(1.2);
    expect(stack.lines.some((l) => /"alert":"dead_lettered"/.test(l))).to.equal(false);
  });

  it("when Stripe refuses with 429 anyway (others share the account), then the budget slows down, logs the reason, and the orders still go once", async () => {
    // Someone else's traffic takes most of the account's limit: the stand-in serves a third.
    stack.stripe!.setRateLimit(RATE / 3);
    const sent = await stack.sendOrders({ count: 10 });
    for (const s of sent)
      await waitFor(
        `order ${s.session_id} fulfilled`,
        async () => (await store.get(s.session_id))?.status === "fulfilled",
        90_000,
        250,
      );
    await waitForQuiet("the pipeline", () => [stack.lines.length, stack.sendgrid.attempts]);
    for (const s of sent) expect(stack.sendgrid.emailsFor(s.session_id)).to.have.length(1);
    const slowed = stack.lines.filter((l) => l.includes("slowing this instance's request budget"));
    expect(slowed.length, "429s logged").to.be.greaterThan(0);
    expect(slowed[0]).to.include('"stripe_rate_limited_reason":"global-rate"');
    stack.stripe!.setRateLimit(null);
  });
});
