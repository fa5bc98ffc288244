// DESIGN 5b against the real store and the real SDKs: the dispatch link in the order
// email, the warehouse's confirmation recorded on the order and written to the order's
// PaymentIntent once per number, corrections kept, and a dispute's evidence filled once.
import { expect } from "chai";
import { FulfillerHarness } from "../support/fulfiller-harness.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { buildEvent } from "../../services/local/stripe/objects.js";
import { verifyDispatchToken } from "../../services/common/dispatch-token.js";
import { dispatchMessage } from "../../services/receiver/dispatch-page.js";
import { remindOverdueDispatch, shipmentKey } from "../../services/fulfiller/delivery/record-dispatch.js";
import type { Fulfiller } from "../../services/fulfiller/fulfil-order.js";
import { LogCapture } from "../support/log-capture.js";

const SECRET = "dispatch-secret-for-integration-01234567";
const BASE = "https://hooks.example.com";

describe("integration: the warehouse closes the loop (dispatch, DESIGN 5b)", function () {
  this.timeout(60_000);
  let h: FulfillerHarness;
  let f: Fulfiller;

  before(async function () {
    requireEmulators(this);
    h = await new FulfillerHarness().start();
    f = h.makeFulfiller({ dispatch: { secret: SECRET, baseUrl: BASE } });
  });
  after(() => h?.stop());

  const order = async (id: string) => (await h.store.get(id))!;
  const dispatch = (sessionId: string, carrier: string, number: string) => {
    const msg = dispatchMessage(
      sessionId,
      { carrier, tracking_number: number, tracking_url: "" },
      new Date(),
    );
    return Buffer.from(JSON.stringify(msg));
  };
  const deliver = (data: Buffer) =>
    f.handlePush(
      {
        messageId: `m${Math.random()}`,
        publishTime: null,
        attributes: { source: "warehouse", event_type: "dispatch.confirmed" },
        data,
        rawData: data.toString("base64"),
        subscription: null,
        deliveryAttempt: 1,
      },
      h.logs.logger,
    );
  const shipmentWrites = (intent: string) =>
    h.stripe.requests.filter((r) => r.method === "POST" && r.path === `/v1/payment_intents/${intent}`);

  async function shipped() {
    const c = createCheckout(h.stripe, { shippingCost: 500, shippingMethod: "Royal Mail Tracked 48" });
    expect((await h.deliver(f, c.event())).result).to.equal("fulfilled");
    return { ...c, intent: c.session.payment_intent as string };
  }

  it("when the order email goes out, then it carries the signed link for that order in both parts, valid 30 days", async () => {
    const c = await shipped();
    const [email] = h.sendgrid.emailsFor(c.sessionId);
    const link = /https:\/\/hooks\.example\.com\/dispatch\/(\S+)/.exec(email!.text)?.[1];
    expect(link, email!.text).to.be.a("string");
    expect(email!.html).to.include(`href="${BASE}/dispatch/${link}"`);
    const check = verifyDispatchToken(SECRET, link!, new Date());
    expect(check).to.deep.include({ ok: true, sessionId: c.sessionId });
    const days = ((check as { expiresAt: Date }).expiresAt.getTime() - Date.now()) / 86_400_000;
    expect(days).to.be.within(29.9, 30.01);
    // Without the secret, no link.
    const plain = createCheckout(h.stripe);
    expect((await h.deliver(h.makeFulfiller(), plain.event())).result).to.equal("fulfilled");
    expect(h.sendgrid.emailsFor(plain.sessionId)[0]!.text).to.not.include("/dispatch/");
  });

  it("when the warehouse confirms, then the order records it and the PaymentIntent gets the carrier and number once, by idempotency key; a redelivery writes nothing", async () => {
    const c = await shipped();
    const data = dispatch(c.sessionId, "Royal Mail", "RM123456789GB");
    expect((await deliver(data)).result).to.equal("dispatched");
    const o = await order(c.sessionId);
    expect(o.dispatch).to.deep.include({
      carrier: "Royal Mail",
      tracking_number: "RM123456789GB",
      corrections: [],
    });
    expect(o.dispatch?.stripe?.tracking_number).to.equal("RM123456789GB");
    expect(o.status).to.equal("fulfilled");
    const writes = shipmentWrites(c.intent);
    expect(writes).to.have.length(1);
    expect(writes[0]!.idempotencyKey).to.equal(shipmentKey(c.sessionId, "RM123456789GB"));
    expect(writes[0]!.body.get("shipping[tracking_number]")).to.equal("RM123456789GB");
    expect(writes[0]!.body.get("shipping[carrier]")).to.equal("Royal Mail");
    expect(writes[0]!.body.get("shipping[address][line1]")).to.be.a("string").and.not.equal("");
    expect(
      (h.stripe.paymentIntents.get(c.intent)!.shipping as { tracking_number: string }).tracking_number,
    ).to.equal("RM123456789GB");
    // Pub/Sub's redelivery, and the same number typed again: nothing more.
    expect((await deliver(data)).result).to.equal("duplicate");
    expect((await deliver(dispatch(c.sessionId, "Royal Mail", "RM123456789GB"))).result).to.equal(
      "duplicate",
    );
    expect(shipmentWrites(c.intent)).to.have.length(1);
  });

  it("when a different number follows, then it is a correction: the old one kept, Stripe written again under a new key", async () => {
    const c = await shipped();
    await deliver(dispatch(c.sessionId, "DHL", "JD0001"));
    expect((await deliver(dispatch(c.sessionId, "DHL", "JD0002"))).result).to.equal("dispatched");
    const d = (await order(c.sessionId)).dispatch!;
    expect(d.tracking_number).to.equal("JD0002");
    expect(d.corrections.map((x) => x.tracking_number)).to.deep.equal(["JD0001"]);
    expect(shipmentWrites(c.intent).map((w) => w.idempotencyKey)).to.deep.equal([
      shipmentKey(c.sessionId, "JD0001"),
      shipmentKey(c.sessionId, "JD0002"),
    ]);
  });

  it("when Stripe's write fails, then the dispatch stays recorded, the push is retried, and the retry writes once", async () => {
    const c = await shipped();
    h.stripe.addFault({ match: `POST /v1/payment_intents/${c.intent}`, status: 500, times: 1 });
    const data = dispatch(c.sessionId, "UPS", "1Z999AA10123456784");
    const first = await deliver(data);
    expect(first).to.include({ ack: false, result: "transient_failure" });
    expect((await order(c.sessionId)).dispatch?.stripe ?? null).to.equal(null);
    await deliver(data);
    expect((await order(c.sessionId)).dispatch?.stripe?.tracking_number).to.equal("1Z999AA10123456784");
    const keys = shipmentWrites(c.intent).map((w) => w.idempotencyKey);
    // Two requests, one key: Stripe applies the second as the same write.
    expect(new Set(keys)).to.deep.equal(new Set([shipmentKey(c.sessionId, "1Z999AA10123456784")]));
  });

  it("when a dispute opens on a dispatched order, or a dispatch arrives while one is open, then its evidence is filled once and not submitted", async () => {
    const a = await shipped();
    await deliver(dispatch(a.sessionId, "Royal Mail", "RM000000001GB"));
    const { dispute } = h.stripe.dispute(a.sessionId);
    const event = buildEvent({ type: "charge.dispute.created", object: dispute });
    await h.deliver(f, event);
    await h.deliver(f, event); // redelivered
    const evidence = dispute.evidence as Record<string, string>;
    expect(evidence).to.include({
      shipping_carrier: "Royal Mail",
      shipping_tracking_number: "RM000000001GB",
    });
    expect(evidence.shipping_date).to.match(/^\d{4}-\d{2}-\d{2}$/);
    expect(evidence.customer_email_address).to.include("@");
    expect(evidence.shipping_address).to.be.a("string").and.not.equal("");
    expect(evidence.product_description).to.include("Smart Scale");
    expect(dispute.status).to.equal("needs_response");
    const posts = h.stripe.requests.filter(
      (r) => r.method === "POST" && r.path === `/v1/disputes/${dispute.id as string}`,
    );
    expect(posts).to.have.length(1);
    expect(posts[0]!.body.get("submit")).to.equal("false");
    expect((await order(a.sessionId)).dispatch?.evidence?.dispute_id).to.equal(dispute.id);

    // The other order: disputed first, dispatched after.
    const b = await shipped();
    const second = h.stripe.dispute(b.sessionId).dispute;
    await h.deliver(f, buildEvent({ type: "charge.dispute.created", object: second }));
    expect((second.evidence as Record<string, string | null>).shipping_tracking_number ?? null).to.equal(
      null,
    );
    await deliver(dispatch(b.sessionId, "DPD", "15501234567890"));
    expect((second.evidence as Record<string, string>).shipping_tracking_number).to.equal("15501234567890");
  });

  it("when the warehouse confirms after a STOP SHIPMENT notice, then it is recorded and raises shipped_after_stop", async () => {
    const c = await shipped();
    const { charge } = h.stripe.refund(c.sessionId);
    await h.deliver(f, buildEvent({ type: "charge.refunded", object: charge }));
    expect((await order(c.sessionId)).stop_notice?.state).to.equal("sent");
    await deliver(dispatch(c.sessionId, "Royal Mail", "RM999999999GB"));
    expect((await order(c.sessionId)).dispatch?.tracking_number).to.equal("RM999999999GB");
    expect(h.logs.find((l) => l.alert === "shipped_after_stop" && l.session_id === c.sessionId)).to.not.equal(
      undefined,
    );
  });

  it("when a confirmation names an order nobody knows, or is not the receiver's shape, then it is acknowledged or dead-lettered, never retried", async () => {
    expect((await deliver(dispatch(`cs_test_${"Q".repeat(60)}`, "DHL", "123456"))).result).to.equal(
      "ignored",
    );
    expect((await deliver(Buffer.from('{"type":"dispatch.confirmed"}'))).result).to.equal("dead_lettered");
  });

  it("when the SLA has passed, then the reminder names each emailed order the warehouse has not confirmed, and no other", async () => {
    const late = await shipped();
    const confirmed = await shipped();
    await deliver(dispatch(confirmed.sessionId, "DHL", "778899"));
    const logs = new LogCapture("reconcile");
    const overdue = await remindOverdueDispatch(
      h.store,
      logs.logger,
      new Date(Date.now() + 49 * 3_600_000),
      48,
    );
    expect(overdue).to.include(late.sessionId);
    expect(overdue).to.not.include(confirmed.sessionId);
    expect(logs.find((l) => l.alert === "dispatch_overdue" && l.session_id === late.sessionId)).to.not.equal(
      undefined,
    );
    // Within the SLA: not yet.
    expect(await remindOverdueDispatch(h.store, logs.logger, new Date(), 48)).to.not.include(late.sessionId);
  });
});
