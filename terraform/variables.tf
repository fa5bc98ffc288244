variable "project_id" {
  type        = string
  description = "Google Cloud project id to deploy into."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "region" {
  type        = string
  description = "Region for Cloud Run, Artifact Registry and the Pub/Sub message storage policy."
  default     = "europe-west1"
}

variable "name_prefix" {
  type        = string
  description = "Prefix for every resource name. One environment per project: the Firestore database is the project's (default) one, and the state prefix is fixed."
  default     = "stripe"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,14}$", var.name_prefix))
    error_message = "name_prefix must be lower-case letters, digits and hyphens, at most 15 characters, starting with a letter."
  }
}

variable "image" {
  type        = string
  description = "Container image serving both services (command picks one), by digest (REPO/IMAGE@sha256:…, or REPO/IMAGE:TAG@sha256:…): the revision runs exactly what was tested, whatever a tag is moved to. Cloud Build passes the digest it pushed. Empty only for the first apply's step 2, which creates no service."
  default     = ""
  validation {
    condition     = var.image == "" || can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must name a digest (…@sha256:<64 hex>): a tag can be moved, a digest cannot."
  }
}

variable "firestore_location" {
  type        = string
  description = "Firestore database location (e.g. eur3, nam5, europe-west1). Cannot be changed after creation."
  default     = "eur3"
}

variable "fulfilment_email_to" {
  type        = list(string)
  description = "Recipients of the order email (the fulfilment team)."
  validation {
    condition     = length(var.fulfilment_email_to) > 0 && alltrue([for a in var.fulfilment_email_to : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a))])
    error_message = "fulfilment_email_to must list at least one email address."
  }
}

variable "email_from" {
  type        = string
  description = "Sender of the order email; must be a verified sender in SendGrid."
  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.email_from))
    error_message = "email_from must be an email address."
  }
}

variable "fulfilment_product_ids" {
  type        = list(string)
  description = "Stripe product ids that need shipping (the scale). Empty: every paid order ships."
  default     = []
  validation {
    condition     = alltrue([for p in var.fulfilment_product_ids : startswith(p, "prod_")])
    error_message = "fulfilment_product_ids must be Stripe product ids (prod_...)."
  }
}

variable "fulfilment_opt_in_field" {
  type        = string
  description = "Optional Checkout custom-field key whose yes/true value opts the customer in to shipping."
  default     = ""
}

variable "sendgrid_template_id" {
  type        = string
  description = "Optional SendGrid dynamic template id (d-...); empty uses the built-in text and HTML email."
  default     = ""
  validation {
    condition     = var.sendgrid_template_id == "" || can(regex("^d-[0-9a-fA-F]+$", var.sendgrid_template_id))
    error_message = "sendgrid_template_id must be empty or a dynamic template id (d-...)."
  }
}

variable "stripe_event_types" {
  type        = list(string)
  description = "Receiver allowlist of event types to publish; empty publishes every verified event."
  default     = []
}

variable "sendgrid_event_webhook" {
  type        = bool
  description = "Verify and accept SendGrid's signed Event Webhook at /webhooks/sendgrid (delivery tracking). Add the verification key's secret version first (docs/deploying.md, delivery tracking)."
  default     = false
}

variable "fulfil_trials" {
  type        = bool
  description = "Whether a subscription that starts on a trial (no_payment_required) ships now."
  default     = true
}

variable "stripe_requests_per_second" {
  type        = number
  description = "The account's Stripe request budget for this pipeline (DESIGN 5): Stripe allows 100 requests/s in live mode and 25 in a sandbox, shared with everything else the merchant runs. Each fulfiller instance gets this divided by fulfiller.max_instances (STRIPE_REQUESTS_PER_SECOND), and the scheduled reconcile one instance's share. Default 20: a fifth of the live limit, about 20 orders/s at one read per order."
  default     = 20
  validation {
    condition     = var.stripe_requests_per_second > 0 && var.stripe_requests_per_second <= 10000
    error_message = "stripe_requests_per_second must be above 0 (and at most 10000)."
  }
}

variable "handler_deadline_ms" {
  type        = number
  description = "Hard deadline for one push attempt, applied to every Stripe and SendGrid call."
  default     = 20000
  validation {
    condition     = var.handler_deadline_ms >= 2000 && var.handler_deadline_ms <= 540000
    error_message = "handler_deadline_ms must be between 2000 and 540000."
  }
}

variable "order_lease_seconds" {
  type        = number
  description = "How long a claim on an order holds; must exceed the handler deadline and the push ack deadline."
  default     = 60
  validation {
    condition     = var.order_lease_seconds >= 10 && var.order_lease_seconds <= 3600
    error_message = "order_lease_seconds must be between 10 and 3600."
  }
}

