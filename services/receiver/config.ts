import * as v from "valibot";
import { fields, oneOf, parseConfig, type Env } from "../common/config.js";
import { LOG_LEVELS } from "../common/logger.js";

const schema = v.object({
  PORT: fields.port(8080),
  GOOGLE_CLOUD_PROJECT: v.string("is required (Cloud Run does not set it; Terraform does)"),
  PUBSUB_TOPIC: v.optional(v.string(), "stripe-events"),
  STRIPE_WEBHOOK_SECRET: fields.webhookSecrets(),
  STRIPE_EVENT_TYPES: fields.optionalList(),
  PUBLISH_TIMEOUT_MS: fields.positiveInt(4000),
  /** SendGrid's Event Webhook verification key (base64); unset: /webhooks/sendgrid answers 404. */
  SENDGRID_WEBHOOK_PUBLIC_KEY: v.optional(v.string()),
  /** The dispatch links' HMAC key (DESIGN 5b); unset: /dispatch/… answers 404. */
  DISPATCH_LINK_SECRET: fields.hmacKey(),
  PUBSUB_EMULATOR_HOST: v.optional(fields.hostPort()),
  LOG_LEVEL: v.optional(oneOf(LOG_LEVELS), "info"),
  /** Where spans go: gcp (Cloud Trace; the default on Cloud Run), console, or none (the default elsewhere). */
  OTEL_TRACES_EXPORTER: v.optional(oneOf(["gcp", "console", "none"])),
});

/** Every variable this service reads (Terraform's env is checked against it). */
export const RECEIVER_ENV_KEYS: readonly string[] = Object.keys(schema.entries);

export type ReceiverConfig = v.InferOutput<typeof schema>;

export function loadReceiverConfig(env: Env): ReceiverConfig {
  return parseConfig("receiver", schema, env);
}
