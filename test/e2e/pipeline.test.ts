import { expect } from "chai";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { postSignedEvent, type Scenario } from "../../services/cli/commands/send-test-event.js";
import { LOCAL } from "../../services/local/defaults.js";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { waitFor, waitForQuiet } from "../support/wait.js";
import { FINAL_STATUSES } from "../../services/fulfiller/claims/order-state.js";
import { DeadLetterSubscription } from "../../services/cli/dead-letters.js";

describe("e2e: receiver → Pub/Sub push → fulfiller → SendGrid (local stack on the emulators)", function () {
  this.timeout(120_000);
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let store: FirestoreOrderStore;
  let db: Firestore;

  before(async function () {
    const env = requireEmulators(this);
    stack = await startTestStack("e2e", env);
    db = new Firestore({ projectId: env.project });
    store = new FirestoreOrderStore(db);
  });
  after(async () => {
    await stack?.stop();
    await db?.terminate();
  });

  const send = (
    scenario: Scenario,
    options: { count?: number; duplicates?: number; scale?: boolean; register?: boolean } = {},
  ) =>
    stack.sendOrders({
      scenario,
      ...(options.scale === undefined ? {} : { scale: options.scale }),
      ...(options.count === undefined ? {} : { count: options.count }),
      ...(options.duplicates === undefined ? {} : { duplicates: options.duplicates }),
      ...(options.register === false ? { stripeAdmin: null } : {}),
    });

  async function finalStatus(sessionId: string): Promise<string> {
    return waitFor(
      `order ${sessionId} to reach a final status`,
      async () => {
        const order = await store.get(sessionId);
        return order && (FINAL_STATUSES.has(order.status) || order.status === "awaiting_payment")
          ? order.status
          : undefined;
      },
      30_000,
    );
  }

  it("when a mix of orders is posted with duplicates, then each shipped order gets exactly one email and the rest none", async () => {
    const shipped = await send("paid", { count: 4, duplicates: 3 });
    const subscription = await send("subscription", { count: 2, duplicates: 2 });
    const noScale = await send("paid", { count: 2, duplicates: 2, scale: false });
    const setup = await send("setup", { count: 1, duplicates: 2 });
    const unpaid = await send("unpaid", { count: 1, duplicates: 2 });
    for (const s of [...shipped, ...subscription, ...noScale, ...setup, ...unpaid])
      expect(s.statuses.every((c) => c === 200)).to.equal(true);

    for (const s of [...shipped, ...subscription])
      expect(await finalStatus(s.session_id)).to.equal("fulfilled");
    for (const s of [...noScale, ...setup]) expect(await finalStatus(s.session_id)).to.equal("skipped");
    for (const s of unpaid) expect(await finalStatus(s.session_id)).to.equal("awaiting_payment");

    // Give any stray redelivery time to do harm: count once the services have been
    // quiet (no log line, no send attempt) for 1.5 s.
    await waitForQuiet("the pipeline", () => [stack.lines.length, stack.sendgrid.attempts]);
    for (const s of [...shipped, ...subscription])
      expect(stack.sendgrid.emailsFor(s.session_id), s.session_id).to.have.length(1);
    for (const s of [...noScale, ...setup, ...unpaid])
      expect(stack.sendgrid.emailsFor(s.session_id)).to.have.length(0);
    const order = await store.get(shipped[0]!.session_id);
    expect(order?.email.message_id).to.equal(stack.sendgrid.emailsFor(shipped[0]!.session_id)[0]!.messageId);
  });

  it("when the same event is redelivered after fulfilment, then nothing more is sent", async () => {
    const [first] = await send("paid");
    expect(await finalStatus(first!.session_id)).to.equal("fulfilled");
    await waitForQuiet("the first delivery", () => [stack.lines.length, stack.sendgrid.attempts]);
    const sendsBefore = stack.sendgrid.attempts;
    const stripeBefore = stack.stripe!.count(first!.session_id);
    const attemptsBefore = (await store.get(first!.session_id))!.attempts;
    // Stripe's retry of the very same event (re-signed) after the order is done:
    const event = stack.stripe!.events.find((e) => e.id === first!.event_id)!;
    const payload = JSON.stringify(event, null, 2);
    for (let i = 0; i < 3; i++) {
      const response = await postSignedEvent(
        `${stack.receiverUrl}/webhooks/stripe`,
        payload,
        LOCAL.webhookSecret,
      );
      expect(response.status).to.equal(200);
    }
    await waitFor(
      "the ledger to count 4 deliveries",
      async () => (await store.deliveries(first!.event_id)) >= 4,
    );
    // A wrong send would come after the ledger write: wait for the services to go quiet.
    await waitForQuiet("the redeliveries", () => [stack.lines.length, stack.sendgrid.attempts]);
    expect(stack.sendgrid.attempts).to.equal(sendsBefore);
    expect(stack.stripe!.count(first!.session_id), "Stripe calls for a duplicate").to.equal(stripeBefore);
    const order = await store.get(first!.session_id);
    expect(order?.status).to.equal("fulfilled");
    expect(order?.attempts, "a duplicate claims nothing").to.equal(attemptsBefore);
  });

  it("when an order fails permanently (session unknown to Stripe), then it ends in the dead-letter subscription", async () => {
    const [lost] = await send("paid", { register: false });
    expect(
      await waitFor("order failed", async () => (await store.get(lost!.session_id))?.status === "failed"),
    ).to.equal(true);
    const pubsub = new PubSub({ projectId: stack.project });
    const dlq = new DeadLetterSubscription(pubsub, stack.names.dlqSubscription);
    const found = await waitFor("the dead-lettered message", async () => {
      const { messages } = await dlq.browse({ limit: 50 });
      return messages.find((m) => m.attributes.event_id === lost!.event_id);
    });
    await dlq.close();
    await pubsub.close();
    expect(found.attributes.dead_letter_reason).to.include("404");
    expect(found.attributes.dead_letter_source).to.equal("fulfiller");
  });
});
