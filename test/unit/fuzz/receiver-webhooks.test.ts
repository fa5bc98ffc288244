import { expect } from "chai";
import fc from "fast-check";
import { createApp } from "../../../services/receiver/app.js";
import { parseStripeEvent } from "../../../services/common/event.js";
import { SendGridWebhookVerifier } from "../../../services/receiver/verify-sendgrid.js";
import { generateSendGridKeyPair, signSendGridBatch } from "../../../services/local/sendgrid-events.js";
import { FakePublisher } from "../../support/fake-publisher.js";
import { LogCapture } from "../../support/log-capture.js";
import { listen, type Listening } from "../../support/http.js";
import { rawRequest } from "../../support/raw-request.js";
import { signPayload, TEST_SECRET } from "../../support/stripe-signing.js";
import { FUZZ_RUNS, hostileBody, hostileHeaders } from "./arbitraries.js";

const NOW = Date.UTC(2026, 11, 4, 12);
const NOW_S = NOW / 1000;
const keys = generateSendGridKeyPair();
const attacker = generateSendGridKeyPair();

/** A SendGrid-shaped batch, valid or not, as text. */
const isBatch = (body: string) => {
  try {
    const parsed: unknown = JSON.parse(body);
    return (
      Array.isArray(parsed) &&
      parsed.length > 0 &&
      parsed.every((e) => typeof e === "object" && e !== null && !Array.isArray(e))
    );
  } catch {
    return false;
  }
};

describe("unit: fuzz, the receiver's public webhooks under arbitrary bytes, headers and JSON", function () {
  this.timeout(120_000);
  let server: Listening;
  let publisher: FakePublisher;
  before(async () => {
    publisher = new FakePublisher();
    server = await listen(
      createApp({
        webhookSecrets: [TEST_SECRET],
        publisher,
        publishTimeoutMs: 1000,
        logger: new LogCapture("receiver").logger,
        now: () => NOW,
        sendgrid: new SendGridWebhookVerifier(keys.publicKeyBase64),
      }),
    );
  });
  after(async () => server.close());

  it(`when ${FUZZ_RUNS} arbitrary posts reach /webhooks/stripe, then each is 200, 400 or 413, and only a correctly signed event is published, unchanged`, async () => {
    let published = 0;
    let verified = 0;
    await fc.assert(
      fc.asyncProperty(
        hostileBody,
        fc.constantFrom("good", "none", "wrong-secret", "stale", "future"),
        hostileHeaders(["stripe-signature"]),
        async (body, signing, extra) => {
          const signature = {
            good: signPayload(body, TEST_SECRET, NOW_S),
            none: undefined,
            "wrong-secret": signPayload(body, "whsec_attacker_guess_0123456789", NOW_S),
            stale: signPayload(body, TEST_SECRET, NOW_S - 301),
            future: signPayload(body, TEST_SECRET, NOW_S + 301),
          }[signing];
          const headers: [string, string][] = [["content-type", "application/json"], ...extra];
          if (signature) headers.push(["stripe-signature", signature]);
          const before = publisher.published.length;
          const response = await rawRequest(`${server.url}/webhooks/stripe`, { headers, body });
          expect([200, 400, 413], response.body).to.include(response.status);
          const didPublish = publisher.published.length - before;
          expect(didPublish).to.be.at.most(1);
          if (didPublish) {
            expect(signing, "published what did not verify").to.equal("good");
            expect(parseStripeEvent(body), "published what is not an event").to.not.equal(null);
            expect(publisher.published.at(-1)!.data.toString("utf8")).to.equal(body);
            published += 1;
          }
          const clean = extra.length === 0; // no second signature beside ours
          if (signing === "good" && clean && parseStripeEvent(body)) {
            expect(response.status).to.equal(200);
            verified += 1;
          }
        },
      ),
      {
        numRuns: FUZZ_RUNS,
        examples: [['{"id":"evt_1","type":"checkout.session.completed","data":{"object":{}}}', "good", []]],
      },
    );
    expect(published, "the fuzz reached the publish path").to.be.greaterThan(0);
    expect(verified).to.be.greaterThan(0);
  });

  it(`when ${FUZZ_RUNS} arbitrary posts reach /webhooks/sendgrid, then each is 200, 400 or 413, and only a batch signed with the configured key is published`, async () => {
    let published = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostileBody,
          fc
            .array(fc.dictionary(fc.constantFrom("__proto__", "order_id", "event", "x"), fc.string()), {
              minLength: 1,
              maxLength: 3,
            })
            .map((events) => JSON.stringify(events)),
        ),
        fc.constantFrom("good", "none", "attacker", "stale"),
        hostileHeaders(["x-twilio-email-event-webhook-signature", "x-twilio-email-event-webhook-timestamp"]),
        async (body, signing, extra) => {
          const signed: Record<string, string> = {
            good: signSendGridBatch(body, keys.privateKey, NOW_S),
            none: {},
            attacker: signSendGridBatch(body, attacker.privateKey, NOW_S),
            stale: signSendGridBatch(body, keys.privateKey, NOW_S - 301),
          }[signing];
          const headers: [string, string][] = [
            ["content-type", "application/json"],
            ...Object.entries(signed),
            ...extra,
          ];
          const before = publisher.published.length;
          const response = await rawRequest(`${server.url}/webhooks/sendgrid`, { headers, body });
          expect([200, 400, 413], response.body).to.include(response.status);
          const didPublish = publisher.published.length - before;
          expect(didPublish).to.be.at.most(1);
          if (didPublish) {
            expect(signing, "published what did not verify").to.equal("good");
            expect(isBatch(body), "published what is not a batch").to.equal(true);
            expect(publisher.published.at(-1)!.data.toString("utf8")).to.equal(body);
            published += 1;
          }
          if (signing === "good" && extra.length === 0 && isBatch(body))
            expect(response.status).to.equal(200);
        },
      ),
      { numRuns: FUZZ_RUNS, examples: [['[{"event":"processed"}]', "good", []]] },
    );
    expect(published, "the fuzz reached the publish path").to.be.greaterThan(0);
  });
});
