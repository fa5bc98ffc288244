/**
 * Issue 25's ways to ship twice, each reproduced against the real fulfiller on the
 * emulators: every case here failed on the code before its fix. (The SendGrid 5xx case
 * lives with the other SendGrid failures in fulfiller.test.ts, the bounced stop notice
 * with the delivery events in delivery-events.test.ts.)
 */
import { expect } from "chai";
import { FulfillerHarness } from "../support/fulfiller-harness.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { OperatorRefusedError, ResendRefusedError } from "../../services/fulfiller/operator/review.js";
import type { AfterSale } from "../../services/fulfiller/claims/order-state.js";
import { buildSendGridEvent } from "../../services/local/sendgrid-events.js";
import { buildEvent } from "../../services/local/stripe/objects.js";
import { confirmSentChange, remindReview } from "../../services/fulfiller/operator/review.js";
import { FaultyStore } from "../support/faulty-store.js";

const buildEventOf = (type: string, object: Record<string, unknown>) => buildEvent({ type, object });
import { seedOrder } from "../support/orders.js";

describe("integration: regressions of the email fence (issue 25)", function () {
  this.timeout(60_000);
  let h: FulfillerHarness;
  before(function () {
    requireEmulators(this);
  });
  beforeEach(async () => {
    h = await new FulfillerHarness().start();
  });
  afterEach(async () => h?.stop());

  async function refundedAfterEmail(stopNotice: Record<string, unknown>) {
    const c = createCheckout(h.stripe);
    expect(await h.push(h.envelope(c.event()))).to.equal(204);
    const now = new Date();
    const sale: AfterSale = {
      kind: "refunded",
      at: now,
      event_id: "evt_refund_1",
      charge_id: "ch_1",
      payment_intent_id: "pi_1",
      currency: "gbp",
      amount: 12000,
      amount_refunded: 12000,
      notice: "owed",
    };
    await h.store.transact(c.sessionId, (o) => ({
      next: o ? { ...o, after_sale: sale, stop_notice: { state: "none", ...stopNotice } } : undefined,
      result: undefined,
    }));
    return c.sessionId;
  }
  const notices = (sessionId: string) =>
    h.sendgrid.emailsFor(sessionId).filter((e) => e.subject.startsWith("STOP SHIPMENT"));
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (err: unknown) => err,
    );

  it("defect 7: when an automatic attempt holds the stop notice's claim, then the operator's owed notice is refused and nothing is sent", async () => {
    const sessionId = await refundedAfterEmail({
      claim_id: "automatic-claim",
      lease_expires_at: new Date(Date.now() + 60_000),
    });
    const err = await refusal(h.fulfiller.operator.sendOwedNotice(sessionId, h.logs.logger));
    expect(err).to.be.instanceOf(OperatorRefusedError);
    expect((err as Error).message).to.include("being sent by another attempt");
    expect(notices(sessionId)).to.have.length(0);
    const order = await h.store.get(sessionId);
    expect(order?.stop_notice?.claim_id).to.equal("automatic-claim"); // not taken over
  });

  it("defect 7: when a stop notice was left sending (outcome unknown), then the operator's owed notice is refused: it may have gone out", async () => {
    const sessionId = await refundedAfterEmail({ state: "sending", claim_id: null, lease_expires_at: null });
    const err = await refusal(h.fulfiller.operator.sendOwedNotice(sessionId, h.logs.logger));
    expect(err).to.be.instanceOf(OperatorRefusedError);
    expect((err as Error).message).to.include("may already have gone out");
    expect(notices(sessionId)).to.have.length(0);
  });

  it("when the owed notice is free (no claim, nothing in flight), then the operator sends exactly one", async () => {
    const sessionId = await refundedAfterEmail({ claim_id: null, lease_expires_at: null });
    const outcome = await h.fulfiller.operator.sendOwedNotice(sessionId, h.logs.logger);
    expect(outcome?.result).to.equal("stop_notice_sent");
    expect(notices(sessionId)).to.have.length(1);
    expect(await h.fulfiller.operator.sendOwedNotice(sessionId, h.logs.logger)).to.equal(null);
    expect(notices(sessionId)).to.have.length(1);
  });

  const T = Math.floor(Date.now() / 1000);
  const pushEvents = (batch: Record<string, unknown>[]) =>
    h.push(
      h.envelope(Buffer.from(JSON.stringify(batch)), {
        source: "sendgrid",
        event_type: "sendgrid.events",
        event_count: String(batch.length),
      }),
    );
  /** An event as SendGrid posts it for one of our emails: its custom_args come back. */
  const eventOf = (
    email: { messageId: string; customArgs: Record<string, string>; to: string[] },
    event: string,
  ) =>
    buildSendGridEvent({
      event,
      email: email.to[0]!,
      messageId: email.messageId,
      customArgs: email.customArgs,
      timestamp: T,
    });
  async function bouncedOrder() {
    const c = createCheckout(h.stripe);
    expect(await h.push(h.envelope(c.event()))).to.equal(204);
    const [email] = h.sendgrid.emailsFor(c.sessionId);
    expect(await pushEvents([eventOf(email!, "bounce")])).to.equal(204);
    expect((await h.store.get(c.sessionId))?.email.delivery?.state).to.equal("bounce");
    return { ...c, email: email! };
  }
  const orderEmails = (sessionId: string) =>
    h.sendgrid.emailsFor(sessionId).filter((e) => e.customArgs.email_kind === "order");

  it("defect 1: when `orders retry` meets a transient failure, then the order goes back to the status it came from (not a dead `processing`), and running it again sends one email", async () => {
    const c = createCheckout(h.stripe);
    await seedOrder(h.db, c.sessionId, "failed", { reason: "a wrong product id, fixed since" });
    h.sendgrid.addFault({ match: "/v3/mail/send", status: 429 });
    const first = await h.fulfiller.operator.retry(c.sessionId, h.logs.logger);
    expect("outcome" in first && first.outcome.result).to.equal("transient_failure");
    const after = await h.store.get(c.sessionId);
    expect(after?.status).to.equal("failed");
    expect(after?.reason).to.include("run it again");
    expect(after?.claim_id).to.equal(null);
    const again = await h.fulfiller.operator.retry(c.sessionId, h.logs.logger);
    expect("outcome" in again && again.outcome.result).to.equal("fulfilled");
    expect(orderEmails(c.sessionId)).to.have.length(1);
  });

  it("defect 1: when an operator command was killed part-way (processing, lease over, nothing sent), then `orders retry` takes the order up again", async () => {
    const c = createCheckout(h.stripe);
    await seedOrder(h.db, c.sessionId, "processing", {
      claim_id: "killed-cli",
      lease_expires_at: new Date(Date.now() - 1000),
      last_event_type: "operator.retry",
    });
    const outcome = await h.fulfiller.operator.retry(c.sessionId, h.logs.logger);
    expect("outcome" in outcome && outcome.outcome.result).to.equal("fulfilled");
    expect(orderEmails(c.sessionId)).to.have.length(1);
  });

  it("defect 1: when a killed command left the order email `sending` (processing, lease over), then `orders resolve` settles it; retry refuses it", async () => {
    const c = createCheckout(h.stripe);
    await seedOrder(h.db, c.sessionId, "processing", {
      claim_id: "killed-cli",
      lease_expires_at: new Date(Date.now() - 1000),
      email: { state: "sending", started_at: new Date(), attempt_id: "killed-cli" },
    });
    const retried = await refusal(h.fulfiller.operator.retry(c.sessionId, h.logs.logger));
    expect((retried as Error).message).to.include("never emailed again");
    const outcome = await h.fulfiller.operator.resend(c.sessionId, h.logs.logger);
    expect(outcome.result).to.equal("fulfilled");
    expect(orderEmails(c.sessionId)).to.have.length(1);
  });

  it("defect 2: when the order was refunded (and its STOP SHIPMENT notice sent) after the bounce, then `orders resend --undelivered` refuses, saying why, and sends nothing", async () => {
    const c = await bouncedOrder();
    const refund = h.stripe.refund(c.sessionId);
    expect(await h.push(h.envelope(buildEventOf("charge.refunded", refund.charge)))).to.equal(204);
    expect(
      h.sendgrid.emailsFor(c.sessionId).filter((e) => e.subject.startsWith("STOP SHIPMENT")),
    ).to.have.length(1);
    const err = await refusal(h.fulfiller.operator.resendUndelivered(c.sessionId, h.logs.logger));
    expect(err).to.be.instanceOf(ResendRefusedError);
    expect((err as Error).message).to.include("refunded");
    expect(orderEmails(c.sessionId)).to.have.length(1);
  });

  it("defect 2: when Stripe says the payment was refunded but no event has told us yet, then the resend's re-check refuses it and frees its claim", async () => {
    const c = await bouncedOrder();
    h.stripe.refund(c.sessionId); // no charge.refunded delivered
    const err = await refusal(h.fulfiller.operator.resendUndelivered(c.sessionId, h.logs.logger));
    expect(err).to.be.instanceOf(ResendRefusedError);
    expect((err as Error).message).to.include("not resent");
    expect(orderEmails(c.sessionId)).to.have.length(1);
    expect((await h.store.get(c.sessionId))?.email.resend?.claim_id).to.equal(null);
  });

  it("defect 3: when a resend was killed after SendGrid took it (`sending` left), then a later resend refuses however long ago it was, and the order needs an operator", async () => {
    const c = await bouncedOrder();
    h.sendgrid.addFault({ match: "/v3/mail/send", acceptThenReset: true });
    const first = await h.fulfiller.operator.resendUndelivered(c.sessionId, h.logs.logger);
    expect(first.result).to.equal("needs_review");
    const order = await h.store.get(c.sessionId);
    expect(order?.status).to.equal("needs_review");
    expect(order?.email.resend?.state).to.equal("sending");
    // Long after: the resend's start is moved an hour back; it is still not free.
    await h.store.transact(c.sessionId, (o) => ({
      next: o
        ? {
            ...o,
            email: {
              ...o.email,
              resend: { ...o.email.resend!, started_at: new Date(Date.now() - 3_600_000) },
            },
          }
        : undefined,
      result: undefined,
    }));
    const later = await refusal(h.fulfiller.operator.resendUndelivered(c.sessionId, h.logs.logger));
    expect(later).to.be.instanceOf(ResendRefusedError);
    expect(orderEmails(c.sessionId)).to.have.length(2); // the first send and the killed resend
    expect(h.logs.find((l) => l.alert === "needs_review" && l.email_kind === "resend")).to.include({
      severity: "ERROR",
    });
  });

  it("defect 3: when SendGrid's event names the killed resend's attempt, then the resend is settled as sent without an operator", async () => {
    const c = await bouncedOrder();
    h.sendgrid.addFault({ match: "/v3/mail/send", acceptThenReset: true });
    expect((await h.fulfiller.operator.resendUndelivered(c.sessionId, h.logs.logger)).result).to.equal(
      "needs_review",
    );
    const resent = orderEmails(c.sessionId)[1]!;
    expect(await pushEvents([eventOf(resent, "processed")])).to.equal(204);
    const order = await h.store.get(c.sessionId);
    expect(order?.status).to.equal("fulfilled");
    expect(order?.email).to.deep.include({ message_id: resent.messageId, resent_by: "sendgrid:event" });
    expect(order?.email.resend?.state).to.equal("sent");
  });

  it("SendGrid settles doubts: when the order email's send ended unknown (502) and SendGrid's processed event names that attempt, then the order is fulfilled with no operator", async () => {
    const c = createCheckout(h.stripe);
    h.sendgrid.addFault({ match: "/v3/mail/send", acceptThenStatus: 502 });
    expect(await h.push(h.envelope(c.event()))).to.equal(204);
    expect((await h.store.get(c.sessionId))?.status).to.equal("needs_review");
    const [email] = h.sendgrid.emailsFor(c.sessionId);
    expect(email!.customArgs.attempt_id).to.be.a("string");
    expect(await pushEvents([eventOf(email!, "processed")])).to.equal(204);
    const order = await h.store.get(c.sessionId);
    expect(order?.status).to.equal("fulfilled");
    expect(order?.email).to.deep.include({
      state: "sent",
      by: "sendgrid:event",
      message_id: email!.messageId,
    });
    expect(await h.push(h.envelope(c.event()))).to.equal(204);
    expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
  });

  it("defect 6: when the order was settled by hand (`resolve --sent`, no message id), then a bounce that names only its order_id is someone else's and changes nothing, so no resend follows", async () => {
    const d = createCheckout(h.stripe);
    h.sendgrid.addFault({ match: "/v3/mail/send", acceptThenReset: true });
    expect(await h.push(h.envelope(d.event()))).to.equal(204);
    expect((await h.store.get(d.sessionId))?.status).to.equal("needs_review");
    await h.store.transact(d.sessionId, (o) => ({
      next: o ? confirmSentChange(o, d.sessionId, "tester", new Date()) : undefined,
      result: undefined,
    }));
    const forged = buildSendGridEvent({
      event: "bounce",
      email: "fulfilment@example.com",
      messageId: "someoneElsesMessage",
      customArgs: { order_id: d.sessionId, email_kind: "order" },
      timestamp: T,
    });
    expect(await pushEvents([forged])).to.equal(204);
    const order = await h.store.get(d.sessionId);
    expect(order?.email.delivery ?? null).to.equal(null);
    const err = await refusal(h.fulfiller.operator.resendUndelivered(d.sessionId, h.logs.logger));
    expect((err as Error).message).to.include("not known yet");
    expect(h.sendgrid.emailsFor(d.sessionId)).to.have.length(1);
  });

  describe("found by the model test (test/model/order-life.ts), each its shrunk counterexample", () => {
    let faulty: FaultyStore;
    beforeEach(async () => {
      await h.stop();
      h = await new FulfillerHarness().start({ wrapStore: (store) => (faulty = new FaultyStore(store)) });
    });

    it("when the answer of an operator's claim is lost (it landed), then the claim is given back at once: the order is not left processing", async () => {
      // [deliver completed (Stripe 429), orders retry (the claim's answer lost)]
      const c = createCheckout(h.stripe);
      await seedOrder(h.db, c.sessionId, "failed", { reason: "a wrong product id, fixed since" });
      faulty.arm({ kind: "lost_answer", at: 1 });
      const err = await refusal(h.fulfiller.operator.retry(c.sessionId, h.logs.logger));
      expect(String(err)).to.include("DEADLINE_EXCEEDED");
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("failed");
      expect(order?.claim_id).to.equal(null);
      const again = await h.fulfiller.operator.retry(c.sessionId, h.logs.logger);
      expect("outcome" in again && again.outcome.result).to.equal("fulfilled");
    });

    it("when the write that made an order needs_review lost its answer, then the redelivery that finds it in review alerts again", async () => {
      // [deliver completed (crash after send), time passes, redeliver (the claim's answer lost)]
      const c = createCheckout(h.stripe);
      await seedOrder(h.db, c.sessionId, "processing", {
        claim_id: "died",
        lease_expires_at: new Date(Date.now() - 1000),
        email: { state: "sending", attempt_id: "died" },
      });
      faulty.arm({ kind: "lost_answer", at: 1 });
      const envelope = h.envelope(c.event());
      expect(await h.push(envelope)).to.equal(503);
      expect((await h.store.get(c.sessionId))?.status).to.equal("needs_review");
      expect(h.logs.lines.filter((l) => l.alert === "needs_review")).to.have.length(0);
      expect(await h.push(envelope)).to.equal(204); // Pub/Sub's redelivery
      expect(h.logs.find((l) => l.alert === "needs_review")).to.include({
        severity: "ERROR",
        duplicate: true,
      });
      // And the scheduled reconcile names every order still in review.
      expect(await remindReview(h.store, h.logs.logger, new Date())).to.include(c.sessionId);
      expect(
        h.logs.lines.filter((l) => l.alert === "needs_review" && l.reminder === true),
      ).to.not.have.length(0);
    });

    it("when SendGrid refuses the operator's owed notice with a 400, then the order is not needs_review: nothing is in doubt", async () => {
      // [deliver completed, refund and its event (502 after SendGrid took the notice), owed notice (400)]
      const sessionId = await refundedAfterEmail({ claim_id: null, lease_expires_at: null });
      h.sendgrid.addFault({ match: "/v3/mail/send", status: 400 });
      const outcome = await h.fulfiller.operator.sendOwedNotice(sessionId, h.logs.logger);
      expect(outcome?.result).to.equal("failed");
      const order = await h.store.get(sessionId);
      expect(order?.status).to.equal("fulfilled");
      expect(order?.stop_notice?.state).to.equal("not_sent");
      expect(h.logs.lines.filter((l) => l.alert === "needs_review")).to.have.length(0);
    });

    it("when the write of a bounce lost its answer, then the redelivery of the batch still raises email_undelivered", async () => {
      // [deliver completed, refund and its event, SendGrid batch: ours dropped (the write's answer lost)]
      const c = createCheckout(h.stripe);
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const [email] = h.sendgrid.emailsFor(c.sessionId);
      const batch = [eventOf(email!, "bounce")];
      faulty.arm({ kind: "lost_answer", at: 1 });
      expect(await pushEvents(batch)).to.equal(503);
      expect((await h.store.get(c.sessionId))?.email.delivery?.state).to.equal("bounce");
      expect(await pushEvents(batch)).to.equal(204); // the redelivery: the events are already counted
      expect(h.logs.lines.filter((l) => l.alert === "email_undelivered")).to.have.length(1);
      expect((await h.store.get(c.sessionId))?.email.delivery?.alerted).to.equal(true);
      expect(await pushEvents(batch)).to.equal(204); // once on record, not again
      expect(h.logs.lines.filter((l) => l.alert === "email_undelivered")).to.have.length(1);
    });
  });
});
