import { z } from "zod";
import { fields, parseConfig, type Env } from "../common/config.js";
import { LOG_LEVELS } from "../common/logger.js";

const schema = z
  .object({
    PORT: fields.port(8080),
    GOOGLE_CLOUD_PROJECT: z.string({ message: "is required (Cloud Run does not set it; Terraform does)" }),
    PUBSUB_DLQ_TOPIC: z.string().default("stripe-events-dlq"),
    STRIPE_API_KEY: z
      .string()
      .regex(/^(sk|rk)_(test|live)_\S+$/, "must be a Stripe secret (sk_) or restricted (rk_) key"),
    STRIPE_API_BASE: fields.url().optional(),
    SENDGRID_API_KEY: z.string().min(1),
    SENDGRID_API_BASE: fields.url().optional(),
    SENDGRID_TEMPLATE_ID: z
      .string()
      .regex(/^d-[0-9a-f]+$/i, "must be a dynamic template id (d-…)")
      .optional(),
    EMAIL_FROM: fields.email(),
    FULFILMENT_EMAIL_TO: fields
      .list()
      .refine(
        (list) => list.every((a) => z.email().safeParse(a).success),
        "must be email addresses, comma-separated",
      ),
    FULFILMENT_PRODUCT_IDS: fields.productIds(),
    FULFILMENT_OPT_IN_FIELD: z.string().optional(),
    FULFIL_TRIALS: fields.boolean(true),
    PUSH_AUTH: z.enum(["cloud-run", "oidc", "none"]).default("cloud-run"),
    PUSH_AUDIENCE: z.string().optional(),
    PUSH_SERVICE_ACCOUNT: fields.email().optional(),
    PUSH_OIDC_CERTS_URL: fields.url().optional(),
    HANDLER_DEADLINE_MS: fields.positiveInt(20_000),
    ORDER_LEASE_SECONDS: fields.positiveInt(60),
    PUBSUB_EMULATOR_HOST: fields.hostPort().optional(),
    FIRESTORE_EMULATOR_HOST: fields.hostPort().optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
    /** Where spans go: gcp (Cloud Trace; the default on Cloud Run), console, or none (the default elsewhere). */
    OTEL_TRACES_EXPORTER: z.enum(["gcp", "console", "none"]).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.HANDLER_DEADLINE_MS >= c.ORDER_LEASE_SECONDS * 1000) {
      ctx.addIssue({
        code: "custom",
        path: ["HANDLER_DEADLINE_MS"],
        message: `must be below ORDER_LEASE_SECONDS (${c.ORDER_LEASE_SECONDS} s), or two attempts could hold one order`,
      });
    }
    if (c.PUSH_AUTH !== "none") {
      for (const key of ["PUSH_AUDIENCE", "PUSH_SERVICE_ACCOUNT"] as const) {
        if (!c[key])
          ctx.addIssue({ code: "custom", path: [key], message: `is required when PUSH_AUTH=${c.PUSH_AUTH}` });
      }
    }
  });

/** Every variable this service reads (Terraform's env is checked against it). */
export const FULFILLER_ENV_KEYS: readonly string[] = Object.keys(schema.shape);

export type FulfillerConfig = z.output<typeof schema>;

export function loadFulfillerConfig(env: Env): FulfillerConfig {
  return parseConfig("fulfiller", schema, env);
}
