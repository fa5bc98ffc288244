import { expect } from "chai";
import { readyPort, trackChild } from "../support/log-registry.js";
import { spawn } from "node:child_process";
import http from "node:http";
import { PubSub } from "@google-cloud/pubsub";
import { buildEvent, buildSession } from "../../services/local/stripe/objects.js";
import { waitForHttpOk } from "../../services/local/ports.js";
import { signPayload, TEST_SECRET } from "../support/stripe-signing.js";
import { requireEmulators } from "../support/emulator-state.js";
import { createTopicWithSubscription, receive } from "../support/pubsub.js";

describe("integration: receiver graceful shutdown (real process)", function () {
  this.timeout(30_000);

  it("when SIGTERM arrives with requests in flight, then they complete, are published, and the process exits", async function () {
    const env = requireEmulators(this);
    const pubsub = new PubSub({ projectId: env.project });
    const { topic, subscription } = await createTopicWithSubscription(pubsub, "shutdown");
    const child = spawn(process.execPath, ["--import", "tsx", "services/receiver/main.ts"], {
      env: {
        ...process.env,
        PORT: "0",
        GOOGLE_CLOUD_PROJECT: env.project,
        PUBSUB_TOPIC: topic,
        STRIPE_WEBHOOK_SECRET: TEST_SECRET,
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = trackChild("receiver-shutdown", child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const port = await readyPort("receiver", output, exited);
    await waitForHttpOk(`http://127.0.0.1:${port}/ready`, { timeoutMs: 15_000 });

    // Three requests whose bodies are still arriving when SIGTERM is sent.
    const payloads = [1, 2, 3].map(() =>
      JSON.stringify(buildEvent({ type: "checkout.session.completed", object: buildSession() })),
    );
    const inFlight = payloads.map((payload) => {
      const half = Math.floor(payload.length / 2);
      return new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            port,
            method: "POST",
            path: "/webhooks/stripe",
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
        req.on("error", reject);
        req.write(payload.slice(0, half));
        setTimeout(() => req.end(payload.slice(half)), 700);
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    const signalledAt = Date.now();
    child.kill("SIGTERM");

    const statuses = await Promise.all(inFlight);
    expect(statuses).to.deep.equal([200, 200, 200]);
    const code = await exited;
    expect(code, output()).to.equal(0);
    expect(Date.now() - signalledAt).to.be.lessThan(8000);
    const messages = await receive(subscription, 3);
    expect(messages.map((m) => m.data.toString()).sort()).to.deep.equal([...payloads].sort());
    expect(output()).to.include("shutdown complete");
    await pubsub.close();
  });
});
