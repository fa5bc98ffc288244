import { expect } from "chai";
import { FulfillerHarness, STRIPE_TEST_KEY } from "../support/fulfiller-harness.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { LogCapture } from "../support/log-capture.js";
import { waitFor } from "../support/wait.js";
import { Fulfiller } from "../../services/fulfiller/fulfil-order.js";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { createStripeClient, StripeApiCatalog } from "../../services/fulfiller/adapters/stripe-catalog.js";
import { SendGridMailer } from "../../services/fulfiller/adapters/sendgrid-mailer.js";
import { parsePushEnvelope } from "../../services/fulfiller/push/push-envelope.js";
import { SCALE_PRODUCT_ID } from "../../services/local/stripe/objects.js";

describe("integration: how the fulfiller classifies failures, against the real store", function () {
  this.timeout(60_000);
  let h: FulfillerHarness | undefined;

  before(function () {
    requireEmulators(this);
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  describe("when an attempt outlives its lease and a second attempt claims the order", () => {
    it("then the first answers 503 without sending, and exactly one email goes out", async () => {
      h = await new FulfillerHarness().start({ settings: { deadlineMs: 8000, leaseMs: 10_000 } });
      const c = createCheckout(h.stripe);
      const envelope = h.envelope(c.event());
      // The first attempt's session read is slow ...
      h.stripe.addFault({ match: `GET /v1/checkout/sessions/${c.sessionId}`, delayMs: 2000 });
      const first = h.push(envelope);
      const store = h.store;
      await waitFor("the first attempt's claim", async () => (await store.get(c.sessionId))?.claim_id);
      // ... and meanwhile another instance, whose clock says the lease ran out, claims it.
      const skewMs = 11_000;
      const skewed = () => Date.now() + skewMs;
      const second = new Fulfiller({
        store: new FirestoreOrderStore(h.db, skewed),
        stripe: new StripeApiCatalog(
          createStripeClient({ apiKey: STRIPE_TEST_KEY, apiBase: h.stripe.url, timeoutMs: 5000 }),
        ),
        mailer: new SendGridMailer({ apiKey: "SG.test-key", apiBase: h.sendgrid.url }),
        deadLetter: { publish: () => Promise.reject(new Error("unused")), close: () => Promise.resolve() },
        settings: {
          liveKey: false,
          fulfilTrials: true,
          productIds: [SCALE_PRODUCT_ID],
          emailTo: ["fulfilment@example.com"],
          emailFrom: "orders@example.com",
          leaseMs: 10_000,
          deadlineMs: 5000,
          deadLetterSource: "second",
        },
        clock: skewed,
      });
      const outcome = await second.handlePush(
        parsePushEnvelope(envelope),
        new LogCapture("fulfiller").logger,
      );
      expect(outcome.result, outcome.reason).to.equal("fulfilled");

      expect(await first).to.equal(503);
      expect(h.sendgrid.attempts).to.equal(1);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("fulfilled");
      expect(h.logs.find((l) => l.message === "claim lost; stopping this attempt")).to.not.equal(undefined);
    });
  });

  describe("when SendGrid cannot be reached at all (connection refused)", () => {
    it("then the email is recorded not_sent, the push is retried, and the retry sends it once", async () => {
      h = await new FulfillerHarness().start();
      const c = createCheckout(h.stripe);
      const envelope = h.envelope(c.event());
      const port = Number(new URL(h.sendgrid.url).port);
      await h.sendgrid.stop();
      expect(await h.push(envelope)).to.equal(503);
      const refused = await h.store.get(c.sessionId);
      expect(refused?.email.state).to.equal("not_sent");
      expect(refused?.email.error).to.include("ECONNREFUSED");
      expect(refused?.claim_id).to.equal(null);

      await h.sendgrid.start(port);
      expect(await h.push(envelope)).to.equal(204);
      expect((await h.store.get(c.sessionId))?.status).to.equal("fulfilled");
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
    });
  });

  describe("when Stripe refuses the API key (401)", () => {
    it("then the failure is permanent: recorded failed and dead-lettered with a reason that names STRIPE_API_KEY", async () => {
      h = await new FulfillerHarness().start({ stripeApiKey: "sk_test_revoked_key_0009" });
      const c = createCheckout(h.stripe);
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("failed");
      expect(order?.reason).to.include("401").and.include("check STRIPE_API_KEY");
      const [dead] = await h.pullDeadLetters(1);
      expect(dead!.attributes.dead_letter_reason).to.include("check STRIPE_API_KEY");
      expect(dead!.attributes.dead_letter_reason).to.not.include("sk_test_revoked_key_0009");
      expect(h.sendgrid.attempts).to.equal(0);
    });
  });
});
