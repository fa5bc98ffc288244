import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { DeadLetterSubscription } from "../../services/cli/dead-letters.js";
import { purgeDeadLetters } from "../../services/cli/commands/dlq.js";
import type { DeadLetterRow } from "../../services/cli/dead-letter-view.js";
import {
  buildLineItems,
  buildSession,
  buildEvent,
  buildSubscription,
  SCALE_LINE,
} from "../../services/local/stripe/objects.js";
import { buildOrderDetails } from "../../services/fulfiller/checkout/order-details.js";
import { SUBSCRIPTION_MARKER } from "../../services/fulfiller/fulfil-order.js";
import type { CheckoutSession, LineItem } from "../../services/fulfiller/session.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import { seedOrder } from "../support/orders.js";
import { runCli, type CliRun } from "../support/cli.js";
import type { OrderRecord, OrderStatus } from "../../services/fulfiller/claims/order-state.js";

describe("e2e: operator CLI against the emulators and the local stack", function () {
  this.timeout(120_000);
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let db: Firestore;
  let store: FirestoreOrderStore;
  let pubsub: PubSub;

  before(async function () {
    const env = requireEmulators(this);
    stack = await startTestStack("cli", env);
    db = new Firestore({ projectId: env.project });
    store = new FirestoreOrderStore(db);
    pubsub = new PubSub({ projectId: env.project });
  });
  after(async () => {
    await stack?.stop();
    await db?.terminate();
    await pubsub?.close();
  });

  const cli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> =>
    runCli(args, { ...stack.env, ...env });

  async function dlqRows(): Promise<DeadLetterRow[]> {
    const run = await cli(["dlq", "list", "--json"]);
    expect(run.code, run.stderr).to.equal(0);
    return JSON.parse(run.stdout) as DeadLetterRow[];
  }

  /** An order whose session Stripe does not know yet: the fulfiller dead-letters it. */
  async function deadLetteredOrder() {
    const [sent] = await stack.sendOrders({ stripeAdmin: null });
    await waitFor("the order to fail", async () => (await store.get(sent!.session_id))?.status === "failed");
    await waitFor(
      "the dead letter",
      async () => (await dlqRows()).some((r) => r.event_id === sent!.event_id),
      20_000,
      300,
    );
    return sent!;
  }

  /** The cause is fixed: Stripe now knows the session. */
  function fixCause(sessionId: string) {
    const spec = { id: sessionId, lines: [SCALE_LINE] };
    stack.stripe!.addCheckout({ session: buildSession(spec), lineItems: buildLineItems(spec) });
  }

  it("when an order fails permanently, then `dlq list --json` shows it with its reason, and `dlq show` decodes it", async () => {
    const sent = await deadLetteredOrder();
    const row = (await dlqRows()).find((r) => r.event_id === sent.event_id)!;
    expect(row).to.include({ event_type: "checkout.session.completed", source_subscription: "fulfiller" });
    expect(row.reason).to.include("404");
    for (const key of [
      "message_id",
      "event_id",
      "event_type",
      "reason",
      "delivery_count",
      "source_subscription",
      "published_at",
    ]) {
      expect(row).to.have.property(key);
    }
    const show = await cli(["dlq", "show", sent.event_id]);
    expect(show.code, show.stderr).to.equal(0);
    const shown = JSON.parse(show.stdout) as { event: { id: string }; customer_details?: unknown };
    expect(shown.event.id).to.equal(sent.event_id);
    expect(shown).to.not.have.property("customer_details");
    expect(show.stdout).to.not.include("ada@example.com");
  });

  it("when replayed with --dry-run, then nothing changes; when replayed after the fix, then one email and the DLQ no longer lists it; twice, nothing more", async () => {
    const sent = await deadLetteredOrder();
    const dry = await cli(["dlq", "replay", "--event-id", sent.event_id, "--dry-run"]);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.include("dry run: replayed 1");
    expect((await dlqRows()).some((r) => r.event_id === sent.event_id)).to.equal(true);
    expect((await store.get(sent.session_id))?.status).to.equal("failed");

    fixCause(sent.session_id);
    const run = await cli(["dlq", "replay", "--event-id", sent.event_id]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include("replayed 1");
    await waitFor(
      "the order to be fulfilled",
      async () => (await store.get(sent.session_id))?.status === "fulfilled",
    );
    expect(stack.sendgrid.emailsFor(sent.session_id)).to.have.length(1);
    expect((await dlqRows()).some((r) => r.event_id === sent.event_id)).to.equal(false);

    const again = await cli(["dlq", "replay", "--event-id", sent.event_id]);
    expect(again.stdout).to.include("replayed 0");
    await new Promise((r) => setTimeout(r, 1000));
    expect(stack.sendgrid.emailsFor(sent.session_id)).to.have.length(1);
  });

  it("when the republish fails, then the message stays in the DLQ and the exit code is non-zero", async () => {
    const sent = await deadLetteredOrder();
    const run = await cli(["dlq", "replay", "--event-id", sent.event_id], { PUBSUB_TOPIC: "no-such-topic" });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include("FAILED");
    expect((await dlqRows()).some((r) => r.event_id === sent.event_id)).to.equal(true);
    // Clean up for the next tests: replay it properly.
    fixCause(sent.session_id);
    expect((await cli(["dlq", "replay", "--all"])).code).to.equal(0);
  });

  it("when purging, then only dead letters older than the bound are removed", async () => {
    const topic = pubsub.topic(stack.names.dlqTopic);
    const oldId = `evt_old_${randomUUID().slice(0, 8)}`;
    const newId = `evt_new_${randomUUID().slice(0, 8)}`;
    await topic.publishMessage({
      data: Buffer.from("{}"),
      attributes: { event_id: oldId, dead_letter_reason: "test" },
    });
    await new Promise((r) => setTimeout(r, 2500));
    await topic.publishMessage({
      data: Buffer.from("{}"),
      attributes: { event_id: newId, dead_letter_reason: "test" },
    });
    const dlq = new DeadLetterSubscription(pubsub, stack.names.dlqSubscription);
    const result = await purgeDeadLetters(
      { dlq },
      { olderThanMs: 2000, limit: 100, confirm: () => Promise.resolve(true) },
    );
    expect(result.removed.map((r) => r.event_id))
      .to.include(oldId)
      .and.not.include(newId);
    const rows = await dlqRows();
    expect(rows.some((r) => r.event_id === oldId)).to.equal(false);
    expect(rows.some((r) => r.event_id === newId)).to.equal(true);
    const refused = await cli(["dlq", "purge", "--older-than", "1s"]);
    expect(refused.code).to.equal(2); // no terminal to confirm, no --yes
    const yes = await cli(["dlq", "purge", "--older-than", "1s", "--yes"]);
    expect(yes.code, yes.stderr).to.equal(0);
    expect((await dlqRows()).some((r) => r.event_id === newId)).to.equal(false);
    await dlq.close();
  });

  it("when reconciling a window, then exactly the missing, failed, stale and now-paid orders are republished", async () => {
    const now = new Date();
    const make = (paymentStatus: "paid" | "unpaid" = "paid") => {
      const session = buildSession({ paymentStatus, lines: [SCALE_LINE] });
      const event = buildEvent({
        type: "checkout.session.completed",
        object: session,
        created: Math.floor(Date.now() / 1000) - 60,
      });
      stack.stripe!.addCheckout({ session, lineItems: buildLineItems({ lines: [SCALE_LINE] }), event });
      return { session, id: session.id as string, event };
    };
    const base = (id: string, status: OrderStatus, extra: Partial<OrderRecord> = {}) =>
      seedOrder(db, id, status, extra);
    const missing = make();
    const failed = make();
    await base(failed.id, "failed");
    const stale = make();
    await base(stale.id, "processing", { claim_id: "x", lease_expires_at: new Date(now.getTime() - 1000) });
    const nowPaid = make("unpaid");
    await base(nowPaid.id, "awaiting_payment");
    nowPaid.session.payment_status = "paid";
    const stillUnpaid = make("unpaid");
    await base(stillUnpaid.id, "awaiting_payment");
    const done = make();
    await base(done.id, "fulfilled", { email: { state: "sent" } });
    const live = make();
    await base(live.id, "processing", { claim_id: "y", lease_expires_at: new Date(now.getTime() + 600_000) });

    const dry = await cli(["reconcile", "--since", "10m", "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).to.equal(0);
    const planned = JSON.parse(dry.stdout) as { republished: { session_id: string; why: string }[] };
    const bySession = Object.fromEntries(planned.republished.map((r) => [r.session_id, r.why]));
    expect(bySession).to.deep.include({
      [missing.id]: "missing",
      [failed.id]: "failed",
      [stale.id]: "stale_processing",
      [nowPaid.id]: "now_paid",
    });
    for (const id of [stillUnpaid.id, done.id, live.id]) expect(bySession).to.not.have.property(id);

    const run = await cli(["reconcile", "--since", "10m"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(
      /republished \d+ \(missing \d+, failed \d+, stale \d+, now paid \d+, stop notice owed \d+, trial paid \d+, trial cancelled \d+\)/,
    );
    for (const o of [missing, failed, stale, nowPaid]) {
      await waitFor(`order ${o.id} fulfilled`, async () => (await store.get(o.id))?.status === "fulfilled");
      expect(stack.sendgrid.emailsFor(o.id)).to.have.length(1);
    }
    expect((await store.get(stillUnpaid.id))?.status).to.equal("awaiting_payment");
    expect((await store.get(live.id))?.status).to.equal("processing");
    const second = await cli(["reconcile", "--since", "10m", "--json"]);
    expect(second.code, second.stderr).to.equal(0);
    const after = JSON.parse(second.stdout) as { republished: { session_id: string }[] };
    const again = after.republished.map((r) => r.session_id);
    // Idempotent: none of the four, each checked on its own, is republished a second time.
    for (const o of [missing, failed, stale, nowPaid]) expect(again, o.id).to.not.include(o.id);

    const old = await cli(["reconcile", "--since", "40d", "--dry-run"]);
    expect(old.stderr).to.include("Stripe keeps events 30 days");
  });

  it("when an order is needs_review, then `orders resolve --sent` and `--resend` both end fulfilled, with at most one email", async () => {
    const now = new Date();
    const review = async () => {
      const spec = { lines: [SCALE_LINE] };
      const session = buildSession(spec);
      stack.stripe!.addCheckout({ session, lineItems: buildLineItems(spec) });
      const id = session.id as string;
      await seedOrder(db, id, "needs_review", {
        reason: "email outcome unknown",
        email: { state: "sending", started_at: now },
      });
      return id;
    };
    const a = await review();
    const sent = await cli(["orders", "resolve", a, "--sent"]);
    expect(sent.code, sent.stderr).to.equal(0);
    expect((await store.get(a))?.status).to.equal("fulfilled");
    expect((await store.get(a))?.email.by).to.equal("operator:confirmed");
    expect(stack.sendgrid.emailsFor(a)).to.have.length(0);

    const b = await review();
    const resend = await cli(["orders", "resolve", b, "--resend"]);
    expect(resend.code, resend.stderr + resend.stdout).to.equal(0);
    expect((await store.get(b))?.status).to.equal("fulfilled");
    expect(stack.sendgrid.emailsFor(b)).to.have.length(1);
    const twice = await cli(["orders", "resolve", b, "--resend"]);
    expect(twice.code).to.equal(1);
    expect(twice.stderr).to.include("not needs_review");
    expect(stack.sendgrid.emailsFor(b)).to.have.length(1);

    const list = await cli(["orders", "list", "--status", "fulfilled", "--json"]);
    const listed = (JSON.parse(list.stdout) as { session_id: string }[]).map((o) => o.session_id);
    expect(listed).to.include.members([a, b]);
    expect(listed.indexOf(b), "newest first").to.be.lessThan(listed.indexOf(a));
    const bad = await cli(["orders", "resolve", b]);
    expect(bad.code).to.equal(2);
  });

  it("when a needs_review subscription order is resolved, then `--sent` and `--resend` both set the subscription's initial_order_processed marker", async () => {
    const review = async () => {
      const spec = { mode: "subscription" as const, lines: [SCALE_LINE] };
      const session = buildSession(spec);
      const lineItems = buildLineItems(spec);
      const subscriptionId = session.subscription as string;
      const subscription = buildSubscription(subscriptionId);
      stack.stripe!.addCheckout({ session, lineItems, subscription });
      await seedOrder(db, session.id as string, "needs_review", {
        reason: "email outcome unknown",
        email: { state: "sending", started_at: new Date() },
        details: buildOrderDetails(session as unknown as CheckoutSession, lineItems as unknown as LineItem[]),
      });
      return { id: session.id as string, subscription };
    };
    const marked = (s: Record<string, unknown>) =>
      (s.metadata as Record<string, string>)[SUBSCRIPTION_MARKER] === "true";

    const a = await review();
    const sent = await cli(["orders", "resolve", a.id, "--sent"]);
    expect(sent.code, sent.stderr).to.equal(0);
    expect(sent.stdout).to.include(`marked ${SUBSCRIPTION_MARKER}=true`);
    expect(marked(a.subscription)).to.equal(true);
    expect((await store.get(a.id))?.subscription_marker?.state).to.equal("set");

    const b = await review();
    const resend = await cli(["orders", "resolve", b.id, "--resend"]);
    expect(resend.code, resend.stderr + resend.stdout).to.equal(0);
    expect(stack.sendgrid.emailsFor(b.id)).to.have.length(1);
    expect(marked(b.subscription)).to.equal(true);
    expect((await store.get(b.id))?.subscription_marker?.state).to.equal("set");
  });

  /** A paid order with the scale, sent through the receiver and fulfilled. */
  async function fulfilledOrder(): Promise<string> {
    const [sent] = await stack.sendOrders();
    const id = sent!.session_id;
    await waitFor(`order ${id} fulfilled`, async () => (await store.get(id))?.status === "fulfilled");
    return id;
  }
  const notices = (id: string) =>
    stack.sendgrid.emailsFor(id).filter((e) => e.customArgs.email_kind === "stop_notice");

  it("when `send-test-event --type refund --session` targets a shipped order, then one STOP SHIPMENT notice lands", async () => {
    const id = await fulfilledOrder();
    const target = ["--url", `${stack.receiverUrl}/webhooks/stripe`, "--stripe-admin", stack.stripe!.url];
    const refund = await cli(["send-test-event", "--type", "refund", "--session", id, ...target]);
    expect(refund.code, refund.stderr).to.equal(0);
    expect(refund.stdout).to.match(/charge\.refunded session=cs_test_\w+ -> 200/);
    await waitFor(
      "the stop notice, recorded",
      async () => (await store.get(id))?.stop_notice?.state === "sent",
    );
    expect(notices(id)).to.have.length(1);
    expect(notices(id)[0]!.subject).to.match(/^STOP SHIPMENT: order \w{8} \(refunded\) \[TEST\]$/);
    const order = await store.get(id);
    expect(order?.status).to.equal("fulfilled");
    expect(order?.after_sale).to.include({ kind: "refunded", notice: "sent" });
    const shown = await cli(["orders", "list", "--json"]);
    const row = (JSON.parse(shown.stdout) as { session_id: string; after_sale: string }[]).find(
      (o) => o.session_id === id,
    );
    expect(row?.after_sale).to.equal("refunded (notice sent)");

    const noSession = await cli(["send-test-event", "--type", "dispute"]);
    expect(noSession.code).to.equal(2);
    expect(noSession.stderr).to.include("--type dispute needs --session");
    const unknown = await cli([
      "send-test-event",
      "--type",
      "refund",
      "--session",
      "cs_test_nope",
      ...target,
    ]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include("no charge behind session cs_test_nope");
  });

  it("when a refund's event never arrived, then `reconcile` republishes it once and the notice goes out once", async () => {
    const id = await fulfilledOrder();
    stack.stripe!.afterSale("refund", id); // Stripe refunds and records the event; the webhook is lost
    const dry = await cli(["reconcile", "--since", "10m", "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).to.equal(0);
    const planned = (JSON.parse(dry.stdout) as { republished: { session_id: string; why: string }[] })
      .republished;
    expect(planned.filter((r) => r.session_id === id)).to.deep.equal([
      planned.find((r) => r.session_id === id && r.why === "notice_owed"),
    ]);
    const run = await cli(["reconcile", "--since", "10m"]);
    expect(run.code, run.stderr).to.equal(0);
    await waitFor(
      "the stop notice, recorded",
      async () => (await store.get(id))?.stop_notice?.state === "sent",
    );
    const again = await cli(["reconcile", "--since", "10m", "--json"]);
    const second = (JSON.parse(again.stdout) as { republished: { session_id: string }[] }).republished;
    expect(second.map((r) => r.session_id)).to.not.include(id);
    expect(notices(id)).to.have.length(1);
  });

  it("when an order was skipped under a wrong product id, then `orders retry` decides it again: dry run first, then one email", async () => {
    const spec = { lines: [SCALE_LINE] };
    const session = buildSession(spec);
    stack.stripe!.addCheckout({ session, lineItems: buildLineItems(spec) });
    const id = session.id as string;
    // As a fulfiller with FULFILMENT_PRODUCT_IDS=prod_Wrong1 left it (the real path is in after-checkout.test.ts).
    await seedOrder(db, id, "skipped", { reason: "no line item is a shipped product" });

    const dry = await cli(["orders", "retry", id, "--dry-run"]);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.equal(
      `dry run: order ${id} would send the order email (fulfilled): line item for product ${SCALE_LINE.productId}\n`,
    );
    expect((await store.get(id))?.status).to.equal("skipped");

    const stillWrong = await cli(["orders", "retry", id, "--dry-run"], {
      FULFILMENT_PRODUCT_IDS: "prod_Wrong1",
    });
    expect(stillWrong.stdout).to.include("would record skipped: no line item is a shipped product");
    const notAnId = await cli(["orders", "retry", id], { FULFILMENT_PRODUCT_IDS: "price_123" });
    expect(notAnId.code).to.equal(2);
    expect(notAnId.stderr).to.include("must be Stripe product ids");

    const run = await cli(["orders", "retry", id]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal(`order ${id}: fulfilled\n`);
    expect(stack.sendgrid.emailsFor(id)).to.have.length(1);
    const twice = await cli(["orders", "retry", id]);
    expect(twice.code).to.equal(1);
    expect(twice.stderr).to.include(`order ${id} is fulfilled; retry decides only`);
    expect(stack.sendgrid.emailsFor(id)).to.have.length(1);
  });
});
