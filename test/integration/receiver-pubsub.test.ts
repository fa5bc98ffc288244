import { expect } from "chai";
import { PubSub } from "@google-cloud/pubsub";
import { createApp } from "../../services/receiver/app.js";
import { PubSubPublisher } from "../../services/common/pubsub.js";
import { buildEvent, buildSession } from "../../services/local/stripe/objects.js";
import { listen, type Listening } from "../support/http.js";
import { LogCapture } from "../support/log-capture.js";
import { signPayload, TEST_SECRET } from "../support/stripe-signing.js";
import { requireEmulators } from "../support/emulator-state.js";
import { createTopicWithSubscription, receive } from "../support/pubsub.js";

describe("integration: receiver → Pub/Sub emulator", function () {
  let pubsub: PubSub;
  let server: Listening;
  let publisher: PubSubPublisher;
  let topicName: string;
  let subscription: Awaited<ReturnType<typeof createTopicWithSubscription>>["subscription"];

  before(function () {
    const env = requireEmulators(this);
    pubsub = new PubSub({ projectId: env.project });
  });

  beforeEach(async () => {
    ({ topic: topicName, subscription } = await createTopicWithSubscription(pubsub, "receiver"));
    publisher = new PubSubPublisher(pubsub, topicName, { timeoutMs: 1500 });
    server = await listen(
      createApp({
        webhookSecrets: [TEST_SECRET],
        publisher,
        publishTimeoutMs: 1500,
        logger: new LogCapture("receiver").logger,
      }),
    );
  });

  afterEach(async () => {
    await server?.close();
    await publisher?.close();
  });

  after(async () => pubsub?.close());

  it("when a signed event is posted, then it arrives byte-identical with the contract's attributes", async () => {
    const event = buildEvent({
      type: "checkout.session.completed",
      object: buildSession(),
      account: "acct_1X",
    });
    // Unusual but legal formatting: the bytes must survive untouched.
    const payload = JSON.stringify(event, null, 3).replace(/\n/g, "\r\n") + "\n";
    const response = await fetch(`${server.url}/webhooks/stripe`, {
      method: "POST",
      headers: {
        "stripe-signature": signPayload(payload),
        "content-type": "application/json; charset=utf-8",
      },
      body: payload,
    });
    expect(response.status).to.equal(200);
    const body = (await response.json()) as { message_id: string };
    const [message] = await receive(subscription, 1);
    expect(message, "message delivered").to.not.equal(undefined);
    expect(message!.id).to.equal(body.message_id);
    expect(Buffer.compare(message!.data, Buffer.from(payload, "utf8"))).to.equal(0);
    expect(Object.keys(message!.attributes).sort()).to.deep.equal(
      [
        "source",
        "account",
        "api_version",
        "event_id",
        "event_type",
        "livemode",
        "object_id",
        "payload_style",
        "received_at",
      ].sort(),
    );
    expect(message!.attributes).to.include({
      source: "stripe",
      event_id: event.id,
      event_type: "checkout.session.completed",
      livemode: "false",
      account: "acct_1X",
      payload_style: "snapshot",
    });
  });

  it("when the topic is deleted, then the receiver answers 503 within the deadline", async () => {
    await pubsub.topic(topicName).delete();
    const payload = JSON.stringify(
      buildEvent({ type: "checkout.session.completed", object: buildSession() }),
    );
    const started = Date.now();
    const response = await fetch(`${server.url}/webhooks/stripe`, {
      method: "POST",
      headers: { "stripe-signature": signPayload(payload) },
      body: payload,
    });
    expect(response.status).to.equal(503);
    expect(Date.now() - started).to.be.lessThan(1500 + 1000);
  });
});
