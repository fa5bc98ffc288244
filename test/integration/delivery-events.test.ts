import { expect } from "chai";
import { FulfillerHarness } from "../support/fulfiller-harness.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { buildSendGridEvent } from "../../services/local/sendgrid-events.js";
import { ResendRefusedError } from "../../services/fulfiller/operator/review.js";
import type { ClaimedEmailRecord } from "../../services/fulfiller/claims/order-state.js";

describe("integration: delivery events recorded on the order, and the resend after a bounce", function () {
  this.timeout(60_000);
  let h: FulfillerHarness;

  before(function () {
    requireEmulators(this);
  });
  beforeEach(async () => {
    h = await new FulfillerHarness().start();
  });
  afterEach(async () => h?.stop());

  async function fulfilled() {
    const c = createCheckout(h.stripe);
    expect(await h.push(h.envelope(c.event()))).to.equal(204);
    const [email] = h.sendgrid.emailsFor(c.sessionId);
    return { sessionId: c.sessionId, messageId: email!.messageId, to: email!.to[0]! };
  }
  const events = (
    order: { sessionId: string; messageId: string; to: string },
    kinds: [string, number][],
    attemptId?: string,
  ) =>
    kinds.map(([event, timestamp]) =>
      buildSendGridEvent({
        event,
        email: order.to,
        messageId: order.messageId,
        customArgs: {
          order_id: order.sessionId,
          email_kind: "order",
          ...(attemptId ? { attempt_id: attemptId } : {}),
        },
        timestamp,
      }),
    );
  const push = (batch: Record<string, unknown>[]) =>
    h.push(
      h.envelope(Buffer.from(JSON.stringify(batch)), {
        source: "sendgrid",
        event_type: "sendgrid.events",
        event_count: String(batch.length),
      }),
    );
  const T = Math.floor(Date.now() / 1000);

  it("when an order email bounces, then the order records it, logs email_undelivered once, and lists as undelivered; a retried batch changes nothing", async () => {
    const order = await fulfilled();
    const batch = events(order, [
      ["processed", T],
      ["bounce", T + 2],
    ]);
    expect(await push(batch)).to.equal(204);
    const recorded = await h.store.get(order.sessionId);
    expect(recorded?.status).to.equal("fulfilled");
    expect(recorded?.email.delivery).to.deep.include({ state: "bounce", events: 2 });
    expect(recorded?.email.delivery?.reason).to.include("550 5.1.1");
    expect(h.logs.lines.filter((l) => l.alert === "email_undelivered")).to.have.length(1);
    expect(h.logs.find((l) => l.alert === "email_undelivered")).to.include({
      severity: "ERROR",
      delivery_state: "bounce",
    });

    expect(await push(batch)).to.equal(204); // SendGrid retries the batch
    expect(await push(events(order, [["deferred", T + 9]]))).to.equal(204); // a late, weaker event
    const after = await h.store.get(order.sessionId);
    expect(after?.email.delivery).to.deep.include({ state: "bounce", events: 3 });
    expect(h.logs.lines.filter((l) => l.alert === "email_undelivered")).to.have.length(1);
    const undelivered = await h.store.list({ undelivered: true, limit: 50 });
    expect(undelivered.map((o) => o.session_id)).to.include(order.sessionId);
  });

  it("when events arrive out of order, then delivered is kept over a later-arriving processed and deferred", async () => {
    const order = await fulfilled();
    expect(await push(events(order, [["delivered", T + 5]]))).to.equal(204);
    expect(
      await push(
        events(order, [
          ["processed", T],
          ["deferred", T + 1],
        ]),
      ),
    ).to.equal(204);
    const recorded = await h.store.get(order.sessionId);
    expect(recorded?.email.delivery?.state).to.equal("delivered");
    const undelivered = await h.store.list({ undelivered: true, limit: 50 });
    expect(undelivered.map((o) => o.session_id)).to.not.include(order.sessionId);
  });

  it("when events name an order that does not exist, or none, then they are acknowledged and ignored, never dead-lettered", async () => {
    const ghost = { sessionId: "cs_test_ghost", messageId: "m0", to: "w@example.com" };
    const other = buildSendGridEvent({
      event: "delivered",
      email: "x@example.com",
      messageId: "m9",
      customArgs: {},
    });
    expect(await push([...events(ghost, [["bounce", T]]), other])).to.equal(204);
    expect(await h.store.get("cs_test_ghost")).to.equal(undefined);
    expect(h.logs.find((l) => String(l.message).includes("does not exist"))).to.not.equal(undefined);
    expect(await h.pullDeadLetters(1)).to.have.length(0);
  });

  it("when events concern a stop-shipment notice, then they are recorded on the notice, not on the order email", async () => {
    const order = await fulfilled();
    await h.store.transact(order.sessionId, (o) => ({
      next: o ? { ...o, stop_notice: { state: "sent", message_id: "noticeMsg1" } } : undefined,
      result: undefined,
    }));
    const notice = buildSendGridEvent({
      event: "delivered",
      email: order.to,
      messageId: "noticeMsg1",
      customArgs: { order_id: order.sessionId, email_kind: "stop_notice" },
      timestamp: T,
    });
    expect(await push([notice, ...events(order, [["delivered", T]])])).to.equal(204);
    const recorded = await h.store.get(order.sessionId);
    expect(recorded?.stop_notice?.delivery?.state).to.equal("delivered");
    expect(recorded?.stop_notice?.delivery?.events).to.equal(1);
    expect(recorded?.email.delivery).to.deep.include({ state: "delivered", events: 1 });
  });

  it("regression (issue 25, defect 4): when a STOP SHIPMENT notice bounces or is dropped, then email_undelivered fires for it and orders list --undelivered shows the order", async () => {
    const order = await fulfilled();
    const other = await fulfilled(); // its order email is delivered: not listed
    expect(await push(events(other, [["delivered", T]]))).to.equal(204);
    await h.store.transact(order.sessionId, (o) => ({
      next: o ? { ...o, stop_notice: { state: "sent", message_id: "noticeMsg2" } } : undefined,
      result: undefined,
    }));
    const notice = (event: string, timestamp: number) =>
      buildSendGridEvent({
        event,
        email: order.to,
        messageId: "noticeMsg2",
        customArgs: { order_id: order.sessionId, email_kind: "stop_notice" },
        timestamp,
      });
    expect(
      await push([notice("processed", T), notice("dropped", T + 1), ...events(order, [["delivered", T]])]),
    ).to.equal(204);
    const alerts = h.logs.lines.filter((l) => l.alert === "email_undelivered");
    expect(alerts).to.have.length(1);
    expect(alerts[0]).to.include({ severity: "ERROR", email_kind: "stop_notice", delivery_state: "dropped" });
    expect(String(alerts[0]!.message)).to.include("STOP SHIPMENT");
    const listed = (await h.store.list({ undelivered: true, limit: 50 })).map((o) => o.session_id);
    expect(listed).to.include(order.sessionId);
    expect(listed).to.not.include(other.sessionId);
    // SendGrid retries the batch: no second alert.
    expect(await push([notice("dropped", T + 1)])).to.equal(204);
    expect(h.logs.lines.filter((l) => l.alert === "email_undelivered")).to.have.length(1);
  });

  it("when the resent email's events arrive before the resend has recorded its send, then the batch is refused (503) and counts once it comes again; a resend that died is settled by its events", async () => {
    const order = await fulfilled();
    expect(await push(events(order, [["bounce", T]]))).to.equal(204);
    // An operator's resend holds its claim and SendGrid has accepted the new message, but
    // the resend has not recorded it yet (the race the e2e delivery loop met).
    const setResend = (resend: ClaimedEmailRecord) =>
      h.store.transact(order.sessionId, (o) => ({
        next: o ? { ...o, email: { ...o.email, resend } } : undefined,
        result: undefined,
      }));
    await setResend({
      state: "sending",
      claim_id: "c1",
      attempt_id: "c1",
      started_at: new Date(),
      lease_expires_at: new Date(Date.now() + 60_000),
    });
    const newer = { ...order, messageId: "resentMsg1" };
    const early = events(
      newer,
      [
        ["processed", T + 10],
        ["delivered", T + 11],
      ],
      "c1",
    );
    expect(await push(early)).to.equal(503);
    expect((await h.store.get(order.sessionId))?.email.delivery).to.deep.include({
      state: "bounce",
      events: 1,
    });
    // The old message's own late events still count meanwhile: they name the recorded id.
    expect(await push(events(order, [["deferred", T + 1]]))).to.equal(204);

    await h.store.transact(order.sessionId, (o) => ({
      next: o
        ? {
            ...o,
            email: {
              ...o.email,
              message_id: "resentMsg1",
              attempt_id: "c1",
              resend: { state: "sent" as const, claim_id: null, lease_expires_at: null },
              delivery: null,
            },
          }
        : undefined,
      result: undefined,
    }));
    expect(await push(early)).to.equal(204); // Pub/Sub's redelivery
    expect((await h.store.get(order.sessionId))?.email.delivery).to.deep.include({
      state: "delivered",
      events: 2,
    });

    // A resend that died after SendGrid took it (its claim ran out, `sending` stays): its
    // events prove the send, and it becomes the order email without an operator.
    expect(await push(events(newer, [["bounce", T + 40]]))).to.equal(204); // the new one bounces too
    await setResend({
      state: "sending",
      claim_id: null,
      attempt_id: "c2",
      started_at: new Date(),
      lease_expires_at: null,
    });
    const proof = events({ ...order, messageId: "resentMsg2" }, [["processed", T + 50]], "c2");
    expect(await push(proof)).to.equal(204);
    const settled = await h.store.get(order.sessionId);
    expect(settled?.email).to.deep.include({
      message_id: "resentMsg2",
      attempt_id: "c2",
      resent_by: "sendgrid:event",
    });
    expect(settled?.email.resend).to.deep.include({ state: "sent", by: "sendgrid:event" });
    expect(settled?.email.delivery).to.deep.include({ state: "processed", events: 1 });
  });

  it("when an operator resends after a bounce, then one email goes out under the new message id; again, nothing, until the new one bounces too", async () => {
    const order = await fulfilled();
    const resend = () =>
      h.fulfiller.operator.resendUndelivered(order.sessionId, h.logs.logger).then(
        (outcome) => outcome.result,
        (e: unknown) => (e instanceof ResendRefusedError ? e.message : String(e)),
      );
    expect(await resend()).to.include("delivery state is not known yet");
    expect(await push(events(order, [["bounce", T]]))).to.equal(204);

    expect(await resend()).to.equal("resent");
    const emails = h.sendgrid.emailsFor(order.sessionId);
    expect(emails).to.have.length(2);
    const resent = await h.store.get(order.sessionId);
    expect(resent?.email).to.deep.include({
      message_id: emails[1]!.messageId,
      resent_by: "operator:resend-undelivered",
      delivery: null,
    });
    expect(resent?.email.resend?.state).to.equal("sent");
    // The resend went through the fence: its attempt rides in custom_args and on the record.
    expect(emails[1]!.customArgs.attempt_id).to.be.a("string").and.equal(resent?.email.attempt_id);

    expect(await resend()).to.include("not known yet");
    // The old message's bounce, retried by SendGrid, does not count against the new one.
    expect(await push(events(order, [["bounce", T + 1]]))).to.equal(204);
    expect((await h.store.get(order.sessionId))?.email.delivery).to.equal(null);
    expect(h.sendgrid.emailsFor(order.sessionId)).to.have.length(2);

    const newer = { ...order, messageId: emails[1]!.messageId };
    expect(await push(events(newer, [["dropped", T + 30]]))).to.equal(204);
    expect(await resend()).to.equal("resent");
    expect(h.sendgrid.emailsFor(order.sessionId)).to.have.length(3);
  });
});
