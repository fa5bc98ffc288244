import { expect } from "chai";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { createApp } from "../../../services/receiver/app.js";
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  SendGridWebhookRejectedError,
  SendGridWebhookVerifier,
} from "../../../services/receiver/verify-sendgrid.js";
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
        sendgrid: publicKey ? new SendGridWebhookVerifier(publicKey) : undefined,
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

  it("when the configured key is not an ECDSA P-256 public key, then the verifier refuses to be built", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey;
    for (const [name, key] of [
      ["not a key", "bm90IGEga2V5"],
      ["empty", ""],
      ["RSA", rsa.export({ type: "spki", format: "der" }).toString("base64")],
      ["P-384", p384.export({ type: "spki", format: "der" }).toString("base64")],
    ] as const)
      expect(() => new SendGridWebhookVerifier(key), name).to.throw();
    // The PEM form of the same key is taken too.
    const pem = createPublicKey({
      key: Buffer.from(keys.publicKeyBase64, "base64"),
      format: "der",
      type: "spki",
    }).export({ type: "spki", format: "pem" });
    expect(() => new SendGridWebhookVerifier(pem.toString())).not.to.throw();
  });

  it("when a correctly signed batch of about 1 MB arrives, then it is published whole (SendGrid batches the account)", async () => {
    const events = [];
    let size = 2;
    while (size < 1_000_000) {
      const event = JSON.parse(batch(1)) as unknown[];
      events.push(event[0]);
      size += JSON.stringify(event[0]).length + 1;
    }
    const body = JSON.stringify(events);
    expect(body.length).to.be.greaterThan(1_000_000);
    const response = await post(body, signSendGridBatch(body, keys.privateKey, NOW_S));
    expect(response.status).to.equal(200);
    expect(publisher.published).to.have.length(1);
    expect(publisher.published[0]!.data.toString("utf8")).to.equal(body);
  });

  it("when a batch is over 4 MiB, then 413 and nothing is published, while Stripe's path still caps at 256 KiB", async () => {
    const big = `[${"1,".repeat(2 * 1024 * 1024)}1]`;
    const response = await post(big, signSendGridBatch(big, keys.privateKey, NOW_S));
    expect(response.status).to.equal(413);
    const stripe = await fetch(`${server.url}/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "x".repeat(300 * 1024),
    });
    expect(stripe.status).to.equal(413);
    expect(publisher.published).to.have.length(0);
  });
});

describe("unit: SendGrid signature verification agrees with @sendgrid/eventwebhook", () => {
  it("when valid, tampered, wrong-key, stale, malformed-base64 and empty inputs are verified by both, then node:crypto accepts exactly what the library accepts", async () => {
    const { EventWebhook } = await import("@sendgrid/eventwebhook");
    const library = new EventWebhook();
    const libraryKey = library.convertPublicKeyToECDSA(keys.publicKeyBase64);
    const ours = new SendGridWebhookVerifier(keys.publicKeyBase64);
    const libraryAccepts = (payload: string, signature: string, timestamp: string, now: number) => {
      // The library checks no time; the receiver's window applies to both sides alike.
      const seconds = /^\d+$/.test(timestamp) ? Number(timestamp) : NaN;
      if (!(Math.abs(seconds - Math.floor(now / 1000)) <= 300) || payload.length === 0) return false;
      try {
        return library.verifySignature(libraryKey, payload, signature, timestamp);
      } catch {
        return false;
      }
    };
    const oursAccepts = (payload: string, signature: string, timestamp: string, now: number) => {
      try {
        ours.verify({ payload: Buffer.from(payload), signature, timestamp, now });
        return true;
      } catch (err) {
        if (!(err instanceof SendGridWebhookRejectedError)) throw err;
        return err.code === "invalid_batch"; // verified, then refused for its shape
      }
    };
    const body = batch(2);
    const good = signSendGridBatch(body, keys.privateKey, NOW_S);
    const sig = good[SENDGRID_SIGNATURE_HEADER]!;
    const ts = good[SENDGRID_TIMESTAMP_HEADER]!;
    const flip = (b64: string, at: number) => {
      const bytes = Buffer.from(b64, "base64");
      bytes[at]! ^= 1;
      return bytes.toString("base64");
    };
    const cases: [string, string, string, string, number, boolean][] = [
      ["valid", body, sig, ts, NOW, true],
      [
        "valid, other body",
        "[{}]",
        signSendGridBatch("[{}]", keys.privateKey, NOW_S)[SENDGRID_SIGNATURE_HEADER]!,
        ts,
        NOW,
        true,
      ],
      [
        "valid, unicode body",
        '[{"n":"Zoë ☃"}]',
        signSendGridBatch('[{"n":"Zoë ☃"}]', keys.privateKey, NOW_S)[SENDGRID_SIGNATURE_HEADER]!,
        ts,
        NOW,
        true,
      ],
      ["tampered body", body.replace("processed", "processeD"), sig, ts, NOW, false],
      ["tampered timestamp", body, sig, String(NOW_S - 1), NOW, false],
      ["tampered signature, r", body, flip(sig, 8), ts, NOW, false],
      ["tampered signature, s", body, flip(sig, 60), ts, NOW, false],
      [
        "wrong key",
        body,
        signSendGridBatch(body, attacker.privateKey, NOW_S)[SENDGRID_SIGNATURE_HEADER]!,
        ts,
        NOW,
        false,
      ],
      [
        "stale",
        body,
        signSendGridBatch(body, keys.privateKey, NOW_S - 301)[SENDGRID_SIGNATURE_HEADER]!,
        String(NOW_S - 301),
        NOW,
        false,
      ],
      ["malformed base64", body, "%%%not-base64%%%", ts, NOW, false],
      ["truncated signature", body, sig.slice(0, 20), ts, NOW, false],
      ["base64 of garbage", body, "bm90IGEgc2lnbmF0dXJl", ts, NOW, false],
      ["empty signature", body, "", ts, NOW, false],
      [
        "empty body",
        "",
        signSendGridBatch("", keys.privateKey, NOW_S)[SENDGRID_SIGNATURE_HEADER]!,
        ts,
        NOW,
        false,
      ],
    ];
    let accepted = 0;
    for (const [name, payload, signature, timestamp, now, expected] of cases) {
      const libraryVerdict = libraryAccepts(payload, signature, timestamp, now);
      expect(libraryVerdict, `library: ${name}`).to.equal(expected);
      expect(oursAccepts(payload, signature, timestamp, now), `ours: ${name}`).to.equal(libraryVerdict);
      if (libraryVerdict) accepted += 1;
    }
    // Fresh signatures too: ECDSA signs with a random nonce, so each is a new (r, s).
    for (let i = 0; i < 20; i += 1) {
      const payload = batch(1 + (i % 3));
      const s = signSendGridBatch(payload, keys.privateKey, NOW_S)[SENDGRID_SIGNATURE_HEADER]!;
      expect(oursAccepts(payload, s, ts, NOW)).to.equal(true);
      expect(libraryAccepts(payload, s, ts, NOW)).to.equal(true);
      expect(oursAccepts(payload, flip(s, 10 + i), ts, NOW)).to.equal(
        libraryAccepts(payload, flip(s, 10 + i), ts, NOW),
      );
      accepted += 1;
    }
    expect(accepted).to.be.greaterThan(20);
  });
});
