import { z } from "zod";
import { fields, parseConfig, type Env } from "../common/config.js";
import { createSecretManagerClient, resolveSecrets } from "../common/secrets.js";
import { ConfigError } from "../common/errors.js";

const schema = z.object({
  GOOGLE_CLOUD_PROJECT: z.string({ message: "is required: the project whose Pub/Sub and Firestore to use" }),
  PUBSUB_TOPIC: z.string().default("stripe-events"),
  PUBSUB_DLQ_TOPIC: z.string().default("stripe-events-dlq"),
  PUBSUB_DLQ_SUBSCRIPTION: z.string().default("stripe-events-dlq-sub"),
  STRIPE_API_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_\S+$/, "must be a Stripe secret (sk_) or restricted (rk_) key")
    .optional(),
  STRIPE_API_BASE: fields.url().optional(),
  SENDGRID_API_KEY: z.string().optional(),
  SENDGRID_API_BASE: fields.url().optional(),
  SENDGRID_TEMPLATE_ID: z.string().optional(),
  EMAIL_FROM: fields.email().optional(),
  FULFILMENT_EMAIL_TO: fields.optionalList(),
  // The fulfiller's decision settings: `orders retry` decides as the deployed fulfiller does.
  FULFILMENT_PRODUCT_IDS: fields.productIds(),
  FULFILMENT_OPT_IN_FIELD: z.string().optional(),
  FULFIL_TRIALS: fields.boolean(true),
  HANDLER_DEADLINE_MS: fields.positiveInt(20_000),
  ORDER_LEASE_SECONDS: fields.positiveInt(60),
});

export type CliConfig = z.output<typeof schema>;

/** Reads the CLI's configuration (with sm:// secrets resolved); `needs` names variables this command cannot do without. */
export async function loadCliConfig(env: Env, needs: (keyof CliConfig)[] = []): Promise<CliConfig> {
  const resolved = await resolveSecrets("cli", env, createSecretManagerClient);
  return requireSettings(parseConfig("cli", schema, resolved), needs);
}

/** Throws a ConfigError naming every one of `needs` that `config` lacks; returns `config`. */
export function requireSettings(config: CliConfig, needs: readonly (keyof CliConfig)[]): CliConfig {
  const missing = needs.filter((key) => {
    const value = config[key];
    return value === undefined || (Array.isArray(value) && value.length === 0);
  });
  if (missing.length)
    throw new ConfigError(
      "cli",
      missing.map((key) => `${key}: is required for this command`),
    );
  return config;
}