variable "push_ack_deadline_seconds" {
  type        = number
  description = "Ack deadline of the push subscription: above the handler deadline, below the order lease (checked in locals)."
  default     = 30
  validation {
    condition     = var.push_ack_deadline_seconds >= 10 && var.push_ack_deadline_seconds <= 600
    error_message = "push_ack_deadline_seconds must be between 10 and 600 (Pub/Sub's limits)."
  }
}

variable "max_delivery_attempts" {
  type        = number
  description = "Deliveries before Pub/Sub dead-letters a message."
  default     = 10
  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "retry_minimum_backoff" {
  type        = string
  description = "Push subscription retry policy: first backoff."
  default     = "10s"
}

variable "retry_maximum_backoff" {
  type        = string
  description = "Push subscription retry policy: largest backoff."
  default     = "600s"
}

variable "push_audience" {
  type        = string
  description = "OIDC audience of the push token: the fulfiller's custom audience, PUSH_AUDIENCE and the subscription's oidc_token.audience."
  default     = "stripe-fulfiller-push"
}

variable "push_auth" {
  type        = string
  description = "Fulfiller PUSH_AUTH: cloud-run (Cloud Run verifies the token) or oidc (the app verifies it fully)."
  default     = "cloud-run"
  validation {
    condition     = contains(["cloud-run", "oidc"], var.push_auth)
    error_message = "push_auth must be cloud-run or oidc (none is for the local emulator only)."
  }
}

variable "receiver" {
  type = object({
    min_instances         = optional(number, 1)
    max_instances         = optional(number, 10)
    cpu                   = optional(string, "1")
    memory                = optional(string, "512Mi")
    concurrency           = optional(number, 80)
    timeout_seconds       = optional(number, 30)
    cpu_idle              = optional(bool, true)
    execution_environment = optional(string, "EXECUTION_ENVIRONMENT_GEN2")
  })
  description = "Receiver Cloud Run sizing. One warm instance by default (DESIGN 8: Stripe times out slow webhooks), billed all day: at Cloud Run's idle rate while cpu_idle is true (CPU only during requests), at the full rate with cpu_idle = false. min_instances = 0 saves that and accepts a cold start (Stripe retries)."
  default     = {}
  validation {
    condition     = var.receiver.min_instances >= 0 && var.receiver.max_instances >= max(1, var.receiver.min_instances)
    error_message = "receiver.max_instances must be at least 1 and at least min_instances."
  }
}

variable "fulfiller" {
  type = object({
    min_instances         = optional(number, 0)
    max_instances         = optional(number, 10)
    cpu                   = optional(string, "1")
    memory                = optional(string, "512Mi")
    concurrency           = optional(number, 20)
    timeout_seconds       = optional(number, 60)
    cpu_idle              = optional(bool, true)
    execution_environment = optional(string, "EXECUTION_ENVIRONMENT_GEN2")
  })
  description = "Fulfiller Cloud Run sizing."
  default     = {}
  validation {
    condition     = var.fulfiller.max_instances >= max(1, var.fulfiller.min_instances)
    error_message = "fulfiller.max_instances must be at least 1 and at least min_instances."
  }
}

variable "fulfiller_ingress" {
  type        = string
  description = "Fulfiller ingress. Pub/Sub push from the same project counts as internal traffic."
  default     = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  validation {
    condition     = contains(["INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_ALL"], var.fulfiller_ingress)
    error_message = "fulfiller_ingress must be INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_ALL."
  }
}

variable "log_level" {
  type        = string
  description = "Log level for both services."
  default     = "info"
  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace"], var.log_level)
    error_message = "log_level must be a pino level."
  }
}

variable "notification_channels" {
  type        = list(string)
  description = "Monitoring notification channel ids (projects/P/notificationChannels/N) for every alert. Required: an alert nobody receives is no alert."
  validation {
    condition     = length(var.notification_channels) > 0 && alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "Give at least one notification channel, as projects/PROJECT/notificationChannels/ID (gcloud beta monitoring channels list)."
  }
}

variable "receiver_5xx_threshold" {
  type        = number
  description = "Alert when the receiver answers more 5xx than this in 5 minutes (one publish timeout is a retried 503, not an incident)."
  default     = 5
}

variable "oldest_unacked_age_threshold_seconds" {
  type        = number
  description = "Alert when the push subscription's oldest unacknowledged message is older than this."
  default     = 900
}

variable "receiver_400_threshold" {
  type        = number
  description = "Alert when the receiver answers more 400s than this in 5 minutes (a rotated or wrong webhook secret)."
  default     = 20
}

variable "fulfiller_5xx_threshold" {
  type        = number
  description = "Alert when the fulfiller answers more 5xx than this in 10 minutes (some 503s are normal retries)."
  default     = 50
}

variable "pubsub_agent_predates_2021" {
  type        = bool
  description = "Grant the Pub/Sub service agent Token Creator on the push identity. Only projects whose Pub/Sub agent was created before 8 April 2021 need it (Google's push authentication docs); newer ones mint push tokens without it."
  default     = false
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the Cloud Run services, the reconcile job, the Firestore database and the secrets against terraform destroy."
  default     = true
}

