import { expect } from "chai";
import Stripe from "stripe";
import { createApp } from "../../../services/receiver/app.js";
import {
  buildCharge,
  buildDispute,
  buildEvent,
  buildInvoice,
  buildSession,
  buildSubscription,
} from "../../../services/local/stripe/objects.js";
import { buildThinEvent, thinTwinOf } from "../../../services/local/stripe/thin-events.js";
import { classifyEvent, handledEventTypes } from "../../../services/fulfiller/classify-event.js";
import { EVENT_ATTRIBUTES, parseStripeEvent } from "../../../services/common/event.js";
import thinFixture from "../../../services/local/stripe/fixtures/thin_event.json" with { type: "json" };
import { FakePublisher } from "../../support/fake-publisher.js";
import { listen, type Listening } from "../../support/http.js";
import { LogCapture } from "../../support/log-capture.js";
import { signPayload, TEST_SECRET } from "../../support/stripe-signing.js";

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const NOW_S = Math.floor(NOW / 1000);

/** One object of each kind a handled thin event names, as its snapshot twin would carry it. */
function objectFor(type: string): Record<string, unknown> {
  if (type.startsWith("checkout.session.")) return buildSession();
  if (type === "charge.refunded")
    return buildCharge("ch_thin0001", { paymentIntentId: "pi_thin0001", amount: 100, currency: "gbp" });
  if (type === "charge.dispute.created")
    return buildDispute({
      chargeId: "ch_thin0001",
      paymentIntentId: "pi_thin0001",
      amount: 100,
      currency: "gbp",
    });
  if (type === "invoice.paid")
    return buildInvoice("in_thin0001", { subscriptionId: "sub_thin0001", amountPaid: 100, currency: "gbp" });
  if (type === "customer.deleted")
    return { id: "cus_thin0001", object: "customer", deleted: true, livemode: false };
  return buildSubscription("sub_thin0001", { trialEnd: null });
}

