import * as v from "valibot";
import { fields, oneOf, parseConfig, type Env } from "../common/config.js";
import { LOG_LEVELS } from "../common/logger.js";

const variables = v.object({
  PORT: fields.port(8080),
  GOOGLE_CLOUD_PROJECT: v.string("is required (Cloud Run does not set it; Terraform does)"),
  PUBSUB_DLQ_TOPIC: v.optional(v.string(), "stripe-events-dlq"),
  STRIPE_API_KEY: fields.stripeKey(),
  STRIPE_API_BASE: v.optional(fields.url()),
  /** This process's share of the account's Stripe request budget (DESIGN 5): Terraform divides the account budget by the fulfiller's maximum instances. */
  STRIPE_REQUESTS_PER_SECOND: fields.positiveRate(20),
  SENDGRID_API_KEY: v.string(),
  SENDGRID_API_BASE: v.optional(fields.url()),
  SENDGRID_TEMPLATE_ID: v.optional(
    v.pipe(v.string(), v.regex(/^d-[0-9a-f]+$/i, "must be a dynamic template id (d-…)")),
  ),
  EMAIL_FROM: fields.email(),
  FULFILMENT_EMAIL_TO: fields.emails(),
  FULFILMENT_PRODUCT_IDS: fields.productIds(),
  FULFILMENT_OPT_IN_FIELD: v.optional(v.string()),
  FULFIL_TRIALS: fields.boolean(true),
  PUSH_AUTH: v.optional(oneOf(["cloud-run", "oidc", "none"]), "cloud-run"),
  PUSH_AUDIENCE: v.optional(v.string()),
  PUSH_SERVICE_ACCOUNT: v.optional(fields.email()),
  PUSH_OIDC_CERTS_URL: v.optional(fields.url()),
  HANDLER_DEADLINE_MS: fields.positiveInt(20_000),
  ORDER_LEASE_SECONDS: fields.positiveInt(60),
  /** The dispatch links' HMAC key and where they point (DESIGN 5b): both, or neither. */
  DISPATCH_LINK_SECRET: fields.hmacKey(),
  DISPATCH_BASE_URL: v.optional(fields.url()),
  DISPATCH_SLA_HOURS: fields.positiveInt(48),
  /** Days the customer's details are kept after the order's last change (DESIGN 5c; chargebacks come up to 120 days later). */
  ORDER_PII_RETENTION_DAYS: fields.positiveInt(180),
  /** The key of the email's look-up hash (`orders redact --email`); unset: no hash is kept. */
  ORDER_EMAIL_HASH_KEY: fields.hmacKey(),
  PUBSUB_EMULATOR_HOST: v.optional(fields.hostPort()),
  FIRESTORE_EMULATOR_HOST: v.optional(fields.hostPort()),
  LOG_LEVEL: v.optional(oneOf(LOG_LEVELS), "info"),
  /** Where spans go: gcp (Cloud Trace; the default on Cloud Run), console, or none (the default elsewhere). */
  OTEL_TRACES_EXPORTER: v.optional(oneOf(["gcp", "console", "none"])),
});

/**
 * What one variable asks of another. Run even where some other variable is wrong, so that
 * one start lists every problem; each check only once the variables it reads are valid.
 */
const crossChecks = v.rawCheck<v.InferOutput<typeof variables>>(({ dataset, addIssue }) => {
  // Untyped where some variable failed: only what is read here is known to be there.
  const c = dataset.value as Record<string, unknown>;
  const problem = (key: string, message: string) =>
    addIssue({ message, path: [{ type: "object", origin: "value", input: c, key, value: c[key] }] });
  const deadline = c.HANDLER_DEADLINE_MS;
  const lease = c.ORDER_LEASE_SECONDS;
  if (typeof deadline === "number" && typeof lease === "number" && deadline >= lease * 1000)
    problem(
      "HANDLER_DEADLINE_MS",
      `must be below ORDER_LEASE_SECONDS (${lease} s), or two attempts could hold one order`,
    );
  if (c.DISPATCH_LINK_SECRET !== undefined && c.DISPATCH_BASE_URL === undefined)
    problem(
      "DISPATCH_BASE_URL",
      "is required with DISPATCH_LINK_SECRET: the receiver's public base URL the links point at",
    );
  if (c.PUSH_AUTH === "cloud-run" || c.PUSH_AUTH === "oidc") {
    // What the push token is checked against.
    for (const key of ["PUSH_AUDIENCE", "PUSH_SERVICE_ACCOUNT"])
      if (c[key] === undefined) problem(key, `is required when PUSH_AUTH=${c.PUSH_AUTH}`);
  }
});

const schema = v.pipe(variables, crossChecks);

/** Every variable this service reads (Terraform's env is checked against it). */
export const FULFILLER_ENV_KEYS: readonly string[] = Object.keys(schema.entries);

export type FulfillerConfig = v.InferOutput<typeof schema>;

export function loadFulfillerConfig(env: Env): FulfillerConfig {
  return parseConfig("fulfiller", schema, env);
}
