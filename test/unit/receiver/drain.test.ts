import { expect } from "chai";
import { createApp } from "../../../services/receiver/app.js";
import { Readiness, serve } from "../../../services/common/http.js";
import { buildEvent, buildSession } from "../../../services/local/stripe/objects.js";
import { FakePublisher } from "../../support/fake-publisher.js";
import { LogCapture } from "../../support/log-capture.js";
import { listen } from "../../support/http.js";
import { signPayload, TEST_SECRET } from "../../support/stripe-signing.js";

describe("unit: the receiver's drain", () => {
  it("when shutdown starts with a publish in flight, then /ready answers 503, new connections are refused, and the in-flight request still completes", async () => {
    const publisher = new FakePublisher();
    publisher.delayMs = 1000;
    const logs = new LogCapture("receiver");
    const readiness = new Readiness();
    const app = createApp({
      webhookSecrets: [TEST_SECRET],
      publisher,
      publishTimeoutMs: 4000,
      logger: logs.logger,
      isReady: readiness.check,
    });
    const running = await serve(app, {
      port: 0,
      host: "127.0.0.1",
      logger: logs.logger,
      readiness,
      handleSignals: false,
    });
    // The same app on a second port: what a health check sees while the first drains.
    const probe = await listen(app);
    try {
      const base = `http://127.0.0.1:${running.port}`;
      expect((await fetch(`${base}/ready`)).status).to.equal(200);
      const payload = JSON.stringify(
        buildEvent({ type: "checkout.session.completed", object: buildSession() }),
      );
      const inFlight = fetch(`${base}/webhooks/stripe`, {
        method: "POST",
        headers: { "stripe-signature": signPayload(payload) },
        body: payload,
      });
      await new Promise((r) => setTimeout(r, 200)); // the publish has started
      const drained = running.shutdown("test");

      const ready = await fetch(`${probe.url}/ready`);
      expect(ready.status).to.equal(503);
      expect(await ready.json()).to.deep.equal({ status: "starting" });
      const refused = await fetch(`${base}/health`).then(
        () => "answered",
        (err: Error & { cause?: { code?: string } }) => err.cause?.code,
      );
      expect(refused).to.equal("ECONNREFUSED");

      const response = await inFlight;
      expect(response.status).to.equal(200);
      await response.arrayBuffer();
      const finishedAt = Date.now();
      await drained;
      // Done once the last request is: its keep-alive connection does not hold the drain open.
      expect(Date.now() - finishedAt).to.be.lessThan(1000);
      expect(publisher.published).to.have.length(1);
      const messages = logs.lines.map((l) => l.message);
      expect(messages.indexOf("shutting down: draining in-flight requests")).to.be.lessThan(
        messages.indexOf("shutdown complete"),
      );
    } finally {
      await probe.close();
    }
  });
});
