import { z } from "zod";
import { fields, parseConfig, type Env } from "../common/config.js";
import { LOG_LEVELS } from "../common/logger.js";

const schema = z.object({
  PORT: fields.port(8080),
  GOOGLE_CLOUD_PROJECT: z.string({ message: "is required (Cloud Run does not set it; Terraform does)" }),
  PUBSUB_TOPIC: z.string().default("stripe-events"),
  STRIPE_WEBHOOK_SECRET: fields.list().refine((secrets) => secrets.every((s) => s.startsWith("whsec_")), {
    message: "every comma-separated value must be a webhook signing secret starting with whsec_",
  }),
  STRIPE_EVENT_TYPES: fields.optionalList(),
  PUBLISH_TIMEOUT_MS: fields.positiveInt(4000),
  /** SendGrid's Event Webhook verification key (base64); unset: /webhooks/sendgrid answers 404. */
  SENDGRID_WEBHOOK_PUBLIC_KEY: z.string().optional(),
  PUBSUB_EMULATOR_HOST: fields.hostPort().optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  /** Where spans go: gcp (Cloud Trace; the default on Cloud Run), console, or none (the default elsewhere). */
  OTEL_TRACES_EXPORTER: z.enum(["gcp", "console", "none"]).optional(),
});

/** Every variable this service reads (Terraform's env is checked against it). */
export const RECEIVER_ENV_KEYS: readonly string[] = Object.keys(schema.shape);

export type ReceiverConfig = z.output<typeof schema>;

export function loadReceiverConfig(env: Env): ReceiverConfig {
  return parseConfig("receiver", schema, env);
}
