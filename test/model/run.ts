/**
 * `npm run test:model [-- RUNS]`: the model of an order's life (test/model/order-life.ts)
 * with a long budget against the in-memory store, outside the suite (CI runs a fixed
 * budget inside it). MODEL_SEED and MODEL_PATH replay a failure.
 */
import { StripeStandIn } from "../../services/local/stripe/stand-in.js";
import { SendGridStandIn } from "../../services/local/sendgrid-server.js";
import { runOrderLifeModel, STRIPE_KEY } from "./order-life.js";

const runs = Number(process.argv[2] ?? process.env.MODEL_RUNS ?? 5000);
const stripe = new StripeStandIn({ apiKey: STRIPE_KEY });
const sendgrid = new SendGridStandIn({ apiKey: "SG.test-key" });
await stripe.start();
await sendgrid.start();
try {
  const run = await runOrderLifeModel(
    { stripe, sendgrid },
    {
      numRuns: runs,
      maxCommands: 24,
      ...(process.env.MODEL_SEED ? { seed: Number(process.env.MODEL_SEED) } : {}),
      ...(process.env.MODEL_PATH ? { path: process.env.MODEL_PATH } : {}),
    },
  );
  console.log(
    `model: seed ${run.seed}, ${run.numRuns} sequences, ${run.commands} commands, ${sendgrid.emails.length} emails taken by SendGrid, ` +
      `${stripe.count("POST /v1/payment_intents/")} shipment and ${stripe.count("POST /v1/disputes/")} evidence writes to Stripe, in ${(run.ms / 1000).toFixed(1)} s: every invariant held`,
  );
} finally {
  await stripe.stop();
  await sendgrid.stop();
}
