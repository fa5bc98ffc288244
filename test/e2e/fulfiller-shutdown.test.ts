import { expect } from "chai";
import { spawn } from "node:child_process";
import { Firestore } from "@google-cloud/firestore";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { StripeStandIn } from "../../services/local/stripe/stand-in.js";
import { SendGridStandIn } from "../../services/local/sendgrid-server.js";
import { waitForHttpOk } from "../../services/local/ports.js";
import { SCALE_PRODUCT_ID } from "../../services/local/stripe/objects.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { readyPort, trackChild } from "../support/log-registry.js";
import { waitFor } from "../support/wait.js";

function envelope(event: Record<string, unknown>): string {
  return JSON.stringify({
    message: {
      data: Buffer.from(JSON.stringify(event)).toString("base64"),
      attributes: { event_id: String(event.id), event_type: String(event.type) },
      messageId: String(Date.now()),
      publishTime: new Date().toISOString(),
    },
    subscription: "projects/p/subscriptions/stripe-events-push",
  });
}

describe("e2e: fulfiller SIGTERM while an email is being sent", function () {
  this.timeout(60_000);
  let env: ReturnType<typeof requireEmulators>;
  before(function () {
    env = requireEmulators(this);
  });

  it("when a 6 s send is in flight, then it finishes and is recorded fulfilled; an attempt not yet sending gives its order back with 503; the process exits 0 inside Cloud Run's 10 s", async () => {
    const stripe = new StripeStandIn({ apiKey: "sk_test_shutdown_0001" });
    const sendgrid = new SendGridStandIn({ apiKey: "SG.shutdown-test" });
    await stripe.start();
    await sendgrid.start();
    const db = new Firestore({ projectId: env.project });
    const store = new FirestoreOrderStore(db);
    const child = spawn(process.execPath, ["--import", "tsx", "services/fulfiller/main.ts"], {
      env: {
        ...process.env,
        PORT: "0",
        GOOGLE_CLOUD_PROJECT: env.project,
        PUBSUB_EMULATOR_HOST: env.pubsubHost,
        FIRESTORE_EMULATOR_HOST: env.firestoreHost,
        STRIPE_API_KEY: "sk_test_shutdown_0001",
        STRIPE_API_BASE: stripe.url,
        SENDGRID_API_KEY: "SG.shutdown-test",
        SENDGRID_API_BASE: sendgrid.url,
        EMAIL_FROM: "orders@example.com",
        FULFILMENT_EMAIL_TO: "warehouse@example.com",
        FULFILMENT_PRODUCT_IDS: SCALE_PRODUCT_ID,
        PUSH_AUTH: "none",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = trackChild("fulfiller-shutdown", child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const port = await readyPort("fulfiller", output, exited);
      await waitForHttpOk(`http://127.0.0.1:${port}/ready`, { timeoutMs: 20_000 });
      const sending = createCheckout(stripe);
      const reading = createCheckout(stripe);
      sendgrid.addFault({ match: "POST /v3/mail/send", delayAfterAcceptMs: 6000 });
      stripe.addFault({ match: `GET /v1/checkout/sessions/${reading.sessionId}`, delayMs: 1500 });
      const post = (body: string) =>
        fetch(`http://127.0.0.1:${port}/pubsub/push`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        }).then((r) => r.status);

      const sendingPush = post(envelope(sending.event()));
      await waitFor(
        "the first order's email to reach SendGrid",
        () => sendgrid.emails.length === 1 || undefined,
      );
      const readingPush = post(envelope(reading.event()));
      await waitFor("the second order's session read to start", () =>
        stripe.count(`/v1/checkout/sessions/${reading.sessionId}`) > 0 ? true : undefined,
      );
      const signalledAt = Date.now();
      child.kill("SIGTERM");

      expect(await readingPush).to.equal(503);
      expect(await sendingPush).to.equal(204);
      expect(await exited).to.equal(0);
      const exitMs = Date.now() - signalledAt;
      console.log(`      SIGTERM to exit: ${exitMs} ms (the send answered 6 s after acceptance)`);
      expect(exitMs).to.be.lessThan(10_000);

      const sent = await store.get(sending.sessionId);
      expect(sent?.status).to.equal("fulfilled");
      expect(sent?.email.state).to.equal("sent");
      expect(sent?.email.message_id).to.equal(sendgrid.emails[0]!.messageId);
      const released = await store.get(reading.sessionId);
      expect(released?.status).to.equal("processing");
      expect(released?.claim_id).to.equal(null);
      expect(released?.email.state).to.equal("none");
      expect(sendgrid.emailsFor(reading.sessionId)).to.have.length(0);
      const order = output()
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { message: string }).message);
      expect(order.indexOf("shutdown complete")).to.be.greaterThan(order.indexOf("order email sent"));
    } finally {
      child.kill("SIGKILL");
      await stripe.stop();
      await sendgrid.stop();
      await db.terminate();
    }
  });
});
