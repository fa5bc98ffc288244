import { expect } from "chai";
import { FulfillerHarness } from "../support/fulfiller-harness.js";
import { buildEvent } from "../../services/local/stripe/objects.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { SCALE_LINE, STRAP_LINE, type LineSpec } from "../../services/local/stripe/objects.js";
import { PubSubPublisher } from "../../services/common/pubsub.js";
import { CHECKOUT_EXPANSIONS } from "../../services/fulfiller/adapters/stripe-catalog.js";
import { RequestBudget } from "../../services/common/request-budget.js";
import { seedOrder } from "../support/orders.js";

describe("integration: fulfiller (Firestore + Pub/Sub emulators, Stripe and SendGrid stand-ins)", function () {
  this.timeout(30_000);
  let h: FulfillerHarness;

  before(function () {
    requireEmulators(this);
  });
  beforeEach(async () => {
    h = await new FulfillerHarness().start();
  });
  afterEach(async () => h?.stop());

  describe("when a paid session with the scale completes", () => {
    it("then one email goes out, the order is fulfilled with its details, and the ledger counts the delivery", async () => {
      const c = createCheckout(h.stripe, { lines: [SCALE_LINE, STRAP_LINE], shippingCost: 500 });
      const event = c.event();
      expect(await h.push(h.envelope(event))).to.equal(204);
      expect(h.sendgrid.emails).to.have.length(1);
      const email = h.sendgrid.emails[0]!;
      expect(email.to).to.deep.equal(["fulfilment@example.com"]);
      expect(email.customArgs.order_id).to.equal(c.sessionId);
      expect(email.text).to.include("Ada Lovelace").and.include("Smart Scale").and.include("SW1Y 4JH");
      expect(email.html).to.include("TEST MODE");
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("fulfilled");
      expect(order?.email.state).to.equal("sent");
      expect(order?.email.message_id).to.equal(email.messageId);
      expect(order?.details?.line_items).to.have.length(2);
      expect(order?.details?.totals.total).to.equal(12900 + 3000 + 500);
      expect(order?.event_ids).to.deep.equal([event.id]);
      expect(await h.store.deliveries(event.id as string)).to.equal(1);
      const ledger = (
        await h.db
          .collection("stripe_events")
          .doc(event.id as string)
          .get()
      ).data();
      const expireAt = (ledger?.expire_at as { toDate(): Date }).toDate().getTime();
      expect(expireAt - Date.now()).to.be.within(29.9 * 86_400_000, 30.1 * 86_400_000);
    });

    it("then with SENDGRID_TEMPLATE_ID the dynamic template gets the same data instead of the built-in email", async () => {
      await h.stop();
      h = await new FulfillerHarness().start({ settings: { templateId: "d-0123456789abcdef" } });
      const c = createCheckout(h.stripe, { lines: [SCALE_LINE, STRAP_LINE] });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const [email] = h.sendgrid.emailsFor(c.sessionId);
      const request = email!.request as {
        template_id?: string;
        content?: unknown;
        personalizations: { dynamic_template_data?: Record<string, unknown> }[];
      };
      expect(request.template_id).to.equal("d-0123456789abcdef");
      expect(request.content).to.equal(undefined);
      const data = request.personalizations[0]!.dynamic_template_data!;
      expect(data).to.include({ session_id: c.sessionId, test_mode: true });
      expect(data.line_items).to.have.length(2);
      expect((data.customer as { email: string }).email).to.equal("ada@example.com");
    });

    it("then a duplicate delivery is acknowledged without any Stripe or SendGrid call", async () => {
      const c = createCheckout(h.stripe);
      const envelope = h.envelope(c.event());
      expect(await h.push(envelope)).to.equal(204);
      const stripeCalls = h.stripe.requests.length;
      const sends = h.sendgrid.attempts;
      expect(await h.push(envelope)).to.equal(204);
      expect(h.stripe.requests.length).to.equal(stripeCalls);
      expect(h.sendgrid.attempts).to.equal(sends);
      expect(
        await h.store.deliveries(
          String((envelope.message as { attributes: { event_id: string } }).attributes.event_id),
        ),
      ).to.equal(2);
    });

    it("then 20 concurrent deliveries of one event send one email", async () => {
      const c = createCheckout(h.stripe);
      const envelope = h.envelope(c.event());
      const statuses = await Promise.all(Array.from({ length: 20 }, () => h.push(envelope)));
      // Losers see a live lease (503) or the final order (204); retry them as Pub/Sub would.
      for (const status of statuses) if (status !== 204) await h.pushUntilAcked(envelope);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
      expect((await h.store.get(c.sessionId))?.status).to.equal("fulfilled");
    });

    it("then two different events of one session racing send one email", async () => {
      const c = createCheckout(h.stripe);
      const a = h.envelope(c.event("checkout.session.completed"));
      const b = h.envelope(c.event("checkout.session.async_payment_succeeded"));
      await Promise.all([h.pushUntilAcked(a), h.pushUntilAcked(b)]);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
      const order = await h.store.get(c.sessionId);
      expect(order?.event_ids).to.have.length(2);
    });

    it("then 25 line items all appear in the email, and 150 are read through auto-pagination", async () => {
      const many = (n: number): LineSpec[] =>
        Array.from({ length: n }, (_, i) => ({
          ...STRAP_LINE,
          name: "Spare part",
          description: `Part ${String(i + 1).padStart(3, "0")}, size M`,
          quantity: 1,
        }));
      const c25 = createCheckout(h.stripe, { lines: [SCALE_LINE, ...many(24)] });
      expect(await h.push(h.envelope(c25.event()))).to.equal(204);
      const email = h.sendgrid.emailsFor(c25.sessionId)[0]!;
      for (let i = 1; i <= 24; i++)
        expect(email.text).to.include(`Part ${String(i).padStart(3, "0")}, size M`);
      expect(email.text).to.include("Items: 25 units in 25 lines");
      const c150 = createCheckout(h.stripe, { lines: [...many(149), SCALE_LINE] });
      expect(await h.push(h.envelope(c150.event()))).to.equal(204);
      expect(h.sendgrid.emailsFor(c150.sessionId)[0]!.text).to.include("Items: 150 units in 150 lines");
      expect(h.stripe.count(`/v1/checkout/sessions/${c150.sessionId}/line_items`)).to.equal(2);
    });
  });

  describe("when the customer paid in a currency option of a price in another currency", () => {
    it("then the email shows the session's amounts, the shipping method from the expanded rate, and the billing-address warning", async () => {
      const c = createCheckout(h.stripe, {
        currency: "gbp",
        noShippingAddress: true,
        shippingCost: 495,
        shippingMethod: "Royal Mail Tracked 48",
        lines: [
          {
            ...SCALE_LINE,
            unitAmount: 7900,
            description: "Smart Scale, Graphite",
            price: { currency: "usd", unitAmount: 10000 },
          },
        ],
      });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const [email] = h.sendgrid.emailsFor(c.sessionId);
      expect(email!.text).to.include("1 x Smart Scale, Graphite @ £79.00 = £79.00");
      expect(email!.text).to.not.include("£100.00");
      expect(email!.text).to.include("Shipping method: Royal Mail Tracked 48");
      expect(email!.text).to.include("Billing address (ship here)");
      // The session is read with its shipping rate expanded.
      const read = h.stripe.requests.find((r) => r.path === `/v1/checkout/sessions/${c.sessionId}`);
      const expanded = [...(read?.query.entries() ?? [])]
        .filter(([k]) => k.startsWith("expand"))
        .map(([, v]) => v);
      expect(expanded).to.deep.equal(CHECKOUT_EXPANSIONS);
    });
  });

  describe("when the request budget is spent (STRIPE_REQUESTS_PER_SECOND, DESIGN 5)", () => {
    it("then an attempt waits for its token within the deadline, and one whose token is further away answers 503 at once, sends nothing and leaves the order claimable", async () => {
      // One token every 2 s; an attempt's Stripe calls have about 4 s (6 s less the record reserve).
      const budget = new RequestBudget({ ratePerSecond: 0.5 });
      const f = h.makeFulfiller({ deadlineMs: 6000 }, h.store, budget);
      const orders = [createCheckout(h.stripe), createCheckout(h.stripe), createCheckout(h.stripe)];
      const sendsBefore = h.sendgrid.attempts;
      const started = Date.now();
      // Three at once: tokens at 0, 2 and 4 s; the third is further away than its deadline.
      const outcomes = await Promise.all(orders.map((o) => h.deliver(f, o.event())));
      const results = outcomes.map((o) => o.result).sort();
      expect(results, JSON.stringify(outcomes)).to.deep.equal([
        "fulfilled",
        "fulfilled",
        "transient_failure",
      ]);
      expect(Date.now() - started, "the second waited for its token").to.be.at.least(1900);
      const refused = outcomes.find((o) => !o.ack)!;
      expect(refused.reason).to.match(
        /Stripe request budget: the next token is \d+ ms away at 0\.5 requests\/s, and the attempt has \d+ ms left/,
      );
      expect(budget.stats).to.include({ taken: 2, waited: 1, refused: 1 });
      expect(h.sendgrid.attempts - sendsBefore).to.equal(2);
      const late = orders[outcomes.indexOf(refused)]!;
      // Released at once, for the redelivery to claim.
      const released = (await h.store.get(late.sessionId))!;
      expect(released.status).to.equal("processing");
      expect(released.claim_id).to.equal(null);
      expect(released.reason).to.match(/Stripe request budget/);
      expect(h.sendgrid.emailsFor(late.sessionId)).to.have.length(0);
      // Pub/Sub's redelivery waits for the next token, inside its deadline, and ships it once.
      expect((await h.deliver(f, late.event())).result).to.equal("fulfilled");
      expect(h.sendgrid.emailsFor(late.sessionId)).to.have.length(1);
    });
  });

  describe("when an order is decided (one Stripe read per order, DESIGN 5)", () => {
    /** Stripe API requests the stand-in served while `run` ran. */
    async function requestsOf(run: () => Promise<unknown>): Promise<string[]> {
      const before = h.stripe.requests.length;
      await run();
      return h.stripe.requests
        .slice(before)
        .map((r) => `${r.method} ${r.path.replace(/\/(cs|pi|ch|sub|in)_\w+/g, "/ID")}`);
    }

    it("then a paid payment-mode order costs one request: the session with its line items, products, shipping rate, PaymentIntent and charge", async () => {
      const c = createCheckout(h.stripe, { lines: [SCALE_LINE, STRAP_LINE], shippingCost: 500 });
      const seen = await requestsOf(() => h.push(h.envelope(c.event())));
      expect(seen).to.deep.equal(["GET /v1/checkout/sessions/ID"]);
      const o = (await h.store.get(c.sessionId))!;
      expect(o.status).to.equal("fulfilled");
      expect(o.payment).to.include({ refunded: false, disputed: false });
      expect(o.payment?.charge_id).to.match(/^ch_/);
      expect(h.sendgrid.emailsFor(c.sessionId)[0]!.text).to.include("Smart Scale");
    });

    it("then a subscription's first payment costs one more read (its PaymentIntent and charge, deeper than Stripe expands), and the marker one write", async () => {
      const c = createCheckout(h.stripe, { mode: "subscription" });
      const seen = await requestsOf(() => h.push(h.envelope(c.event())));
      expect(seen).to.deep.equal([
        "GET /v1/checkout/sessions/ID",
        "GET /v1/payment_intents/ID",
        "POST /v1/subscriptions/ID",
      ]);
      expect((await h.store.get(c.sessionId))?.status).to.equal("fulfilled");
    });

    it("then a trial and an unpaid session cost one read each (the shipped trial's marker one write)", async () => {
      const trial = createCheckout(h.stripe, { mode: "subscription", paymentStatus: "no_payment_required" });
      expect(await requestsOf(() => h.push(h.envelope(trial.event())))).to.deep.equal([
        "GET /v1/checkout/sessions/ID",
        "POST /v1/subscriptions/ID",
      ]);
      const unpaid = createCheckout(h.stripe, { paymentStatus: "unpaid" });
      expect(await requestsOf(() => h.push(h.envelope(unpaid.event())))).to.deep.equal([
        "GET /v1/checkout/sessions/ID",
      ]);
    });

    it("then more than ten line items are listed in full only because the expanded page says has_more", async () => {
      const lines: LineSpec[] = Array.from({ length: 12 }, (_, i) => ({
        ...STRAP_LINE,
        description: `Strap ${i + 1}`,
      }));
      const c = createCheckout(h.stripe, { lines: [SCALE_LINE, ...lines] });
      const seen = await requestsOf(() => h.push(h.envelope(c.event())));
      expect(seen).to.deep.equal(["GET /v1/checkout/sessions/ID", "GET /v1/checkout/sessions/ID/line_items"]);
      const text = h.sendgrid.emailsFor(c.sessionId)[0]!.text;
      expect(text).to.include("Strap 12");
      expect((await h.store.get(c.sessionId))?.details?.line_items).to.have.length(13);
    });
  });

  describe("when the lease is barely longer than the handler deadline", () => {
    it("then the send is shortened to fit the lease and the order is fulfilled (no claim-lost livelock)", async () => {
      await h.stop();
      h = await new FulfillerHarness().start({ settings: { deadlineMs: 3000, leaseMs: 3500 } });
      const c = createCheckout(h.stripe);
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("fulfilled");
    });
  });

  describe("when customer values are hostile", () => {
    it("then the email SendGrid receives is well-formed: subject without CR/LF, HTML escaped, long values bounded", async () => {
      const c = createCheckout(h.stripe, {
        customer: {
          name: "<img src=x onerror=alert(1)>\r\nBcc: victim@example.com",
          email: "evil@example.com",
          phone: "\u0000+1",
          address: {
            line1: "<script>steal()</script>",
            line2: "y".repeat(10_000),
            city: "Berlin\r\nX-Header: 1",
            postal_code: "10115",
            country: "DE",
          },
        },
      });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const [email] = h.sendgrid.emailsFor(c.sessionId);
      expect(email, "accepted by the SendGrid stand-in").to.not.equal(undefined);
      expect(email!.subject).to.not.match(/[\r\n]/);
      expect(email!.html).to.not.match(/<img|<script/);
      expect(email!.html).to.include("&lt;script&gt;steal()&lt;/script&gt;");
      expect(email!.html.length).to.be.lessThan(20_000);
      expect(email!.text).to.not.include("\r");
    });
  });

  describe("when SendGrid fails", () => {
    it("then a 500 is an unknown outcome: needs_review, and no redelivery sends again", async () => {
      const c = createCheckout(h.stripe);
      h.sendgrid.addFault({ match: "/v3/mail/send", status: 500 });
      const envelope = h.envelope(c.event());
      expect(await h.push(envelope)).to.equal(204);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("needs_review");
      expect(order?.email.state).to.equal("sending");
      expect(await h.push(envelope)).to.equal(204);
      expect(h.sendgrid.attempts).to.equal(1);
    });

    it("regression (issue 25, defect 5): when SendGrid takes the email and its front end answers 502, then one email and needs_review, never a second send", async () => {
      const c = createCheckout(h.stripe);
      h.sendgrid.addFault({ match: "/v3/mail/send", acceptThenStatus: 502 });
      const envelope = h.envelope(c.event());
      expect(await h.push(envelope)).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("needs_review");
      expect(h.logs.find((l) => l.alert === "needs_review")).to.include({ severity: "ERROR" });
      expect(await h.push(envelope)).to.equal(204);
      expect(await h.push(h.envelope(c.event("checkout.session.async_payment_succeeded")))).to.equal(204);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
    });

    it("then a 413 records failed and dead-letters, like a 400 (SendGrid did not take it)", async () => {
      const c = createCheckout(h.stripe);
      h.sendgrid.addFault({ match: "/v3/mail/send", status: 413 });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("failed");
      expect(order?.email.state).to.equal("not_sent");
      await h.pullDeadLetters(1);
    });

    it("then a 429 is retried the same way", async () => {
      const c = createCheckout(h.stripe);
      h.sendgrid.addFault({ match: "/v3/mail/send", status: 429, times: 2 });
      expect(await h.pushUntilAcked(h.envelope(c.event()))).to.deep.equal([503, 503, 204]);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
    });

    it("then a 400 records failed and dead-letters the original message with the reason", async () => {
      const c = createCheckout(h.stripe);
      h.sendgrid.addFault({ match: "/v3/mail/send", status: 400 });
      const event = c.event();
      expect(await h.push(h.envelope(event))).to.equal(204);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("failed");
      expect(order?.reason).to.include("SendGrid answered 400");
      const [dead] = await h.pullDeadLetters(1);
      expect((JSON.parse(dead!.data.toString()) as { id: string }).id).to.equal(event.id);
      expect(dead!.attributes).to.include({ event_id: event.id, dead_letter_source: "fulfiller-test" });
      expect(dead!.attributes.dead_letter_reason).to.include("400");
      expect(dead!.attributes.dead_letter_at).to.match(/^\d{4}-\d\d-\d\dT/);
    });

    for (const status of [401, 403]) {
      it(`then a ${status} is dead-lettered after exactly one attempt (no retry storm)`, async () => {
        const c = createCheckout(h.stripe);
        h.sendgrid.addFault({ match: "/v3/mail/send", status, times: 100 });
        const envelope = h.envelope(c.event());
        expect(await h.push(envelope)).to.equal(204);
        expect(h.sendgrid.attempts).to.equal(1);
        const [dead] = await h.pullDeadLetters(1);
        expect(dead!.attributes.dead_letter_reason).to.include(String(status));
        expect((await h.store.get(c.sessionId))?.email.state).to.equal("not_sent");
      });
    }

    it("then a timeout leaves the order needs_review and no redelivery sends again", async () => {
      await h.stop();
      h = await new FulfillerHarness().start({ settings: { deadlineMs: 1500, leaseMs: 3000 } });
      const c = createCheckout(h.stripe);
      h.sendgrid.addFault({ match: "/v3/mail/send", hang: true });
      const envelope = h.envelope(c.event());
      const started = Date.now();
      expect(await h.push(envelope)).to.equal(204);
      expect(Date.now() - started).to.be.lessThan(3000);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("needs_review");
      expect(order?.email.state).to.equal("sending");
      expect(h.logs.find((l) => l.alert === "needs_review")).to.include({ severity: "ERROR" });
      expect(await h.push(envelope)).to.equal(204);
      expect(await h.push(h.envelope(c.event("checkout.session.async_payment_succeeded")))).to.equal(204);
      expect(h.sendgrid.attempts).to.equal(1);
    });

    it("then an accepted send whose answer is lost (connection reset) is needs_review, never re-sent", async () => {
      const c = createCheckout(h.stripe);
      h.sendgrid.addFault({ match: "/v3/mail/send", acceptThenReset: true });
      const envelope = h.envelope(c.event());
      expect(await h.push(envelope)).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("needs_review");
      expect(await h.push(envelope)).to.equal(204);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
    });
  });

  describe("when a crash left an order mid-send", () => {
    it("then the redelivery finds email.state sending with an expired lease and makes it needs_review without sending", async () => {
      const c = createCheckout(h.stripe);
      const now = new Date();
      await seedOrder(h.db, c.sessionId, "processing", {
        claim_id: "crashed-attempt",
        lease_expires_at: new Date(now.getTime() - 1000),
        event_ids: ["evt_earlier"],
        email: { state: "sending", started_at: new Date(now.getTime() - 30_000) },
      });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("needs_review");
      expect(h.sendgrid.attempts).to.equal(0);
      expect(h.stripe.requests).to.have.length(0);
    });

    it("then a live lease held by another attempt answers 503", async () => {
      const c = createCheckout(h.stripe);
      await seedOrder(h.db, c.sessionId, "processing", {
        claim_id: "other-attempt",
        lease_expires_at: new Date(Date.now() + 60_000),
      });
      expect(await h.push(h.envelope(c.event()))).to.equal(503);
      expect(h.sendgrid.attempts).to.equal(0);
    });
  });

  describe("when Stripe fails", () => {
    it("then a missing session (404) is dead-lettered", async () => {
      const c = createCheckout(h.stripe);
      h.stripe.sessions.delete(c.sessionId);
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("failed");
      const [dead] = await h.pullDeadLetters(1);
      expect(dead!.attributes.dead_letter_reason).to.include("404");
    });

    it("then 500 and 429 are released for redelivery and end fulfilled", async () => {
      const c = createCheckout(h.stripe);
      h.stripe.addFault({ match: "GET /v1/checkout/sessions", status: 500, times: 3 });
      h.stripe.addFault({ match: "/line_items", status: 429, times: 3 });
      const statuses = await h.pushUntilAcked(h.envelope(c.event()));
      expect(statuses.at(-1)).to.equal(204);
      expect(statuses.filter((s) => s === 503).length).to.be.greaterThan(0);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
    });
  });

  describe("when the session is not simply paid", () => {
    it("then unpaid is awaiting_payment, and the async success later fulfils it", async () => {
      const c = createCheckout(h.stripe, { paymentStatus: "unpaid" });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("awaiting_payment");
      expect(h.sendgrid.attempts).to.equal(0);
      c.session.payment_status = "paid";
      expect(await h.push(h.envelope(c.event("checkout.session.async_payment_succeeded")))).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("fulfilled");
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
      // A late, out-of-order completed event changes nothing.
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("fulfilled");
    });

    it("then an async failure records payment_failed and sends nothing", async () => {
      const c = createCheckout(h.stripe, { paymentStatus: "unpaid" });
      expect(await h.push(h.envelope(c.event("checkout.session.async_payment_failed")))).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("payment_failed");
      expect(h.sendgrid.attempts).to.equal(0);
    });

    it("then a setup-mode session is skipped", async () => {
      const c = createCheckout(h.stripe, { mode: "setup" });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("skipped");
      expect(order?.reason).to.include("setup");
    });

    it("then an order without the scale is skipped with the reason", async () => {
      const c = createCheckout(h.stripe, { lines: [STRAP_LINE] });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("skipped");
      expect(order?.reason).to.include("no line item is a shipped product");
      expect(h.sendgrid.attempts).to.equal(0);
    });
  });

  describe("when it is a subscription", () => {
    it("then a trial ships once (FULFIL_TRIALS true) and the subscription is marked", async () => {
      const c = createCheckout(h.stripe, { mode: "subscription", paymentStatus: "no_payment_required" });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("fulfilled");
      expect(order?.subscription_marker?.state).to.equal("set");
      expect((c.subscription!.metadata as Record<string, string>).initial_order_processed).to.equal("true");
      // Once: the same event again, and the other completion event of the session, send nothing more.
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect(await h.push(h.envelope(c.event("checkout.session.async_payment_succeeded")))).to.equal(204);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
      expect(h.sendgrid.attempts).to.equal(1);
      expect(h.sendgrid.emailsFor(c.sessionId)[0]!.text).to.include("Trial: no payment yet, first charge on");
    });

    it("then a subscription already marked is skipped", async () => {
      const c = createCheckout(h.stripe, { mode: "subscription" }, { initial_order_processed: "true" });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("skipped");
      expect(h.sendgrid.attempts).to.equal(0);
    });

    it("then a failure to set the marker is recorded and the delivery still acknowledged", async () => {
      const c = createCheckout(h.stripe, { mode: "subscription" });
      h.stripe.addFault({ match: "POST /v1/subscriptions", status: 500, times: 5 });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("fulfilled");
      expect(order?.subscription_marker?.state).to.equal("failed");
    });

    it("then renewals (invoice.paid) of a subscription that shipped are ignored", async () => {
      const c = createCheckout(h.stripe, { mode: "subscription" });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const renewal = h.stripe.addInvoice({
        subscriptionId: c.session.subscription as string,
        amountPaid: 12900,
        currency: "usd",
        billingReason: "subscription_cycle",
      });
      const before = h.stripe.requests.length;
      expect(await h.push(h.envelope(buildEvent({ type: "invoice.paid", object: renewal })))).to.equal(204);
      // One read of the invoice, to know it is a renewal; no session, no send.
      expect(h.stripe.requests.slice(before).map((r) => `${r.method} ${r.path}`)).to.deep.equal([
        `GET /v1/invoices/${renewal.id as string}`,
      ]);
      expect(h.sendgrid.attempts).to.equal(1);
      expect((await h.store.get(c.sessionId))?.status).to.equal("fulfilled");
    });
  });

  describe("when the event is not ours to fulfil", () => {
    it("then a livemode mismatch and a Connect event are acknowledged and ignored without any call", async () => {
      const c = createCheckout(h.stripe);
      expect(await h.push(h.envelope(c.event("checkout.session.completed", { livemode: true })))).to.equal(
        204,
      );
      expect(
        await h.push(h.envelope(c.event("checkout.session.completed", { account: "acct_connected" }))),
      ).to.equal(204);
      expect(h.stripe.requests).to.have.length(0);
      expect(await h.store.get(c.sessionId)).to.equal(undefined);
    });

    it("then undecodable data is dead-lettered with the reason", async () => {
      expect(await h.push(h.envelope(Buffer.from("not json at all"), { event_id: "evt_x" }))).to.equal(204);
      const bad = h.envelope(Buffer.from("x"));
      (bad.message as { data: string }).data = "!!!not-base64!!!";
      expect(await h.push(bad)).to.equal(204);
      const dead = await h.pullDeadLetters(2);
      expect(dead.map((d) => d.attributes.dead_letter_reason).sort()).to.deep.equal([
        "message data is not a Stripe event",
        "message data is not base64",
      ]);
    });

    it("then a request that is not an envelope gets 400", async () => {
      expect(await h.push("{")).to.equal(400);
      expect(await h.push({ nope: true })).to.equal(400);
    });
  });

  describe("when the dead-letter topic cannot take the message", () => {
    it("then the delivery is not acknowledged (503): nothing is dropped", async () => {
      await h.stop();
      h = new FulfillerHarness();
      await h.start({ deadLetter: new PubSubPublisher(h.pubsub, "no-such-topic", { timeoutMs: 2000 }) });
      const c = createCheckout(h.stripe);
      h.stripe.sessions.delete(c.sessionId);
      expect(await h.push(h.envelope(c.event()))).to.equal(503);
      expect((await h.store.get(c.sessionId))?.status).to.equal("failed");
    });
  });
});