describe("unit: receiver and classifier, thin events (v2.core.event)", () => {
  let publisher: FakePublisher;
  let server: Listening;

  beforeEach(async () => {
    publisher = new FakePublisher();
    server = await listen(
      createApp({
        webhookSecrets: [TEST_SECRET],
        publisher,
        publishTimeoutMs: 500,
        logger: new LogCapture("receiver").logger,
        now: () => NOW,
      }),
    );
  });
  afterEach(async () => server.close());

  async function post(event: unknown): Promise<Response> {
    const body = JSON.stringify(event, null, 2);
    return fetch(`${server.url}/webhooks/stripe`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "stripe-signature": signPayload(body, TEST_SECRET, NOW_S),
      },
      body,
    });
  }

  it("the fixture has the shape stripe-node's EventNotification types give a thin event", () => {
    // EventBase: object 'v2.core.event', created a string, related_object {id, type, url}.
    expect(thinFixture.object).to.equal("v2.core.event");
    expect(thinFixture.type).to.match(/^v1\./);
    expect(Date.parse(thinFixture.created)).to.be.a("number").and.not.NaN;
    expect(Object.keys(thinFixture.related_object).sort()).to.deep.equal(["id", "type", "url"]);
    expect(thinFixture).to.not.have.property("data");
    expect(parseStripeEvent(JSON.stringify(thinFixture))).to.not.equal(null);
  });

  it("stripe-node's parseEventNotification accepts the thin events the receiver accepts, and reads the same related object", () => {
    const stripe = new Stripe("sk_test_parse_only");
    for (const type of handledEventTypes()) {
      const thin = buildThinEvent({ type, object: objectFor(type) });
      const body = JSON.stringify(thin);
      const header = signPayload(body, TEST_SECRET, Math.floor(Date.now() / 1000));
      const parsed = stripe.parseEventNotification(body, header, TEST_SECRET);
      expect(parsed.type).to.equal(`v1.${type}`);
      expect((parsed as unknown as { related_object: { id: string } }).related_object.id).to.equal(
        (thin.related_object as { id: string }).id,
      );
      expect(parseStripeEvent(body)).to.not.equal(null);
    }
    // And the snapshot style is refused by it, as it is meant for constructEvent.
    const snapshot = JSON.stringify(
      buildEvent({ type: "checkout.session.completed", object: buildSession() }),
    );
    expect(() =>
      stripe.parseEventNotification(
        snapshot,
        signPayload(snapshot, TEST_SECRET, Math.floor(Date.now() / 1000)),
        TEST_SECRET,
      ),
    ).to.throw(/v1 Event/);
  });

  for (const type of handledEventTypes()) {
    it(`a signed thin v1.${type} is published raw, with the snapshot event's attributes and payload_style thin`, async () => {
      const object = objectFor(type);
      const thin = buildThinEvent({ type, object });
      const response = await post(thin);
      expect(response.status).to.equal(200);
      const [message] = publisher.published;
      expect(message!.data.toString("utf8")).to.equal(JSON.stringify(thin, null, 2));
      expect(message!.attributes).to.deep.equal({
        source: "stripe",
        event_id: thin.id,
        event_type: `v1.${type}`,
        object_id: object.id,
        livemode: "false",
        payload_style: "thin",
        received_at: new Date(NOW).toISOString(),
      });
      for (const key of Object.keys(message!.attributes)) expect(EVENT_ATTRIBUTES).to.include(key);

      // The fulfiller decides the thin event exactly as its snapshot twin.
      const snapshot = buildEvent({ type, object });
      const fromThin = classifyEvent(parseStripeEvent(message!.data)!, { liveKey: false });
      const fromSnapshot = classifyEvent(parseStripeEvent(JSON.stringify(snapshot))!, { liveKey: false });
      if (type === "charge.dispute.created") {
        // Thin names only the dispute: its charge is read from Stripe.
        expect(fromThin).to.deep.equal({ kind: "charge", chargeId: null, disputeId: object.id });
        expect(fromSnapshot).to.deep.include({
          kind: "charge",
          chargeId: "ch_thin0001",
          disputeId: object.id,
        });
      } else {
        expect(fromThin).to.deep.equal(fromSnapshot);
        expect(fromThin.kind).to.not.equal("ignore");
      }
    });
  }

  it("a thin event with context is published with account, and ignored like a Connect event", async () => {
    const thin = buildThinEvent({
      type: "checkout.session.completed",
      object: buildSession(),
      context: "acct_1Conn",
    });
    expect((await post(thin)).status).to.equal(200);
    expect(publisher.published[0]!.attributes.account).to.equal("acct_1Conn");
    const what = classifyEvent(parseStripeEvent(publisher.published[0]!.data)!, { liveKey: false });
    expect(what).to.deep.equal({ kind: "ignore", reason: "Connect event for account acct_1Conn" });
  });

  it("a thin event whose livemode differs from the key's is published and ignored", async () => {
    const thin = buildThinEvent({
      type: "checkout.session.completed",
      object: buildSession(),
      livemode: true,
    });
    expect((await post(thin)).status).to.equal(200);
    expect(publisher.published[0]!.attributes.livemode).to.equal("true");
    const what = classifyEvent(parseStripeEvent(publisher.published[0]!.data)!, { liveKey: false });
    expect(what.kind).to.equal("ignore");
    expect((what as { reason: string }).reason).to.match(/livemode true event but the API key is test/);
  });

  it("a thin event with no related_object, or one without id or type, gets 400 invalid_event and nothing is published", async () => {
    const base = buildThinEvent({ type: "checkout.session.completed", object: buildSession() });
    const broken = [
      { ...base, related_object: undefined },
      { ...base, related_object: null },
      { ...base, related_object: { type: "checkout.session", url: "/v1/checkout/sessions/x" } },
      { ...base, related_object: { id: "cs_test_1", url: "/v1/checkout/sessions/cs_test_1" } },
      { ...base, related_object: "cs_test_1" },
      { ...base, type: undefined },
    ];
    for (const event of broken) {
      const response = await post(event);
      expect(response.status, JSON.stringify(event)).to.equal(400);
      expect(((await response.json()) as { error: string }).error).to.equal("invalid_event");
    }
    expect(publisher.published).to.have.length(0);
  });

  it("a body that mixes the styles' markers is neither: object 'event' with related_object only, or object 'v2.core.event' with data only", async () => {
    const session = buildSession();
    const thin = buildThinEvent({ type: "checkout.session.completed", object: session });
    for (const event of [
      { ...thin, object: "event" },
      { ...buildEvent({ type: "checkout.session.completed", object: session }), object: "v2.core.event" },
    ]) {
      expect((await post(event)).status).to.equal(400);
    }
    expect(publisher.published).to.have.length(0);
  });

  it("a v2 event type (not v1.*) is published and acknowledged as not handled", async () => {
    const thin = {
      ...buildThinEvent({ type: "x", object: buildSession() }),
      type: "v2.core.account.updated",
    };
    expect((await post(thin)).status).to.equal(200);
    const what = classifyEvent(parseStripeEvent(publisher.published[0]!.data)!, { liveKey: false });
    expect(what).to.deep.equal({
      kind: "ignore",
      reason: "event type v2.core.account.updated is not handled",
    });
  });

  it("an allowlist of snapshot names admits their thin twins", async () => {
    await server.close();
    publisher = new FakePublisher();
    server = await listen(
      createApp({
        webhookSecrets: [TEST_SECRET],
        eventTypes: ["checkout.session.completed"],
        publisher,
        publishTimeoutMs: 500,
        logger: new LogCapture("receiver").logger,
        now: () => NOW,
      }),
    );
    const snapshot = buildEvent({ type: "checkout.session.completed", object: buildSession() });
    expect((await post(thinTwinOf(snapshot))).status).to.equal(200);
    expect(
      (await post(buildThinEvent({ type: "customer.created", object: buildSession() }))).status,
    ).to.equal(200);
    expect(publisher.published.map((m) => m.attributes.event_type)).to.deep.equal([
      "v1.checkout.session.completed",
    ]);
  });
});
