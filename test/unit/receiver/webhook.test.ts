import { expect } from "chai";
import { loadReceiverConfig } from "../../../services/receiver/config.js";
import { createApp } from "../../../services/receiver/app.js";
import { buildEvent, buildSession } from "../../../services/local/stripe/objects.js";
import { FakePublisher } from "../../support/fake-publisher.js";
import { listen, type Listening } from "../../support/http.js";
import { LogCapture } from "../../support/log-capture.js";
import { signPayload, TEST_SECRET } from "../../support/stripe-signing.js";

const OTHER_SECRET = "whsec_rolled_new_secret_0002";
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const NOW_S = Math.floor(NOW / 1000);

describe("unit: receiver webhook", () => {
  let publisher: FakePublisher;
  let logs: LogCapture;
  let server: Listening;
  let payload: string;
  let event: Record<string, unknown>;

  async function start(
    options: { secrets?: string[]; eventTypes?: string[]; publishTimeoutMs?: number } = {},
  ) {
    publisher = new FakePublisher();
    logs = new LogCapture("receiver");
    server = await listen(
      createApp({
        webhookSecrets: options.secrets ?? [TEST_SECRET],
        eventTypes: options.eventTypes,
        publisher,
        publishTimeoutMs: options.publishTimeoutMs ?? 500,
        logger: logs.logger,
        now: () => NOW,
      }),
    );
  }

  function post(body: string | Buffer, headers: Record<string, string> = {}, path = "/webhooks/stripe") {
    return fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
  }

  beforeEach(async () => {
    event = buildEvent({ type: "checkout.session.completed", object: buildSession() });
    payload = JSON.stringify(event, null, 2);
    await start();
  });
  afterEach(async () => server.close());

  describe("when the signature verifies", () => {
    it("then the raw bytes are published unchanged and 200 carries the message id", async () => {
      const response = await post(payload, { "stripe-signature": signPayload(payload, TEST_SECRET, NOW_S) });
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ received: true, event_id: event.id, message_id: "1001" });
      expect(publisher.published).to.have.length(1);
      expect(publisher.published[0]!.data.toString("utf8")).to.equal(payload);
    });

    it("then the attributes are exactly the contract's, with null values left out", async () => {
      const session = buildSession();
      const withAccount = buildEvent({
        type: "checkout.session.completed",
        object: session,
        account: "acct_123",
      });
      const nullVersion = buildEvent({
        type: "checkout.session.completed",
        object: session,
        apiVersion: null,
      });
      for (const e of [withAccount, nullVersion]) {
        const body = JSON.stringify(e);
        const response = await post(body, { "stripe-signature": signPayload(body, TEST_SECRET, NOW_S) });
        expect(response.status).to.equal(200);
      }
      expect(publisher.published[0]!.attributes).to.deep.equal({
        source: "stripe",
        event_id: withAccount.id,
        event_type: "checkout.session.completed",
        object_id: session.id,
        livemode: "false",
        api_version: withAccount.api_version,
        account: "acct_123",
        payload_style: "snapshot",
        received_at: new Date(NOW).toISOString(),
      });
      expect(publisher.published[1]!.attributes).to.not.have.property("api_version");
      expect(publisher.published[1]!.attributes).to.not.have.property("account");
    });

    it("then the legacy path /webhook_succesful_payment works the same", async () => {
      const response = await post(
        payload,
        { "stripe-signature": signPayload(payload, TEST_SECRET, NOW_S) },
        "/webhook_succesful_payment",
      );
      expect(response.status).to.equal(200);
      expect(publisher.published).to.have.length(1);
    });

    it("then one log line names the event and outcome but not the body or customer", async () => {
      await post(payload, { "stripe-signature": signPayload(payload, TEST_SECRET, NOW_S) });
      const line = logs.find((l) => l.event_id === event.id);
      expect(line).to.include({
        outcome: "published",
        event_type: "checkout.session.completed",
        severity: "INFO",
      });
      expect(logs.raw.join("\n")).to.not.include("ada@example.com");
      expect(logs.raw.join("\n")).to.not.include(TEST_SECRET);
    });

    it("then a duplicate delivery is published again (dedupe is the fulfiller's job) and both get 200", async () => {
      const header = signPayload(payload, TEST_SECRET, NOW_S);
      expect((await post(payload, { "stripe-signature": header })).status).to.equal(200);
      expect((await post(payload, { "stripe-signature": header })).status).to.equal(200);
      expect(publisher.published).to.have.length(2);
    });
  });

  describe("when verification fails", () => {
    const cases: Array<[string, () => Record<string, string>, string]> = [
      ["no header", () => ({}), "missing_signature"],
      [
        "an unparsable header",
        () => ({ "stripe-signature": "i'm not even a real signature header" }),
        "invalid_signature",
      ],
      [
        "only a wrong scheme",
        () => ({ "stripe-signature": `t=${NOW_S},v0=${"a".repeat(64)}` }),
        "invalid_signature",
      ],
      [
        "a wrong signature",
        () => ({ "stripe-signature": `t=${NOW_S},v1=${"b".repeat(64)}` }),
        "invalid_signature",
      ],
      [
        "another secret's signature",
        () => ({ "stripe-signature": signPayload(payload, OTHER_SECRET, NOW_S) }),
        "invalid_signature",
      ],
      [
        "a stale timestamp (301 s old)",
        () => ({ "stripe-signature": signPayload(payload, TEST_SECRET, NOW_S - 301) }),
        "invalid_signature",
      ],
      [
        "a timestamp 301 s in the future",
        () => ({ "stripe-signature": signPayload(payload, TEST_SECRET, NOW_S + 301) }),
        "invalid_signature",
      ],
    ];
    for (const [name, headers, code] of cases) {
      it(`then ${name} gets 400 ${code} and nothing is published`, async () => {
        const response = await post(payload, headers());
        expect(response.status).to.equal(400);
        const body = (await response.json()) as { error: string; message: string };
        expect(body.error).to.equal(code);
        expect(body.message).to.not.match(/expected|whsec|tolerance/i);
        expect(publisher.published).to.have.length(0);
      });
    }

    it("then a good v1 beside a bogus v1 is accepted (as stripe-node does)", async () => {
      const good = signPayload(payload, TEST_SECRET, NOW_S);
      const response = await post(payload, { "stripe-signature": `${good},v1=${"c".repeat(64)}` });
      expect(response.status).to.equal(200);
    });

    it("then timestamps just inside the tolerance either way are accepted", async () => {
      for (const t of [NOW_S - 299, NOW_S + 299]) {
        const response = await post(payload, { "stripe-signature": signPayload(payload, TEST_SECRET, t) });
        expect(response.status).to.equal(200);
      }
    });

    it("then an empty body gets 400", async () => {
      const response = await post("", { "stripe-signature": signPayload("", TEST_SECRET, NOW_S) });
      expect(response.status).to.equal(400);
      expect(publisher.published).to.have.length(0);
    });

    it("then a signed body that is not JSON gets 400 invalid_event", async () => {
      const body = "this is not json";
      const response = await post(body, { "stripe-signature": signPayload(body, TEST_SECRET, NOW_S) });
      expect(response.status).to.equal(400);
      expect(((await response.json()) as { error: string }).error).to.equal("invalid_event");
    });

    it("then a signed JSON body that is not an event gets 400 invalid_event", async () => {
      for (const body of [
        '{"id":"evt_1","type":"x"}',
        "[1,2,3]",
        '{"id":"evt_1","type":"x","data":{"object":null}}',
      ]) {
        const response = await post(body, { "stripe-signature": signPayload(body, TEST_SECRET, NOW_S) });
        expect(response.status).to.equal(400);
      }
      expect(publisher.published).to.have.length(0);
    });

    it("then a rejected request is logged with its outcome only", async () => {
      await post(payload, { "stripe-signature": `t=${NOW_S},v1=${"b".repeat(64)}` });
      const line = logs.find((l) => l.outcome === "rejected");
      expect(line).to.have.property("reason");
      expect(line).to.not.have.property("event_id");
      expect(logs.raw.join("\n")).to.not.include(String(event.id));
    });
  });

  describe("when several secrets are configured (rolling)", () => {
    it("then an event signed by any of them is accepted, with whitespace around secrets ignored", async () => {
      await server.close();
      // As the environment gives them: spaces, a tab and a newline around the entries.
      const { STRIPE_WEBHOOK_SECRET } = loadReceiverConfig({
        GOOGLE_CLOUD_PROJECT: "my-project",
        STRIPE_WEBHOOK_SECRET: ` ${TEST_SECRET} ,\t${OTHER_SECRET}\n`,
      });
      await start({ secrets: STRIPE_WEBHOOK_SECRET });
      for (const secret of [TEST_SECRET, OTHER_SECRET]) {
        const response = await post(payload, { "stripe-signature": signPayload(payload, secret, NOW_S) });
        expect(response.status).to.equal(200);
      }
      expect(publisher.published).to.have.length(2);
    });
  });

  describe("when an allowlist is configured", () => {
    it("then other verified types get 200 and are not published", async () => {
      await server.close();
      await start({ eventTypes: ["checkout.session.completed"] });
      const other = JSON.stringify(
        buildEvent({ type: "customer.created", object: { id: "cus_1", object: "customer" } }),
      );
      const response = await post(other, { "stripe-signature": signPayload(other, TEST_SECRET, NOW_S) });
      expect(response.status).to.equal(200);
      expect(await response.json()).to.include({ received: true, published: false });
      const allowed = await post(payload, { "stripe-signature": signPayload(payload, TEST_SECRET, NOW_S) });
      expect(allowed.status).to.equal(200);
      expect(publisher.published.map((p) => p.attributes.event_type)).to.deep.equal([
        "checkout.session.completed",
      ]);
    });
  });

  describe("when the body is over 256 KiB", () => {
    it("then 413, declared or streamed, and nothing is published", async () => {
      const big = JSON.stringify({ ...event, padding: "x".repeat(256 * 1024) });
      const response = await post(big, { "stripe-signature": signPayload(big, TEST_SECRET, NOW_S) });
      expect(response.status).to.equal(413);
      const chunked = await fetch(`${server.url}/webhooks/stripe`, {
        method: "POST",
        headers: { "stripe-signature": signPayload(big, TEST_SECRET, NOW_S) },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 300; i++) controller.enqueue(new TextEncoder().encode("y".repeat(1024)));
            controller.close();
          },
        }),
        duplex: "half",
      });
      expect(chunked.status).to.equal(413);
      expect(publisher.published).to.have.length(0);
    });

    it("then a body of exactly 256 KiB is still read and verified", async () => {
      const base = JSON.stringify({ ...event, padding: "" });
      const exact = JSON.stringify({ ...event, padding: "x".repeat(256 * 1024 - Buffer.byteLength(base)) });
      expect(Buffer.byteLength(exact)).to.equal(256 * 1024);
      const response = await post(exact, { "stripe-signature": signPayload(exact, TEST_SECRET, NOW_S) });
      expect(response.status).to.equal(200);
    });
  });

  describe("when publishing fails", () => {
    it("then 503, so Stripe retries", async () => {
      publisher.failWith = new Error("UNAVAILABLE");
      const response = await post(payload, { "stripe-signature": signPayload(payload, TEST_SECRET, NOW_S) });
      expect(response.status).to.equal(503);
      expect(logs.find((l) => l.outcome === "publish_failed")).to.include({ severity: "ERROR" });
    });

    it("then a publish slower than the deadline gets 503 within the deadline", async () => {
      await server.close();
      await start({ publishTimeoutMs: 200 });
      publisher.delayMs = 5000;
      const started = Date.now();
      const response = await post(payload, { "stripe-signature": signPayload(payload, TEST_SECRET, NOW_S) });
      expect(response.status).to.equal(503);
      expect(Date.now() - started).to.be.lessThan(1500);
    });
  });

  describe("health", () => {
    it("then /health and /ready answer 200, and other methods on the webhook path 405", async () => {
      expect((await fetch(`${server.url}/health`)).status).to.equal(200);
      expect((await fetch(`${server.url}/ready`)).status).to.equal(200);
      expect((await fetch(`${server.url}/webhooks/stripe`)).status).to.equal(405);
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(404);
    });
  });
});
