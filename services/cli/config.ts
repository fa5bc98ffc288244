import * as v from "valibot";
import { fields, parseConfig, type Env } from "../common/config.js";
import { createSecretManagerClient, resolveSecrets } from "../common/secrets.js";
import { ConfigError } from "../common/errors.js";
import { RequestBudget } from "../common/request-budget.js";

const schema = v.object({
  GOOGLE_CLOUD_PROJECT: v.string("is required: the project whose Pub/Sub and Firestore to use"),
  PUBSUB_TOPIC: v.optional(v.string(), "stripe-events"),
  PUBSUB_DLQ_TOPIC: v.optional(v.string(), "stripe-events-dlq"),
  PUBSUB_DLQ_SUBSCRIPTION: v.optional(v.string(), "stripe-events-dlq-sub"),
  STRIPE_API_KEY: v.optional(fields.stripeKey()),
  STRIPE_API_BASE: v.optional(fields.url()),
  /** This process's share of the account's Stripe request budget (DESIGN 5): Terraform divides the account budget by the fulfiller's maximum instances. */
  STRIPE_REQUESTS_PER_SECOND: fields.positiveRate(20),
  SENDGRID_API_KEY: v.optional(v.string()),
  SENDGRID_API_BASE: v.optional(fields.url()),
  SENDGRID_TEMPLATE_ID: v.optional(v.string()),
  EMAIL_FROM: v.optional(fields.email()),
  FULFILMENT_EMAIL_TO: fields.optionalList(),
  // The fulfiller's decision settings: `orders retry` decides as the deployed fulfiller does.
  FULFILMENT_PRODUCT_IDS: fields.productIds(),
  FULFILMENT_OPT_IN_FIELD: v.optional(v.string()),
  FULFIL_TRIALS: fields.boolean(true),
  HANDLER_DEADLINE_MS: fields.positiveInt(20_000),
  /** Hours after the order email by which the warehouse should confirm dispatch (DESIGN 5b). */
  DISPATCH_SLA_HOURS: fields.positiveInt(48),
  ORDER_PII_RETENTION_DAYS: fields.positiveInt(180),
  /** The email look-up hash's key: `orders redact --email` needs the fulfiller's. */
  ORDER_EMAIL_HASH_KEY: fields.hmacKey(),
  ORDER_LEASE_SECONDS: fields.positiveInt(60),
});

export type CliConfig = v.InferOutput<typeof schema>;

/** Every variable the CLI reads (docs/configuration.md is checked against it). */
export const CLI_ENV_KEYS: readonly string[] = Object.keys(schema.entries);

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

let budget: RequestBudget | undefined;

/**
 * The CLI process's one request budget: `reconcile`, `orders retry|resend` and `doctor`
 * take from STRIPE_REQUESTS_PER_SECOND like a fulfiller instance, so an operator's run
 * during a sale does not push the account over Stripe's limit.
 */
export function cliBudget(config: Pick<CliConfig, "STRIPE_REQUESTS_PER_SECOND">): RequestBudget {
  if (budget?.ratePerSecond !== config.STRIPE_REQUESTS_PER_SECOND)
    budget = new RequestBudget({ ratePerSecond: config.STRIPE_REQUESTS_PER_SECOND });
  return budget;
}
