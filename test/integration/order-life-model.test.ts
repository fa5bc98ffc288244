import { expect } from "chai";
import { Firestore } from "@google-cloud/firestore";
import { StripeStandIn } from "../../services/local/stripe/stand-in.js";
import { SendGridStandIn } from "../../services/local/sendgrid-server.js";
import { emulatorState } from "../support/emulator-state.js";
import { requireEmulators } from "../support/emulator-state.js";
import { runOrderLifeModel, STRIPE_KEY } from "../model/order-life.js";

/**
 * The model of an order's life (test/model/order-life.ts) in CI's budget: MODEL_RUNS
 * sequences against the in-memory store, and a shorter run against Firestore on the
 * emulator. `npm run test:model` runs a long budget. A failure prints its seed and path:
 * MODEL_SEED=… MODEL_PATH=… replays it.
 */
describe("integration: a model of the order's life against the real fence and state machine", function () {
  this.timeout(600_000);
  const stripe = new StripeStandIn({ apiKey: STRIPE_KEY });
  const sendgrid = new SendGridStandIn({ apiKey: "SG.test-key" });
  let db: Firestore | undefined;
  const seed = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : undefined;
  const path = process.env.MODEL_PATH;

  before(async () => {
    await stripe.start();
    await sendgrid.start();
  });
  after(async () => {
    await db?.terminate();
    await stripe.stop();
    await sendgrid.stop();
  });

  it(`when ${process.env.MODEL_RUNS ?? 400} random sequences of deliveries, batches, refunds, operator commands, lease expiry and faults run on the in-memory store, then every invariant holds after every step`, async () => {
    const run = await runOrderLifeModel(
      { stripe, sendgrid },
      { numRuns: Number(process.env.MODEL_RUNS ?? 400), maxCommands: 24, seed, path },
    );
    const [shipments, evidence] = [
      stripe.count("POST /v1/payment_intents/"),
      stripe.count("POST /v1/disputes/"),
    ];
    console.log(
      `      model (memory): seed ${run.seed}, ${run.numRuns} sequences, ${run.commands} commands in ${(run.ms / 1000).toFixed(1)} s; ` +
        `${shipments} shipment writes, ${evidence} evidence writes to Stripe`,
    );
    // The dispatch's Stripe writes are within the model's reach, so its invariants guard them.
    if (!path) expect(shipments, "shipment writes the model reached").to.be.greaterThan(0);
  });

  it(`when ${process.env.MODEL_EMULATOR_RUNS ?? 40} sequences run on Firestore on the emulator, then the same invariants hold`, async function () {
    requireEmulators(this);
    db = new Firestore({ projectId: emulatorState.project, ignoreUndefinedProperties: true });
    const run = await runOrderLifeModel(
      { stripe, sendgrid, db },
      { numRuns: Number(process.env.MODEL_EMULATOR_RUNS ?? 40), maxCommands: 16, seed, path },
    );
    console.log(
      `      model (Firestore emulator): seed ${run.seed}, ${run.numRuns} sequences, ${run.commands} commands in ${(run.ms / 1000).toFixed(1)} s`,
    );
  });
});
