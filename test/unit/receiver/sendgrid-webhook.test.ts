import { expect } from "chai";
import { createApp } from "../../../services/receiver/app.js";
import { SendGridWebhookVerifier } from "../../../services/receiver/verify-sendgrid.js";
import {
  buildSendGridEvent,
  generateSendGridKeyPair,
  signSendGridBatch,
} from "../../../services/local/sendgrid-events.js";
import { FakePublisher } from "../../support/fake-publisher.js";
import { LogCapture } from "../../support/log-capture.js";
import { listen, type Listening } from "../../support/http.js";

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const NOW_S = NOW / 1000;
const keys = generateSendGridKeyPair();
const attacker = generateSendGridKeyPair();

function batch(n = 2): string {
  return JSON.stringify(
    Array.from({ length: n }, (_, i) =>
      buildSendGridEvent({
        event: i % 2 ? "delivered" : "processed",
        email: "warehouse@example.com",
        messageId: "msg1",
        customArgs: { order_id: "cs_test_1", email_kind: "order" },
        timestamp: NOW_S - 5,
      }),
    ),
  );
}

describe("unit: SendGrid's signed Event Webhook at the receiver", () => {
  let publisher: FakePublisher;
  let logs: LogCapture;
  let server: Listening;

  async function start(publicKey: string | null = keys.publicKeyBase64) {
    publisher = new FakePublisher();
    logs = new LogCapture("receiver");
    server = await listen(
      createApp({
        webhookSecrets: ["whsec_x"],
        publisher,
        publishTimeoutMs: 300,
        logger: logs.logger,
        now: () => NOW,
        sendgrid: publicKey ? await SendGridWebhookVerifier.create(publicKey) : undefined,
      }),
    );
  }
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${server.url}/webhooks/sendgrid`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
  beforeEach(async () => start());
  afterEach(async () => server.close());

  it("when a batch is signed with the configured key, then it is published unchanged as one message with its attributes", async () => {
    const body = batch(3);
    const response = await post(body, signSendGridBatch(body, keys.privateKey, NOW_S));
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.include({ received: true, event_count: 3, message_id: "1001" });
    expect(publisher.published).to.have.length(1);
    expect(publisher.published[0]!.data.toString("utf8")).to.equal(body);
    expect(publisher.published[0]!.attributes).to.deep.equal({
      source: "sendgrid",
      event_type: "sendgrid.events",
      event_count: "3",
      received_at: new Date(NOW).toISOString(),
    });
    expect(logs.find((l) => l.outcome === "published")).to.include({ source: "sendgrid", event_count: 3 });
  });

  it("when the signature is missing, forged, for another body, or its timestamp is stale or future, then 400 and nothing is published", async () => {
    const body = batch();
    const good = signSendGridBatch(body, keys.privateKey, NOW_S);
    const cases: [string, Record<string, string>, string][] = [
      ["no headers", {}, "missing_signature"],
      [
        "no timestamp",
        { "X-Twilio-Email-Event-Webhook-Signature": good["X-Twilio-Email-Event-Webhook-Signature"]! },
        "missing_signature",
      ],
      ["another key", signSendGridBatch(body, attacker.privateKey, NOW_S), "invalid_signature"],
      ["another body", signSendGridBatch(batch(4), keys.privateKey, NOW_S), "invalid_signature"],
      [
        "garbage",
        { ...good, "X-Twilio-Email-Event-Webhook-Signature": "bm90IGEgc2lnbmF0dXJl" },
        "invalid_signature",
      ],
      ["301 s old", signSendGridBatch(body, keys.privateKey, NOW_S - 301), "invalid_signature"],
      ["301 s ahead", signSendGridBatch(body, keys.privateKey, NOW_S + 301), "invalid_signature"],
      [
        "a timestamp that is not a number",
        { ...good, "X-Twilio-Email-Event-Webhook-Timestamp": "soon" },
        "invalid_signature",
      ],
    ];
    for (const [name, headers, code] of cases) {
      const response = await post(body, headers);
      expect(response.status, name).to.equal(400);
      expect(((await response.json()) as { error: string }).error, name).to.equal(code);
    }
    // The replay of a captured batch with its own (now stale) headers is the 301-s case above.
    expect((await post(body, signSendGridBatch(body, keys.privateKey, NOW_S - 300))).status).to.equal(200);
    expect(publisher.published).to.have.length(1);
  });

  it("when a signed body is not a non-empty JSON array of objects, then 400 invalid_batch", async () => {
    for (const body of ["{}", "[]", "[1,2]", '[{"a":1}, []]', "not json"]) {
      const response = await post(body, signSendGridBatch(body, keys.privateKey, NOW_S));
      expect(response.status, body).to.equal(400);
      expect(((await response.json()) as { error: string }).error, body).to.equal("invalid_batch");
    }
    expect(publisher.published).to.have.length(0);
  });

  it("when Pub/Sub does not take it, then 503 so SendGrid retries", async () => {
    publisher.failWith = new Error("down");
    const body = batch();
    expect((await post(body, signSendGridBatch(body, keys.privateKey, NOW_S))).status).to.equal(503);
  });

  it("when no verification key is configured, then the path answers 404 and publishes nothing", async () => {
    await server.close();
    await start(null);
    const body = batch();
    expect((await post(body, signSendGridBatch(body, keys.privateKey, NOW_S))).status).to.equal(404);
    expect(publisher.published).to.have.length(0);
  });

  it("when the configured key is not an ECDSA public key, then the verifier refuses to be built", async () => {
    const refused = await SendGridWebhookVerifier.create("bm90IGEga2V5").then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).to.be.instanceOf(Error);
  });
});
