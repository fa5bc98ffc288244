/**
 * (b) Baseline: bare node:http doing the same raw-body read, the same verification (the
 * receiver's own, DESIGN section 10: "the same verification") and awaited publish (the
 * same message: the body and DESIGN section 4's attributes).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { verifyStripeWebhook } from "../../services/receiver/verify-signature.js";
import { eventAttributes, type StripeWebhookEvent } from "../../services/common/event.js";
import { announce, benchPublisher, env, exitOnSignal } from "./common.js";

exitOnSignal();

const publisher = await benchPublisher();
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    let event: StripeWebhookEvent;
    try {
      event = verifyStripeWebhook({
        payload: body,
        header: req.headers["stripe-signature"] as string | undefined,
        secrets: [env.secret],
        now: Date.now(),
      });
    } catch {
      res.writeHead(400).end();
      return;
    }
    publisher.publish(body, eventAttributes(event, Date.now())).then(
      (id) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ received: true, event_id: event.id, message_id: id }));
      },
      () => res.writeHead(503).end(),
    );
  });
});
server.listen(env.port, "127.0.0.1", () => announce((server.address() as AddressInfo).port));
