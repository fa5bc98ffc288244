/** What `doctor` reads: the services' variables, the Cloud Run side's names, and what it learns as it goes. */
import * as v from "valibot";
import { fields } from "../../../common/config.js";

export const doctorSchema = v.object({
  GOOGLE_CLOUD_PROJECT: v.string("is required: the project to check"),
  PUBSUB_TOPIC: v.optional(v.string(), "stripe-events"),
  PUBSUB_DLQ_TOPIC: v.optional(v.string(), "stripe-events-dlq"),
  PUBSUB_DLQ_SUBSCRIPTION: v.optional(v.string(), "stripe-events-dlq-sub"),
  PUBSUB_PUSH_SUBSCRIPTION: v.optional(v.string(), "stripe-events-push"),
  PUSH_AUDIENCE: v.optional(v.string()),
  /** The receiver's base URL (`terraform output -raw receiver_url`): the webhook endpoint must point at it. */
  RECEIVER_URL: v.optional(fields.url()),
  STRIPE_API_BASE: v.optional(fields.url()),
  SENDGRID_API_BASE: v.optional(fields.url()),
  FULFILMENT_PRODUCT_IDS: fields.productIds(),
  /** Where the Cloud Run side is (terraform output -raw cli_env); unset: those checks are skipped. */
  CLOUD_RUN_REGION: v.optional(v.string()),
  RECEIVER_SERVICE: v.optional(v.string()),
  RECEIVER_REGIONS: fields.optionalList(),
  FULFILLER_SERVICE: v.optional(v.string()),
  RECONCILE_JOB: v.optional(v.string()),
  SCHEDULER_JOB: v.optional(v.string()),
  PUSH_AUTH: v.optional(
    v.picklist(["cloud-run", "oidc", "none"], "must be cloud-run, oidc or none"),
    "cloud-run",
  ),
  CLOUD_RUN_API_BASE: v.optional(fields.url(), "https://run.googleapis.com"),
  CLOUD_SCHEDULER_API_BASE: v.optional(fields.url(), "https://cloudscheduler.googleapis.com"),
  /** Terraform's per-instance share of the account's Stripe budget (output `stripe_requests_per_second_per_instance`). */
  STRIPE_REQUESTS_PER_SECOND: fields.positiveRate(20),
  PUBSUB_EMULATOR_HOST: v.optional(v.string()),
  FIRESTORE_EMULATOR_HOST: v.optional(v.string()),
});
export type DoctorConfig = v.InferOutput<typeof doctorSchema>;

/** Every variable `doctor` reads (docs/configuration.md is checked against it). */
export const DOCTOR_ENV_KEYS: readonly string[] = Object.keys(doctorSchema.entries);

/** What one check group learnt that a later one needs. */
export interface Seen {
  subscription?: { audience: string | undefined; serviceAccount: string | undefined };
  receiverUrls: string[];
}
