import { expect } from "chai";
import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { RECEIVER_ENV_KEYS } from "../../../services/receiver/config.js";
import { FULFILLER_ENV_KEYS } from "../../../services/fulfiller/config.js";
import { handledEventTypes } from "../../../services/fulfiller/classify-event.js";
import { RECONCILED_TYPES } from "../../../services/cli/commands/reconcile.js";

const runTf = readFileSync("terraform/run.tf", "utf8");
const mainTf = readFileSync("terraform/main.tf", "utf8");

/** The keys of one `NAME_env = merge({ ... }, ...)` local in run.tf. */
function envKeys(local: string): string[] {
  const start = runTf.indexOf(`${local} = merge(`);
  const end = runTf.indexOf("\n  )\n", start);
  const block = runTf.slice(start, end);
  return [...block.matchAll(/\b([A-Z][A-Z0-9_]+)\s*=/g)].map((m) => m[1]!);
}

describe("unit: Terraform keeps the services' configuration contract", () => {
  for (const [service, local, known, required] of [
    [
      "receiver",
      "receiver_env",
      RECEIVER_ENV_KEYS,
      ["GOOGLE_CLOUD_PROJECT", "STRIPE_WEBHOOK_SECRET", "PUBSUB_TOPIC"],
    ],
    [
      "fulfiller",
      "fulfiller_env",
      FULFILLER_ENV_KEYS,
      [
        "GOOGLE_CLOUD_PROJECT",
        "STRIPE_API_KEY",
        "SENDGRID_API_KEY",
        "EMAIL_FROM",
        "FULFILMENT_EMAIL_TO",
        "PUSH_AUDIENCE",
        "PUSH_SERVICE_ACCOUNT",
        "PUBSUB_DLQ_TOPIC",
      ],
    ],
  ] as const) {
    it(`when Terraform sets the ${service}'s environment, then every name is one the service reads, PORT is not set, and the required ones are`, () => {
      const keys = envKeys(local);
      expect(keys.length).to.be.greaterThan(3);
      for (const key of keys) expect(known, `${service} does not read ${key}`).to.include(key);
      expect(keys).to.not.include("PORT");
      expect(keys).to.include.members([...required]);
    });
  }

  it("when the stack outputs the Stripe API version, then it is the one stripe-node pins", () => {
    const version = /stripe_api_version = "([^"]+)"/.exec(mainTf)?.[1];
    expect(version).to.equal(Stripe.API_VERSION);
  });

  it("when the stack lists the event types to enable in Stripe, then they are exactly the ones the fulfiller acts on and reconcile covers", () => {
    const outputsTf = readFileSync("terraform/outputs.tf", "utf8");
    const block =
      /output "stripe_event_types_to_enable" \{[\s\S]*?value = \[([\s\S]*?)\]/.exec(outputsTf)?.[1] ?? "";
    const listed = [...block.matchAll(/"([a-z_.]+)"/g)].map((m) => m[1]);
    expect(listed).to.deep.equal(handledEventTypes());
    expect([...RECONCILED_TYPES]).to.have.members(handledEventTypes());
  });

  it("when secrets are wired, then they are sm:// references, never values", () => {
    expect(runTf).to.match(/STRIPE_WEBHOOK_SECRET\s*=\s*local\.secret_ref/);
    expect(runTf).to.match(
      /secret_ref = \{ for k, v in google_secret_manager_secret\.secrets : k => "sm:\/\/\$\{v\.id\}\/versions\/latest" \}/,
    );
    expect(readFileSync("terraform/secrets.tf", "utf8")).to.not.match(/secret_data/);
  });
});
