import { expect } from "chai";
import { spawn } from "node:child_process";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { PubSub } from "@google-cloud/pubsub";
import { Firestore } from "@google-cloud/firestore";
import { LOCAL } from "../../services/local/defaults.js";
import { postSignedEvent } from "../../services/cli/commands/send-test-event.js";
import { waitForHttpOk } from "../../services/local/ports.js";
import { buildEvent, buildLineItems, buildSession, SCALE_LINE } from "../../services/local/stripe/objects.js";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { createTopicWithSubscription, receive } from "../support/pubsub.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";
import { readyPort, trackChild } from "../support/log-registry.js";
import { signPayload, TEST_SECRET } from "../support/stripe-signing.js";

function hostPort(host: string) {
  const [h, p] = host.split(":");
  return { host: h!, port: Number(p) };
}

function startReceiver(env: Record<string, string>) {
  return Promise.resolve().then(async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "services/receiver/main.ts"], {
      env: {
        ...process.env,
        PORT: "0",
        STRIPE_WEBHOOK_SECRET: TEST_SECRET,
        LOG_LEVEL: "info",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = trackChild("faults-receiver", child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const port = await readyPort("receiver", output, exited);
    await waitForHttpOk(`http://127.0.0.1:${port}/ready`, { timeoutMs: 20_000 });
    return { child, port, url: `http://127.0.0.1:${port}/webhooks/stripe`, exited, output };
  });
}

async function post(url: string, payload: string): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const response = await postSignedEvent(url, payload, TEST_SECRET);
  await response.arrayBuffer();
  return { status: response.status, ms: Date.now() - started };
}

