import { expect } from "chai";
import net from "node:net";
import { createApp } from "../../services/receiver/app.js";
import { serve, type RunningServer } from "../../services/common/http.js";
import { buildEvent, buildSession } from "../../services/local/stripe/objects.js";
import { FakePublisher } from "../support/fake-publisher.js";
import { LogCapture } from "../support/log-capture.js";
import { signPayload, TEST_SECRET } from "../support/stripe-signing.js";

/** Sends raw bytes and resolves with what the server answered (or "closed") and how long it took. */
function raw(
  port: number,
  chunks: (string | Buffer)[],
  options: { gapMs?: number; endAfter?: boolean } = {},
) {
  return new Promise<{ answer: string; ms: number }>((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (d) => (answer += d.toString()));
    socket.on("close", () => resolve({ answer: answer || "closed", ms: Date.now() - started }));
    socket.on("error", () => {});
    let i = 0;
    const next = () => {
      if (socket.destroyed) return;
      if (i < chunks.length) {
        socket.write(chunks[i++]!);
        setTimeout(next, options.gapMs ?? 0);
      } else if (options.endAfter) socket.end();
    };
    socket.on("connect", next);
    setTimeout(() => socket.destroy(), 15_000);
  });
}

describe("integration: hostile input to the receiver (real server, request timeouts on)", function () {
  this.timeout(30_000);
  let running: RunningServer;
  let publisher: FakePublisher;
  let now = Date.now();
  let url: string;

  before(async () => {
    publisher = new FakePublisher();
    const logs = new LogCapture("receiver");
    const app = createApp({
      webhookSecrets: [TEST_SECRET],
      publisher,
      publishTimeoutMs: 1000,
      logger: logs.logger,
      now: () => now,
    });
    running = await serve(app, {
      port: 0,
      host: "127.0.0.1",
      logger: logs.logger,
      requestTimeoutMs: 2000,
      handleSignals: false,
    });
    url = `http://127.0.0.1:${running.port}/webhooks/stripe`;
  });
  after(async () => running.shutdown("test over"));
  afterEach(async () => {
    // Whatever was thrown at it, the process answers and nothing was published.
    expect((await fetch(`http://127.0.0.1:${running.port}/health`)).status).to.equal(200);
    expect(publisher.published).to.have.length(0);
  });

  const signedAt = (payload: string, at: number) => signPayload(payload, TEST_SECRET, Math.floor(at / 1000));

  it("when a valid signature is replayed after the tolerance, then 400", async () => {
    const payload = JSON.stringify(
      buildEvent({ type: "checkout.session.completed", object: buildSession() }),
    );
    const header = signedAt(payload, now);
    now += 301_000;
    const response = await fetch(url, {
      method: "POST",
      headers: { "stripe-signature": header },
      body: payload,
    });
    expect(response.status).to.equal(400);
    now = Date.now();
  });

  it("when the signature is forged or for another secret, then 400", async () => {
    const payload = JSON.stringify(
      buildEvent({ type: "checkout.session.completed", object: buildSession() }),
    );
    for (const header of [
      signPayload(payload, "whsec_attacker_guess"),
      `t=${Math.floor(now / 1000)},v1=${"0".repeat(64)}`,
      signPayload(payload.replace("cs_", "cs_X")),
    ]) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "stripe-signature": header },
        body: payload,
      });
      expect(response.status).to.equal(400);
    }
  });

  it("when the body is huge, then 413 without reading it all", async () => {
    const started = Date.now();
    const response = await fetch(url, {
      method: "POST",
      headers: { "stripe-signature": "t=1,v1=x" },
      body: Buffer.alloc(20 * 1024 * 1024, 120),
    });
    expect(response.status).to.equal(413);
    expect(Date.now() - started).to.be.lessThan(3000);
  });

  it("when a body trickles in slowly (slowloris), then the request timeout cuts it off", async () => {
    const head = `POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nStripe-Signature: t=1,v1=x\r\nContent-Length: 5000\r\n\r\n`;
    const { answer, ms } = await raw(running.port, [head, ...Array.from({ length: 60 }, () => "{")], {
      gapMs: 200,
    });
    expect(ms).to.be.lessThan(6000);
    expect(answer === "closed" || answer.startsWith("HTTP/1.1 408")).to.equal(true);
  });

  it("when headers trickle in and never end, then the headers timeout cuts it off", async () => {
    const { ms } = await raw(
      running.port,
      ["POST /webhooks/stripe HTTP/1.1\r\n", ...Array.from({ length: 60 }, (_, i) => `X-${i}: y\r\n`)],
      { gapMs: 200 },
    );
    expect(ms).to.be.lessThan(6000);
  });

  it("when the content type is wrong or odd, then the signature still governs: a signed event is taken byte for byte, a signed non-event is 400", async () => {
    const types = [
      "text/plain",
      "multipart/form-data; boundary=x",
      "application/x-www-form-urlencoded",
      "application/json; charset=utf-16",
    ];
    const payloads: string[] = [];
    for (const type of types) {
      const payload = JSON.stringify(
        buildEvent({ type: "checkout.session.completed", object: buildSession() }),
      );
      payloads.push(payload);
      const accepted = await fetch(url, {
        method: "POST",
        headers: { "content-type": type, "stripe-signature": signedAt(payload, now) },
        body: payload,
      });
      expect(accepted.status, type).to.equal(200);
      const form = await fetch(url, {
        method: "POST",
        headers: { "content-type": type, "stripe-signature": signedAt("a=b", now) },
        body: "a=b",
      });
      expect(form.status, type).to.equal(400);
      expect(((await form.json()) as { error: string }).error, type).to.equal("invalid_event");
    }
    const published = publisher.published.map((m) => m.data.toString("utf8"));
    publisher.published.length = 0; // the shared afterEach checks nothing else was published
    expect(published).to.deep.equal(payloads);
  });

  it("when signed JSON is deeply nested or huge but not an event, then 400 quickly", async () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 15_000 }, (_, i) => [`k${i}`, i])));
    for (const payload of [
      deep,
      wide,
      `{"id":"evt_1","type":"x","data":{"object":${"[".repeat(50_000)}${"]".repeat(50_000)}}}`,
    ]) {
      expect(Buffer.byteLength(payload)).to.be.lessThan(256 * 1024);
      const started = Date.now();
      const response = await fetch(url, {
        method: "POST",
        headers: { "stripe-signature": signPayload(payload) },
        body: payload,
      });
      expect(response.status).to.equal(400);
      expect(Date.now() - started).to.be.lessThan(2000);
    }
  });

  it("when headers carry injection attempts (CR/LF, NUL, obs-fold), then the request is refused and nothing leaks into the answer", async () => {
    const attempts = [
      "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nStripe-Signature: t=1,v1=a\rX-Injected: 1\r\nContent-Length: 2\r\n\r\n{}",
      "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nStripe-Signature: t=1,v1=a\u0000b\r\nContent-Length: 2\r\n\r\n{}",
      "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nStripe-Signature: t=1,\r\n v1=a\r\nContent-Length: 2\r\n\r\n{}",
      "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ];
    for (const request of attempts) {
      const { answer } = await raw(running.port, [request], { endAfter: true });
      expect(answer).to.match(/^HTTP\/1\.1 400|^closed$/);
      expect(answer).to.not.include("X-Injected");
    }
  });
});
