import { expect } from "chai";
import Stripe from "stripe";
import { SendGridStandIn } from "../../../services/local/sendgrid-server.js";
import { StripeStandIn } from "../../../services/local/stripe/stand-in.js";
import { createStripeClient } from "../../../services/fulfiller/adapters/stripe-catalog.js";
import { buildThinEvent } from "../../../services/local/stripe/thin-events.js";
import {
  buildEvent,
  buildLineItems,
  buildSession,
  buildSubscription,
  SCALE_LINE,
} from "../../../services/local/stripe/objects.js";

const KEY = "SG.stand-in-key";

function mail(overrides: Record<string, unknown> = {}) {
  return {
    personalizations: [{ to: [{ email: "warehouse@example.com" }] }],
    from: { email: "orders@example.com" },
    subject: "Order",
    content: [{ type: "text/plain", value: "body" }],
    ...overrides,
  };
}

describe("unit: the local stand-ins say no where the real services do", () => {
  describe("SendGrid", () => {
    let sendgrid: SendGridStandIn;
    const post = async (body: unknown, key = KEY) => {
      const response = await fetch(`${sendgrid.url}/v3/mail/send`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.text() };
    };
    beforeEach(async () => {
      sendgrid = new SendGridStandIn({ apiKey: KEY });
      await sendgrid.start();
    });
    afterEach(async () => sendgrid.stop());

    it("when the key is not the account's, then 401 and nothing is accepted", async () => {
      expect((await post(mail(), "SG.someone-else")).status).to.equal(401);
      expect(sendgrid.emails).to.have.length(0);
    });

    it("when a personalization has no recipient, repeats one, or a content part is empty, then 400 with SendGrid's reason", async () => {
      const noTo = await post(mail({ personalizations: [{ to: [] }] }));
      expect(noTo.status).to.equal(400);
      expect(noTo.body).to.include("The to array is required");
      const twice = await post(
        mail({ personalizations: [{ to: [{ email: "a@example.com" }], cc: [{ email: "A@example.com" }] }] }),
      );
      expect(twice.status).to.equal(400);
      expect(twice.body).to.include("should be unique");
      const empty = await post(mail({ content: [{ type: "text/plain", value: "" }] }));
      expect(empty.status).to.equal(400);
      expect((await post(mail())).status).to.equal(202);
      expect(sendgrid.emails).to.have.length(1);
    });

    it("when a fault is planned, then an invalid request is still refused as invalid, and the fault waits for a valid one", async () => {
      sendgrid.addFault({ match: "POST /v3/mail/send", status: 503 });
      expect((await post(mail({ subject: undefined }))).status).to.equal(400);
      expect((await post(mail())).status).to.equal(503);
      expect((await post(mail())).status).to.equal(202);
    });
  });

  describe("Stripe", () => {
    let stripe: StripeStandIn;
    let client: Stripe;
    beforeEach(async () => {
      stripe = new StripeStandIn();
      await stripe.start();
      client = createStripeClient({ apiKey: "sk_test_stand_in", apiBase: stripe.url, timeoutMs: 5000 });
    });
    afterEach(async () => stripe.stop());

    it("when a list asks for more than 100, then 400 on the limit, as Stripe answers", async () => {
      const session = buildSession({ lines: [SCALE_LINE] });
      stripe.addCheckout({ session, lineItems: buildLineItems({ lines: [SCALE_LINE] }) });
      const err = await client.checkout.sessions.listLineItems(session.id as string, { limit: 101 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(Stripe.errors.StripeInvalidRequestError);
      expect((err as Stripe.errors.StripeError).param).to.equal("limit");
    });

    it("when a method Stripe does not allow is used, then it is refused", async () => {
      const session = buildSession({ mode: "subscription" });
      const subscription = buildSubscription(session.subscription as string);
      stripe.addCheckout({ session, subscription });
      const response = await fetch(`${stripe.url}/v1/subscriptions/${subscription.id as string}`, {
        method: "PUT",
        headers: { authorization: "Bearer sk_test_stand_in" },
      });
      expect(response.status).to.equal(404);
      const viaSdk = await client.subscriptions.retrieve(subscription.id as string);
      expect(viaSdk.id).to.equal(subscription.id);
    });

    it("when a session is read without expand, then its shipping rate is an id; with expand, the rate", async () => {
      const spec = { shippingCost: 500, shippingMethod: "Express" };
      const session = buildSession(spec);
      stripe.addCheckout({ session, lineItems: buildLineItems(spec) });
      const plain = await client.checkout.sessions.retrieve(session.id as string);
      expect(plain.shipping_cost?.shipping_rate).to.be.a("string").and.match(/^shr_/);
      const expanded = await client.checkout.sessions.retrieve(session.id as string, {
        expand: ["shipping_cost.shipping_rate"],
      });
      expect((expanded.shipping_cost?.shipping_rate as Stripe.ShippingRate).display_name).to.equal("Express");
    });

    it("when thin events are listed with the SDK's v2 client, then types and created filter them, newest first, across pages", async () => {
      const base = Math.floor(Date.UTC(2026, 10, 1) / 1000);
      for (let i = 0; i < 130; i++)
        stripe.thinEvents.push(
          buildThinEvent({
            type: i % 2 ? "checkout.session.completed" : "customer.created",
            object: buildSession(),
            created: base + i,
          }),
        );
      const listed: string[] = [];
      const list = client.v2.core.events.list({
        types: ["v1.checkout.session.completed"],
        created: { gte: new Date((base + 10) * 1000).toISOString() } as never,
        limit: 20,
      });
      for await (const event of list) listed.push(event.created);
      // Odd i from 11 to 129: 60 events, in three or more pages.
      expect(listed).to.have.length(60);
      expect(listed[0]).to.equal(new Date((base + 129) * 1000).toISOString());
      expect(listed.at(-1)).to.equal(new Date((base + 11) * 1000).toISOString());
      expect(stripe.count("GET /v2/core/events")).to.equal(3);
    });

    it("when a dispute is read, then it names its charge; an unknown one is Stripe's 404", async () => {
      const spec = { lines: [SCALE_LINE] };
      const session = buildSession({ ...spec, paymentStatus: "paid" });
      stripe.addCheckout({
        session,
        lineItems: buildLineItems(spec),
        event: buildEvent({ type: "checkout.session.completed", object: session }),
      });
      const { dispute, charge } = stripe.dispute(session.id as string);
      const read = await client.disputes.retrieve(dispute.id as string);
      expect(read.charge).to.equal(charge.id);
      const err = await client.disputes.retrieve("du_unknown").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as Stripe.errors.StripeError).statusCode).to.equal(404);
    });
  });
});