describe("e2e: fault injection", function () {
  this.timeout(120_000);
  let project: string;
  let pubsubHost: string;
  let firestoreHost: string;

  before(function () {
    ({ project, pubsubHost, firestoreHost } = requireEmulators(this));
  });

  it("when Pub/Sub is unreachable, then the receiver answers 503 within its deadline every time; once back, Stripe's retries are all delivered", async () => {
    const pubsub = new PubSub({ projectId: project });
    const { topic, subscription } = await createTopicWithSubscription(pubsub, "outage");
    const proxy = new TcpProxy(hostPort(pubsubHost));
    await proxy.up();
    const receiver = await startReceiver({
      GOOGLE_CLOUD_PROJECT: project,
      PUBSUB_EMULATOR_HOST: proxy.host,
      PUBSUB_TOPIC: topic,
      PUBLISH_TIMEOUT_MS: "1500",
    });
    try {
      await proxy.down();
      const payloads = Array.from({ length: 5 }, () =>
        JSON.stringify(buildEvent({ type: "checkout.session.completed", object: buildSession() })),
      );
      const during = await Promise.all(payloads.map((p) => post(receiver.url, p)));
      for (const r of during) {
        expect(r.status).to.equal(503);
        expect(r.ms).to.be.lessThan(1500 + 1000);
      }
      await proxy.up();
      const retried = await waitFor(
        "Stripe-style retries to be accepted",
        async () => {
          const results = await Promise.all(payloads.map((p) => post(receiver.url, p)));
          return results.every((r) => r.status === 200) ? results : undefined;
        },
        60_000,
        1000,
      );
      expect(retried).to.have.length(5);
      const messages = await receive(subscription, 5, 15_000);
      const ids = new Set(messages.map((m) => m.attributes.event_id));
      for (const p of payloads) expect(ids.has((JSON.parse(p) as { id: string }).id)).to.equal(true);
    } finally {
      receiver.child.kill("SIGKILL");
      await proxy.down();
      await pubsub.close();
    }
  });

  it("when the topic is missing while Stripe posts, then 503 every time; once created, the retries are delivered", async () => {
    const pubsub = new PubSub({ projectId: project });
    const topic = `late-${randomUUID().slice(0, 8)}`;
    const receiver = await startReceiver({
      GOOGLE_CLOUD_PROJECT: project,
      PUBSUB_TOPIC: topic,
      PUBLISH_TIMEOUT_MS: "1500",
    });
    try {
      const payload = JSON.stringify(
        buildEvent({ type: "checkout.session.completed", object: buildSession() }),
      );
      for (let i = 0; i < 3; i++) expect((await post(receiver.url, payload)).status).to.equal(503);
      const [created] = await pubsub.createTopic(topic);
      const [subscription] = await created.createSubscription(`${topic}-sub`);
      expect((await post(receiver.url, payload)).status).to.equal(200);
      const [message] = await receive(subscription, 1);
      expect(message?.data.toString()).to.equal(payload);
    } finally {
      receiver.child.kill("SIGKILL");
      await pubsub.close();
    }
  });

  describe("with the local stack", () => {
    let stack: Awaited<ReturnType<typeof startTestStack>>;
    let proxy: TcpProxy;
    let db: Firestore;
    let store: FirestoreOrderStore;

    before(async () => {
      proxy = new TcpProxy(hostPort(firestoreHost));
      await proxy.up();
      stack = await startTestStack(
        "faults",
        { pubsubHost, firestoreHost, project },
        {
          fulfillerEnv: {
            FIRESTORE_EMULATOR_HOST: proxy.host,
            ORDER_LEASE_SECONDS: "4",
            HANDLER_DEADLINE_MS: "3000",
          },
          maxDeliveryAttempts: 100,
        },
      );
      db = new Firestore({ projectId: project });
      store = new FirestoreOrderStore(db);
    });
    after(async () => {
      await stack?.stop();
      await proxy?.down();
      await db?.terminate();
    });

    async function order() {
      const spec = { lines: [SCALE_LINE] };
      const session = buildSession(spec);
      stack.stripe!.addCheckout({ session, lineItems: buildLineItems(spec) });
      const event = buildEvent({ type: "checkout.session.completed", object: session });
      const payload = JSON.stringify(event);
      const response = await postSignedEvent(
        `${stack.receiverUrl}/webhooks/stripe`,
        payload,
        LOCAL.webhookSecret,
      );
      expect(response.status).to.equal(200);
      return { sessionId: session.id as string, eventId: event.id as string };
    }

    it("when Firestore is unavailable during fulfilment, then the fulfiller refuses (non-2xx), emails nothing, and completes once it returns", async () => {
      await proxy.down();
      const { sessionId, eventId } = await order();
      await waitFor(
        "the fulfiller to refuse a delivery",
        () =>
          stack.lines.some(
            (l) => l.startsWith("fulfiller|") && l.includes(eventId) && /"status":503/.test(l),
          ),
        20_000,
      );
      expect(stack.sendgrid.emailsFor(sessionId)).to.have.length(0);
      await proxy.up();
      await waitFor(
        "the order to be fulfilled",
        async () => (await store.get(sessionId))?.status === "fulfilled",
        60_000,
        250,
      ).catch((err: unknown) => {
        console.log(
          stack.lines
            .filter((l) => l.startsWith("fulfiller"))
            .slice(-15)
            .join("\n"),
        );
        throw err;
      });
      await new Promise((r) => setTimeout(r, 1500));
      expect(stack.sendgrid.emailsFor(sessionId)).to.have.length(1);
    });

    it("when the fulfiller is killed between SendGrid's acceptance and the order update, then one email, and SendGrid's events (naming the attempt) settle the order as fulfilled without an operator", async () => {
      stack.sendgrid.addFault({ match: "/v3/mail/send", delayAfterAcceptMs: 5000 });
      const { sessionId } = await order();
      await waitFor(
        "SendGrid to accept the email",
        () => stack.sendgrid.emailsFor(sessionId).length === 1,
        20_000,
        20,
      );
      await stack.restartFulfiller("SIGKILL");
      // The stand-in posts its delivery events after the delayed answer: whether they come
      // before the redelivery (recorded on the `sending` email, which the redelivery then
      // settles) or after it (needs_review, settled by the events), the order is fulfilled.
      await waitFor(
        "the order to be settled as sent by SendGrid's events",
        async () => (await store.get(sessionId))?.email.by === "sendgrid:event",
        40_000,
        250,
      );
      await new Promise((r) => setTimeout(r, 2000));
      expect(stack.sendgrid.emailsFor(sessionId)).to.have.length(1);
      const stored = await store.get(sessionId);
      expect(stored?.status).to.equal("fulfilled");
      expect(stored?.email.state).to.equal("sent");
      expect(stored?.email.message_id).to.equal(stack.sendgrid.emailsFor(sessionId)[0]!.messageId);
    });
  });

  it("when the receiver gets SIGTERM under load, then in-flight requests finish and every 2xx event is in Pub/Sub", async () => {
    const pubsub = new PubSub({ projectId: project });
    const { topic, subscription } = await createTopicWithSubscription(pubsub, "term");
    const receiver = await startReceiver({ GOOGLE_CLOUD_PROJECT: project, PUBSUB_TOPIC: topic });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const accepted: string[] = [];
    const other: string[] = [];
    let stop = false;
    const loop = async () => {
      while (!stop) {
        const event = buildEvent({ type: "checkout.session.completed", object: buildSession() });
        const payload = JSON.stringify(event);
        const status = await new Promise<number | string>((resolve) => {
          const req = http.request(
            {
              port: receiver.port,
              method: "POST",
              path: "/webhooks/stripe",
              agent,
              headers: {
                "stripe-signature": signPayload(payload),
                "content-length": Buffer.byteLength(payload),
              },
            },
            (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            },
          );
          req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
          req.end(payload);
        });
        if (status === 200) accepted.push(event.id as string);
        else other.push(String(status));
        if (typeof status === "string") await new Promise((r) => setTimeout(r, 50));
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    await new Promise((r) => setTimeout(r, 1500));
    receiver.child.kill("SIGTERM");
    const code = await receiver.exited;
    stop = true;
    await Promise.all(loops);
    agent.destroy();
    expect(code).to.equal(0);
    expect(accepted.length).to.be.greaterThan(10);
    // After SIGTERM the load meets a closed door (refused or reset connections) or a
    // draining 503; never another answer, which would mean a request was half handled.
    expect(other.length, "no request met the draining receiver").to.be.greaterThan(0);
    const unexpected = other.filter((s) => !["ECONNREFUSED", "ECONNRESET", "EPIPE", "503"].includes(s));
    expect(unexpected).to.deep.equal([]);
    // Every 2xx must be there; events answered otherwise may be there too (published, answer lost).
    const messages = await receive(subscription, (keys) => accepted.every((id) => keys.has(id)), 60_000);
    const published = new Set(messages.map((m) => m.attributes.event_id));
    const missing = accepted.filter((id) => !published.has(id));
    expect(
      missing,
      `${missing.length} of ${accepted.length} answered 2xx but not received (${messages.length} received)`,
    ).to.deep.equal([]);
    await pubsub.close();
  });
});