variable "secret_versions" {
  type        = map(string)
  description = "The version each service reads of each secret, pinned (the first apply, step 3, in docs/deploying.md): { stripe_webhook_secret = \"1\", stripe_api_key = \"1\", sendgrid_api_key = \"1\" }, plus sendgrid_webhook_key with sendgrid_event_webhook. A rotation adds a version, bumps the number here and applies: a new revision rolls out through the deploy's checks (docs/deploying.md, Rotating a secret). Until the map names them, the services and the reconcile job are not planned."
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.secret_versions : contains(["stripe_webhook_secret", "stripe_api_key", "sendgrid_api_key", "sendgrid_webhook_key", "dispatch_link_secret", "order_email_hash_key"], k) && can(regex("^[1-9][0-9]*$", v))])
    error_message = "secret_versions maps stripe_webhook_secret, stripe_api_key, sendgrid_api_key (and sendgrid_webhook_key) to a version number such as \"3\"; \"latest\" is refused: a version added out of band would reach new instances with no rollout."
  }
}

variable "order_pii_retention_days" {
  type        = number
  description = "Days the customer's details are kept after the order's last change (DESIGN 5c): then Firestore's TTL deletes them. Chargebacks can come 120 days after a payment."
  default     = 180
  validation {
    condition     = var.order_pii_retention_days >= 1
    error_message = "order_pii_retention_days must be at least 1."
  }
}

variable "dispatch_sla_hours" {
  type        = number
  description = "Hours after the order email by which the warehouse should confirm dispatch through its link (DESIGN 5b); the scheduled reconcile raises dispatch_overdue after that."
  default     = 48
}

variable "iam_propagation_seconds" {
  type        = number
  description = "How long a first apply waits after the services' grants before it creates them. Google documents 2 to 7 minutes for a grant to take effect everywhere (IAM access change propagation); a revision started earlier can fail to read its secrets."
  default     = 420
}

variable "receiver_regions" {
  type        = list(string)
  description = "Regions the receiver runs in (DESIGN 8). One by default: var.region. With several, set webhook_domain: one global load balancer sends Stripe to the nearest healthy region. Each region costs its own min_instances."
  default     = []
}

variable "webhook_domain" {
  type        = string
  description = "A domain for the webhooks (hooks.example.com). Set: a global external Application Load Balancer with a Google-managed certificate and Cloud Armor fronts the receiver in every receiver_regions region, and the receiver only takes traffic from it. Empty: the single-region run.app URL, as before."
  default     = ""
}

variable "stripe_webhook_ips" {
  type        = list(string)
  description = "Stripe's published webhook source addresses (https://stripe.com/files/ips/ips_webhooks.json): Cloud Armor admits only these on the Stripe paths when webhook_domain is set. Refresh with `node scripts/stripe-webhook-ips.mjs` (it writes stripe_webhook_ips.auto.tfvars.json); Stripe announces changes seven days ahead on its api-announce list."
  default     = []
  validation {
    condition     = alltrue([for ip in var.stripe_webhook_ips : can(cidrhost(strcontains(ip, "/") ? ip : "${ip}/32", 0))])
    error_message = "stripe_webhook_ips must be IPv4 addresses or CIDR ranges."
  }
}

variable "labels" {
  type        = map(string)
  description = "Extra labels on every resource that takes labels (app, managed-by and name-prefix are always set)."
  default     = {}
}

variable "images_to_keep" {
  type        = number
  description = "Artifact Registry cleanup: the most recent image versions kept whatever their age (rollbacks); older ones are deleted after 30 days."
  default     = 20
}

variable "firestore_backup_retention_days" {
  type        = number
  description = "How long each daily Firestore backup is kept (at most 98 days)."
  default     = 14
  validation {
    condition     = var.firestore_backup_retention_days >= 1 && var.firestore_backup_retention_days <= 98
    error_message = "firestore_backup_retention_days must be 1 to 98."
  }
}

variable "deployer_member" {
  type        = string
  description = "Another identity that applies this configuration (serviceAccount:…). Empty (the default): the dedicated deployer account this configuration creates (deployer.tf), granted what an apply takes. Either way it gets act-as on the service accounts it deploys as, and on nothing else, and the operators' grants for `doctor`."
  default     = ""
}

variable "operators" {
  type        = list(string)
  description = "Members who run the operator CLI (user:…, group:…): dead-letter subscriber, main-topic publisher, Firestore user, the CLI's secrets, push subscription viewer, reconcile job invoker."
  default     = []
}

variable "reconcile_schedule" {
  type        = string
  description = "Cron schedule (UTC) of the reconcile job."
  default     = "17 * * * *"
}

variable "reconcile_window" {
  type        = string
  description = "How far back each scheduled reconcile looks (a duration the CLI accepts: 3d, 72h)."
  default     = "3d"
}
