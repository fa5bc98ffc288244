/** (b) Baseline: bare node:http doing the same raw-body read, stripe verification and awaited publish. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { announce, benchPubSub, benchPublisher, env } from "./common.js";

const publisher = benchPublisher(benchPubSub());
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    let event: { id: string; type: string };
    try {
      event = Stripe.webhooks.constructEvent(body, req.headers["stripe-signature"] ?? "", env.secret);
    } catch {
      res.writeHead(400).end();
      return;
    }
    publisher.publish(body, { event_id: event.id, event_type: event.type }).then(
      (id) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ received: true, event_id: event.id, message_id: id }));
      },
      () => res.writeHead(503).end(),
    );
  });
});
server.listen(env.port, "127.0.0.1", () => announce((server.address() as AddressInfo).port));
