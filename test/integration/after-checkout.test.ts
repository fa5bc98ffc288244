// Section 5a against the real store and the real SDKs: the payment re-checked before the
// order email, one STOP SHIPMENT notice after it, trials that convert or are cancelled,
// and `orders retry` as the way back from a misconfiguration.
import { expect } from "chai";
import { FulfillerHarness } from "../support/fulfiller-harness.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { seedOrder } from "../support/orders.js";
import { waitForQuiet } from "../support/wait.js";
import {
  buildEvent,
  buildCharge,
  buildPaymentIntent,
  randomId,
} from "../../services/local/stripe/objects.js";
import type { OrderRecord } from "../../services/fulfiller/claims/order-state.js";
import { reconcile } from "../../services/cli/commands/reconcile.js";
import type { StripeEventEnvelope } from "../../services/common/event.js";
import { buildThinEvent, thinTwinOf } from "../../services/local/stripe/thin-events.js";
import { createStripeClient, StripeApiCatalog } from "../../services/fulfiller/adapters/stripe-catalog.js";
import { FakePublisher } from "../support/fake-publisher.js";
import { STRIPE_TEST_KEY } from "../support/fulfiller-harness.js";

describe("integration: after checkout (section 5a)", function () {
  this.timeout(60_000);
  let h: FulfillerHarness;

  before(async function () {
    requireEmulators(this);
    h = await new FulfillerHarness().start();
  });
  after(() => h?.stop());

  const order = async (sessionId: string): Promise<OrderRecord> => (await h.store.get(sessionId))!;
  const stopNotices = (sessionId: string) =>
    h.sendgrid.emailsFor(sessionId).filter((e) => e.customArgs.email_kind === "stop_notice");
  const orderEmails = (sessionId: string) =>
    h.sendgrid.emailsFor(sessionId).filter((e) => e.customArgs.email_kind !== "stop_notice");

  /** A fulfilled order, and the events of what happens to its charge afterwards. */
  async function shipped(spec: Parameters<typeof createCheckout>[1] = {}) {
    const c = createCheckout(h.stripe, spec);
    expect(await h.push(h.envelope(c.event()))).to.equal(204);
    expect((await order(c.sessionId)).status).to.equal("fulfilled");
    const refundEvent = (amount?: number) => {
      const { charge } = h.stripe.refund(c.sessionId, amount);
      return buildEvent({ type: "charge.refunded", object: charge });
    };
    const disputeEvent = () => {
      const { dispute } = h.stripe.dispute(c.sessionId);
      return buildEvent({ type: "charge.dispute.created", object: dispute });
    };
    return { ...c, refundEvent, disputeEvent };
  }

  describe("when the money went back before the order email", () => {
    it("then a full refund cancels the order with the reason, and nothing is sent", async () => {
      const c = createCheckout(h.stripe);
      h.stripe.refund(c.sessionId);
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const o = await order(c.sessionId);
      expect(o.status).to.equal("cancelled");
      expect(o.reason).to.match(/^the payment was refunded in full \(charge ch_/);
      expect(o.payment).to.include({ refunded: true, amount_refunded: 12900 });
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);
    });

    it("then a dispute cancels it", async () => {
      const c = createCheckout(h.stripe);
      h.stripe.dispute(c.sessionId);
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect(await order(c.sessionId)).to.include({ status: "cancelled" });
      expect((await order(c.sessionId)).reason).to.match(/^the payment is disputed/);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);
    });

    it("then a partial refund ships, and the email states the refunded amount", async () => {
      const c = createCheckout(h.stripe);
      h.stripe.refund(c.sessionId, 2900);
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await order(c.sessionId)).status).to.equal("fulfilled");
      const [email] = orderEmails(c.sessionId);
      expect(email!.text).to.include("Refunded before shipping: -US$29.00");
    });

    it("then a subscription's first invoice, refunded in full, cancels it (read through the session's invoice.payments, then its PaymentIntent)", async () => {
      const c = createCheckout(h.stripe, { mode: "subscription" });
      h.stripe.refund(c.sessionId);
      const [intents, invoices] = [
        h.stripe.count("GET /v1/payment_intents/"),
        h.stripe.count("GET /v1/invoices/"),
      ];
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await order(c.sessionId)).status).to.equal("cancelled");
      expect(h.stripe.count("GET /v1/payment_intents/")).to.equal(intents + 1);
      expect(h.stripe.count("GET /v1/invoices/")).to.equal(invoices);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);
    });

    it("then an order refunded while it sat in the dead-letter queue is cancelled when replayed", async () => {
      const c = createCheckout(h.stripe);
      h.stripe.addFault({ match: "GET /v1/checkout/sessions/", status: 404, times: 1 });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await order(c.sessionId)).status).to.equal("failed");
      h.stripe.refund(c.sessionId);
      expect(await h.push(h.envelope(c.event()))).to.equal(204); // the replay
      expect((await order(c.sessionId)).status).to.equal("cancelled");
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);
    });

    it("then a refund event before the email only records it, and the order is cancelled when claimed", async () => {
      const c = createCheckout(h.stripe, { paymentStatus: "unpaid" });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await order(c.sessionId)).status).to.equal("awaiting_payment");
      // The delayed payment settles, then is refunded before its event arrives.
      c.session.payment_status = "paid";
      const intent = h.stripe.paymentIntents.get(c.session.payment_intent as string)!;
      const chargeId = randomId("ch");
      intent.latest_charge = chargeId;
      h.stripe.charges.set(
        chargeId,
        buildCharge(chargeId, {
          paymentIntentId: intent.id as string,
          amount: 12900,
          currency: "usd",
          amountRefunded: 12900,
        }),
      );
      const refunded = buildEvent({ type: "charge.refunded", object: h.stripe.charges.get(chargeId)! });
      expect(await h.push(h.envelope(refunded))).to.equal(204);
      expect((await order(c.sessionId)).after_sale).to.include({
        kind: "refunded",
        notice: "not_emailed_yet",
      });
      expect(await h.push(h.envelope(c.event("checkout.session.async_payment_succeeded")))).to.equal(204);
      expect((await order(c.sessionId)).status).to.equal("cancelled");
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);
    });
  });

  describe("when an async payment failure arrives", () => {
    it("then the session as Stripe has it now decides: still unpaid is payment_failed, paid is fulfilled", async () => {
      const failed = createCheckout(h.stripe, { paymentStatus: "unpaid" });
      expect(await h.push(h.envelope(failed.event("checkout.session.async_payment_failed")))).to.equal(204);
      expect((await order(failed.sessionId)).status).to.equal("payment_failed");
      const paid = createCheckout(h.stripe);
      expect(await h.push(h.envelope(paid.event("checkout.session.async_payment_failed")))).to.equal(204);
      expect((await order(paid.sessionId)).status).to.equal("fulfilled");
      expect(orderEmails(paid.sessionId)).to.have.length(1);
    });
  });

  describe("when a shipped order is refunded or disputed", () => {
    it("then a full refund sends exactly one STOP SHIPMENT notice, and the order keeps its status", async () => {
      const c = await shipped();
      const event = c.refundEvent();
      expect(await h.push(h.envelope(event))).to.equal(204);
      expect(await h.push(h.envelope(event))).to.equal(204); // Stripe's retry
      const notices = stopNotices(c.sessionId);
      expect(notices).to.have.length(1);
      expect(notices[0]!.subject).to.match(/^STOP SHIPMENT: order .{8} \(refunded\)/);
      expect(notices[0]!.text).to.include(c.sessionId).and.include("Refunded: US$129.00");
      expect(notices[0]!.customArgs).to.deep.include({ order_id: c.sessionId, email_kind: "stop_notice" });
      const o = await order(c.sessionId);
      expect(o.status).to.equal("fulfilled");
      expect(o.stop_notice).to.include({ state: "sent", claim_id: null });
      expect(o.after_sale).to.include({ kind: "refunded", notice: "sent", amount_refunded: 12900 });
      expect(orderEmails(c.sessionId)).to.have.length(1);
    });

    it("then concurrent copies of the refund event send one notice", async () => {
      const c = await shipped();
      const event = c.refundEvent();
      const envelope = h.envelope(event);
      const statuses = await Promise.all(Array.from({ length: 6 }, () => h.push(envelope)));
      if (process.env.DEBUG_AFTER_SALE) console.log(statuses);
      // Losers see the notice's live claim (503) or the sent notice (204); retry them as Pub/Sub would.
      for (const status of statuses) if (status !== 204) await h.pushUntilAcked(envelope);
      await waitForQuiet("the stop notices", () => h.sendgrid.attempts, 300);
      expect(stopNotices(c.sessionId)).to.have.length(1);
    });

    it("then a dispute after a refund's notice sends nothing more, and is recorded", async () => {
      const c = await shipped();
      expect(await h.push(h.envelope(c.refundEvent()))).to.equal(204);
      expect(await h.push(h.envelope(c.disputeEvent()))).to.equal(204);
      expect(stopNotices(c.sessionId)).to.have.length(1);
      expect((await order(c.sessionId)).after_sale).to.include({ kind: "disputed", notice: "sent" });
    });

    it("then a dispute on a subscription's first invoice finds the order through the recorded payment", async () => {
      const c = await shipped({ mode: "subscription" });
      const recorded = await order(c.sessionId);
      expect(recorded.payment_intent_id).to.match(/^pi_/);
      expect(recorded.invoice_id).to.equal(c.session.invoice);
      const before = h.stripe.count("/v1/checkout/sessions?");
      expect(await h.push(h.envelope(c.disputeEvent()))).to.equal(204);
      expect(stopNotices(c.sessionId)).to.have.length(1);
      expect(stopNotices(c.sessionId)[0]!.subject).to.include("(payment disputed)");
      expect(h.stripe.count("/v1/checkout/sessions?")).to.equal(before); // found in Firestore
    });

    it("then a partial refund after the email is recorded, with no notice", async () => {
      const c = await shipped();
      expect(await h.push(h.envelope(c.refundEvent(1000)))).to.equal(204);
      expect(stopNotices(c.sessionId)).to.have.length(0);
      expect((await order(c.sessionId)).after_sale).to.include({
        kind: "partially_refunded",
        notice: "not_needed",
        amount_refunded: 1000,
      });
    });

    it("then an order recorded without its payment id is found through Stripe's sessions list", async () => {
      const c = await shipped();
      await h.store.transact(c.sessionId, (o) => ({
        next: { ...o!, payment_intent_id: null },
        result: null,
      }));
      expect(await h.push(h.envelope(c.refundEvent()))).to.equal(204);
      expect(stopNotices(c.sessionId)).to.have.length(1);
    });

    it("then a refund of a payment that is not one of our orders is acknowledged and ignored", async () => {
      const intentId = randomId("pi");
      const chargeId = randomId("ch");
      h.stripe.paymentIntents.set(
        intentId,
        buildPaymentIntent(intentId, { amount: 500, currency: "usd", chargeId }),
      );
      const charge = buildCharge(chargeId, {
        paymentIntentId: intentId,
        amount: 500,
        currency: "usd",
        amountRefunded: 500,
      });
      h.stripe.charges.set(chargeId, charge);
      const attempts = h.sendgrid.attempts;
      expect(await h.push(h.envelope(buildEvent({ type: "charge.refunded", object: charge })))).to.equal(204);
      expect(h.sendgrid.attempts).to.equal(attempts);
    });

    it("then a charge Stripe does not know (404) is acknowledged, not dead-lettered", async () => {
      const charge = buildCharge(randomId("ch"), {
        paymentIntentId: randomId("pi"),
        amount: 1,
        currency: "usd",
      });
      expect(await h.push(h.envelope(buildEvent({ type: "charge.refunded", object: charge })))).to.equal(204);
      expect(
        h.logs.find((l) => l.message === "Stripe does not know this charge or dispute; acknowledging"),
      ).to.not.equal(undefined);
      expect(
        h.logs.find((l) => l.alert === "dead_lettered" && String(l.reason).includes(charge.id as string)),
      ).to.equal(undefined);
    });

    it("then a Stripe 500 or 429 while looking up the order is transient (503), and the retry sends the notice", async () => {
      const c = await shipped();
      const event = c.refundEvent();
      h.stripe.addFault({ match: "GET /v1/charges/", status: 500, times: 1 });
      expect(await h.push(h.envelope(event))).to.equal(503);
      h.stripe.addFault({ match: "GET /v1/charges/", status: 429, times: 1 });
      expect(await h.push(h.envelope(event))).to.equal(503);
      expect(await h.push(h.envelope(event))).to.equal(204);
      expect(stopNotices(c.sessionId)).to.have.length(1);
    });

    it("then a notice whose send outcome is unknown goes to needs_review, and `resolve --resend` sends it once", async () => {
      const c = await shipped();
      const event = c.refundEvent();
      h.sendgrid.addFault({ match: "POST /v3/mail/send", hang: true, times: 1 });
      expect(await h.push(h.envelope(event))).to.equal(204);
      let o = await order(c.sessionId);
      expect(o.status).to.equal("needs_review");
      expect(o.reason).to.match(/^stop-shipment notice outcome unknown/);
      expect(o.after_sale?.notice).to.equal("needs_review");
      expect(await h.push(h.envelope(event))).to.equal(204); // redelivery: no second try
      const outcome = await h.fulfiller.operator.resend(c.sessionId, h.logs.logger);
      expect(outcome.result).to.equal("stop_notice_sent");
      o = await order(c.sessionId);
      expect(o).to.include({ status: "fulfilled" });
      expect(o.stop_notice?.state).to.equal("sent");
      expect(stopNotices(c.sessionId)).to.have.length(1);
      expect(orderEmails(c.sessionId)).to.have.length(1);
      expect(await h.push(h.envelope(event))).to.equal(204);
      expect(stopNotices(c.sessionId)).to.have.length(1);
    });
  });

  describe("when trials wait for their first payment (FULFIL_TRIALS=false)", () => {
    const t = () => h.makeFulfiller({ fulfilTrials: false });
    const push = (fulfiller: ReturnType<typeof t>, event: Record<string, unknown>) =>
      h.deliver(fulfiller, event);

    it("then the trial waits, its first paid invoice ships it once, and later invoices never do", async () => {
      const f = t();
      const c = createCheckout(h.stripe, { mode: "subscription", paymentStatus: "no_payment_required" });
      expect((await push(f, c.event())).result).to.equal("awaiting_payment");
      let o = await order(c.sessionId);
      expect(o).to.include({ status: "awaiting_payment", reason: "trial" });
      expect(o.trial_conversion?.state).to.equal("awaiting");
      expect(o.subscription_id).to.equal(c.session.subscription);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);

      const zero = h.stripe.addInvoice({
        subscriptionId: c.session.subscription as string,
        amountPaid: 0,
        currency: "usd",
      });
      expect((await push(f, buildEvent({ type: "invoice.paid", object: zero }))).result).to.equal("ignored");

      const { invoice } = h.stripe.convertTrial(c.sessionId);
      const paid = buildEvent({ type: "invoice.paid", object: invoice });
      expect((await push(f, paid)).result).to.equal("fulfilled");
      expect((await push(f, paid)).result).to.equal("ignored"); // redelivery
      o = await order(c.sessionId);
      expect(o.status).to.equal("fulfilled");
      expect(o.trial_conversion).to.include({ state: "converted", invoice_id: invoice.id });
      expect(o.invoice_id).to.equal(invoice.id);
      expect(o.subscription_marker?.state).to.equal("set");
      const emails = orderEmails(c.sessionId);
      expect(emails).to.have.length(1);
      expect(emails[0]!.text).to.not.include("Trial: no payment yet");

      const renewal = h.stripe.addInvoice({
        subscriptionId: c.session.subscription as string,
        amountPaid: 12900,
        currency: "usd",
        billingReason: "subscription_cycle",
      });
      expect((await push(f, buildEvent({ type: "invoice.paid", object: renewal }))).result).to.equal(
        "ignored",
      );
      expect((await push(f, c.event())).result).to.equal("duplicate");
      expect(orderEmails(c.sessionId)).to.have.length(1);
    });

    it("then a subscription cancelled during its trial cancels the order, and a later invoice ships nothing", async () => {
      const f = t();
      const c = createCheckout(h.stripe, { mode: "subscription", paymentStatus: "no_payment_required" });
      await push(f, c.event());
      // Stripe still says active: the event alone decides nothing.
      const early = buildEvent({ type: "customer.subscription.deleted", object: c.subscription! });
      expect((await push(f, early)).result).to.equal("ignored");
      const cancelled = h.stripe.cancelSubscription(c.sessionId);
      expect(
        (await push(f, buildEvent({ type: "customer.subscription.deleted", object: cancelled }))).result,
      ).to.equal("cancelled");
      const o = await order(c.sessionId);
      expect(o).to.include({
        status: "cancelled",
        reason: "subscription cancelled during its trial, before any payment",
      });
      const late = h.stripe.addInvoice({
        subscriptionId: c.session.subscription as string,
        amountPaid: 12900,
        currency: "usd",
      });
      expect((await push(f, buildEvent({ type: "invoice.paid", object: late }))).result).to.equal("ignored");
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);
    });

    it("then `orders retry` of a waiting trial asks Stripe whether it has been paid since", async () => {
      const f = t();
      const c = createCheckout(h.stripe, { mode: "subscription", paymentStatus: "no_payment_required" });
      await push(f, c.event());
      const dry = await f.operator.retry(c.sessionId, h.logs.logger, { dryRun: true });
      expect(dry).to.have.nested.property("decision.action", "record");
      const { invoice } = h.stripe.convertTrial(c.sessionId);
      c.subscription!.latest_invoice = invoice.id;
      const result = await f.operator.retry(c.sessionId, h.logs.logger);
      expect(result).to.have.nested.property("outcome.result", "fulfilled");
      expect(orderEmails(c.sessionId)).to.have.length(1);
    });
  });

  describe("when an order was decided under a wrong configuration (`orders retry`)", () => {
    it("then retry under the right product ids ships it once; a second retry and a dry run change nothing", async () => {
      const wrong = h.makeFulfiller({ productIds: ["prod_NotTheScale"] });
      const c = createCheckout(h.stripe);
      const result = await h.deliver(wrong, c.event());
      expect(result.result).to.equal("skipped");
      expect(await h.push(h.envelope(c.event()))).to.equal(204); // a redelivery: skipped is final
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);

      const dry = await h.fulfiller.operator.retry(c.sessionId, h.logs.logger, { dryRun: true });
      expect(dry).to.have.nested.property("decision.action", "send");
      expect((await order(c.sessionId)).status).to.equal("skipped");
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);

      const [first, second] = await Promise.allSettled([
        h.fulfiller.operator.retry(c.sessionId, h.logs.logger),
        h.fulfiller.operator.retry(c.sessionId, h.logs.logger),
      ]);
      const results = [first, second].map((r) =>
        r.status === "fulfilled"
          ? (r.value as { outcome: { result: string } }).outcome.result
          : (r.reason as Error).message,
      );
      expect(results).to.include("fulfilled");
      expect(orderEmails(c.sessionId)).to.have.length(1);
      const o = await order(c.sessionId);
      expect(o.status).to.equal("fulfilled");
      expect(o.history.map((e) => e.reason)).to.satisfy((reasons: string[]) =>
        reasons.some((r) => r.startsWith("claimed for operator retry (was skipped")),
      );
      let refused: Error | undefined;
      await h.fulfiller.operator.retry(c.sessionId, h.logs.logger).catch((err: Error) => (refused = err));
      expect(refused?.message).to.equal(
        `order ${c.sessionId} is fulfilled; retry decides only skipped, failed, payment_failed, cancelled, awaiting_payment orders`,
      );
      expect(orderEmails(c.sessionId)).to.have.length(1);
    });

    it("then an order whose email went out is never emailed again by retry", async () => {
      const c = createCheckout(h.stripe);
      await seedOrder(h.db, c.sessionId, "failed", { email: { state: "sent", sent_at: new Date() } });
      let refused: Error | undefined;
      await h.fulfiller.operator.retry(c.sessionId, h.logs.logger).catch((err: Error) => (refused = err));
      expect(refused?.message).to.match(/email is sent; it is never emailed again by retry/);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(0);
    });
  });

  describe("when events after checkout were lost (`reconcile`)", () => {
    it("then it republishes exactly what the pipeline has yet to act on: a waiting trial paid or cancelled, a failure, an owed notice", async () => {
      const f = h.makeFulfiller({ fulfilTrials: false });
      const push = (event: Record<string, unknown>) => h.deliver(f, event);
      const trialSpec = { mode: "subscription" as const, paymentStatus: "no_payment_required" as const };
      const paidTrial = createCheckout(h.stripe, trialSpec);
      const cancelledTrial = createCheckout(h.stripe, trialSpec);
      const waitingTrial = createCheckout(h.stripe, trialSpec);
      for (const c of [paidTrial, cancelledTrial, waitingTrial]) await push(c.event());
      const failedLater = createCheckout(h.stripe, { paymentStatus: "unpaid" }); // its event never arrived
      const shippedOrder = await shipped();

      const events: StripeEventEnvelope[] = [
        h.stripe.afterSale("convert-trial", paidTrial.sessionId),
        h.stripe.afterSale("cancel-subscription", cancelledTrial.sessionId),
        buildEvent({ type: "checkout.session.async_payment_failed", object: failedLater.session }),
        h.stripe.afterSale("refund", shippedOrder.sessionId),
        buildEvent({
          type: "invoice.paid",
          object: h.stripe.addInvoice({
            subscriptionId: waitingTrial.session.subscription as string,
            amountPaid: 0,
            currency: "usd",
          }),
        }),
      ] as unknown as StripeEventEnvelope[];
      const publisher = new FakePublisher();
      const run = () =>
        reconcile(
          {
            // As Stripe's list would page them: one at a time, asynchronously.
            events: async function* () {
              for (const event of events) yield await Promise.resolve(event);
            },
            store: h.store,
            stripe: new StripeApiCatalog(
              createStripeClient({ apiKey: STRIPE_TEST_KEY, apiBase: h.stripe.url, timeoutMs: 5000 }),
            ),
            publisher,
            liveKey: false,
          },
          { since: new Date(Date.now() - 600_000), until: new Date() },
        );
      const result = await run();
      expect(result.failed).to.deep.equal([]);
      expect(Object.fromEntries(result.republished.map((r) => [r.session_id, r.why]))).to.deep.equal({
        [paidTrial.sessionId]: "trial_paid",
        [cancelledTrial.sessionId]: "trial_cancelled",
        [failedLater.sessionId]: "missing",
        [shippedOrder.sessionId]: "notice_owed",
      });
      // Delivered, the republished events do what the lost ones would have.
      for (const message of publisher.published)
        await push(JSON.parse(message.data.toString()) as Record<string, unknown>);
      expect((await order(paidTrial.sessionId)).status).to.equal("fulfilled");
      expect((await order(cancelledTrial.sessionId)).status).to.equal("cancelled");
      expect((await order(failedLater.sessionId)).status).to.equal("payment_failed");
      expect((await order(waitingTrial.sessionId)).status).to.equal("awaiting_payment");
      expect(stopNotices(shippedOrder.sessionId)).to.have.length(1);
      const again = await run();
      expect(again.republished).to.deep.equal([]);
    });
  });

  describe("when the events after checkout arrive thin (v2.core.event, section 4)", () => {
    const t = () => h.makeFulfiller({ fulfilTrials: false });

    it("then a thin v1.invoice.paid converts a waiting trial once, and a thin v1.customer.subscription.deleted cancels another", async () => {
      const f = t();
      const trialSpec = { mode: "subscription" as const, paymentStatus: "no_payment_required" as const };
      const converts = createCheckout(h.stripe, trialSpec);
      const cancels = createCheckout(h.stripe, trialSpec);
      for (const c of [converts, cancels])
        expect((await h.deliver(f, thinTwinOf(c.event()))).result).to.equal("awaiting_payment");

      const { invoice } = h.stripe.convertTrial(converts.sessionId);
      const paid = buildThinEvent({ type: "invoice.paid", object: invoice });
      expect((await h.deliver(f, paid)).result).to.equal("fulfilled");
      expect((await h.deliver(f, paid)).result).to.equal("ignored"); // redelivery
      // The snapshot twin of the same payment, arriving late, changes nothing.
      expect((await h.deliver(f, buildEvent({ type: "invoice.paid", object: invoice }))).result).to.equal(
        "ignored",
      );
      expect(await order(converts.sessionId)).to.include({ status: "fulfilled", invoice_id: invoice.id });
      expect(orderEmails(converts.sessionId)).to.have.length(1);

      const cancelled = h.stripe.cancelSubscription(cancels.sessionId);
      const deleted = buildThinEvent({ type: "customer.subscription.deleted", object: cancelled });
      expect((await h.deliver(f, deleted)).result).to.equal("cancelled");
      expect((await order(cancels.sessionId)).status).to.equal("cancelled");
      expect(h.sendgrid.emailsFor(cancels.sessionId)).to.have.length(0);
    });

    it("then a thin refund and a thin dispute of one shipped order send one stop notice between them, with the charge and the dispute re-read", async () => {
      const c = await shipped();
      const disputeReads = h.stripe.count("GET /v1/disputes/");
      const { dispute } = h.stripe.dispute(c.sessionId);
      const thinDispute = buildThinEvent({ type: "charge.dispute.created", object: dispute });
      expect((await h.push(h.envelope(thinDispute))).valueOf()).to.equal(204);
      expect(h.stripe.count("GET /v1/disputes/")).to.equal(disputeReads + 1);
      const { charge } = h.stripe.refund(c.sessionId);
      expect(await h.push(h.envelope(buildThinEvent({ type: "charge.refunded", object: charge })))).to.equal(
        204,
      );
      expect(await h.push(h.envelope(thinDispute))).to.equal(204);
      await waitForQuiet("the fulfiller", () => [h.sendgrid.attempts]);
      expect(stopNotices(c.sessionId)).to.have.length(1);
      expect((await order(c.sessionId)).after_sale).to.include({ kind: "disputed", notice: "sent" });
    });

    it("then a thin dispute Stripe does not know is acknowledged as ignored, not dead-lettered", async () => {
      const unknown = buildThinEvent({
        type: "charge.dispute.created",
        object: { id: "du_NotKnownToStripe", object: "dispute", livemode: false },
      });
      const outcome = await h.deliver(h.makeFulfiller(), unknown);
      expect(outcome).to.include({ ack: true, result: "ignored" });
      expect(outcome.reason).to.match(/dispute du_NotKnownToStripe/);
    });
  });
});
