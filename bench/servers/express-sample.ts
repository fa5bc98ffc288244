/** (c) The shape of Stripe's own sample: Express, express.raw, constructEvent, awaited publish. */
import express from "express";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { announce, env, exitOnSignal, samplePublisher } from "./common.js";

exitOnSignal();

const stripe = new Stripe("sk_test_bench");
const publisher = await samplePublisher();
const app = express();
app.post("/webhooks/stripe", express.raw({ type: "application/json" }), async (req, res) => {
  let event: Stripe.Event;
  try {
    event = stripe.webhooks.constructEvent(
      req.body as Buffer,
      req.headers["stripe-signature"] ?? "",
      env.secret,
    );
  } catch (err) {
    res.status(400).send(`Webhook Error: ${(err as Error).message}`);
    return;
  }
  try {
    const id = await publisher.publish(req.body as Buffer, { event_id: event.id, event_type: event.type });
    res.json({ received: true, event_id: event.id, message_id: id });
  } catch {
    res.status(503).end();
  }
});
const server = app.listen(env.port, "127.0.0.1", () => announce((server.address() as AddressInfo).port));
