locals {
  # Where Stripe (and SendGrid, and the warehouse) post: the load balancer's domain when
  # one is set, else the receiver's deterministic run.app URL (known before it exists:
  # https://SERVICE-PROJECT_NUMBER.REGION.run.app).
  public_base_url = local.edge ? "https://${var.webhook_domain}" : "https://${local.names.receiver}-${data.google_project.this.number}.${var.region}.run.app"
}

output "webhook_url" {
  description = "Register this URL in Stripe (Developers > Webhooks, or a Workbench event destination) with the API version below: the load balancer's when webhook_domain is set, else the receiver's run.app URL."
  value       = "${local.public_base_url}/webhooks/stripe"
}

output "webhook_ip" {
  description = "With webhook_domain: the load balancer's address. Point the domain's A record at it; the managed certificate is issued once DNS resolves (up to an hour)."
  value       = local.edge ? google_compute_global_address.webhooks[0].address : null
}

output "receiver_urls" {
  description = "The receiver's run.app URL in each region (not reachable from outside when webhook_domain is set)."
  value       = { for k, v in google_cloud_run_v2_service.service : v.location => v.uri if k != "fulfiller" }
}

output "reconcile_job" {
  description = "The scheduled reconcile job (gcloud run jobs execute NAME --region REGION runs it now)."
  value       = google_cloud_run_v2_job.reconcile.name
}

output "stripe_api_version" {
  description = "The Stripe API version the code pins; create the webhook endpoint with this version."
  value       = local.stripe_api_version
}

output "stripe_event_types_to_enable" {
  description = "Event types to enable on the Stripe webhook endpoint (checkout, what happens after it: DESIGN 5a, and customer.deleted: 5c)."
  value = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "charge.refunded",
    "charge.dispute.created",
    "invoice.paid",
    "customer.subscription.deleted",
    "customer.deleted",
  ]
}

output "sendgrid_event_webhook_url" {
  description = "Paste into SendGrid (Settings > Mail Settings > Event Webhook) as the HTTP POST URL, with the Signed Event Webhook on."
  value       = "${local.public_base_url}/webhooks/sendgrid"
}

output "receiver_url" {
  description = "Receiver service URL."
  value       = google_cloud_run_v2_service.service["receiver"].uri
}

output "fulfiller_url" {
  description = "Fulfiller service URL (private)."
  value       = google_cloud_run_v2_service.service["fulfiller"].uri
}

output "topic" {
  description = "Main topic (PUBSUB_TOPIC)."
  value       = google_pubsub_topic.events.name
}

output "dead_letter_topic" {
  description = "Dead-letter topic (PUBSUB_DLQ_TOPIC)."
  value       = google_pubsub_topic.dead_letter.name
}

output "dead_letter_subscription" {
  description = "Dead-letter pull subscription the CLI reads (PUBSUB_DLQ_SUBSCRIPTION)."
  value       = google_pubsub_subscription.dead_letter.name
}

output "push_subscription" {
  description = "Push subscription feeding the fulfiller."
  value       = google_pubsub_subscription.push.name
}

output "artifact_registry" {
  description = "Docker repository for the images."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "secrets" {
  description = "Secret ids to add versions to (gcloud secrets versions add ID --data-file=-)."
  value       = { for k, v in google_secret_manager_secret.secrets : k => v.secret_id }
}

output "service_accounts" {
  description = "Service account emails."
  value = {
    receiver   = google_service_account.receiver.email
    fulfiller  = google_service_account.fulfiller.email
    push       = google_service_account.push.email
    reconciler = google_service_account.reconciler.email
    scheduler  = google_service_account.scheduler.email
    deployer   = google_service_account.deployer.email
  }
}

locals {
  # What the operator CLI (and `doctor`) needs to reach this deployment; secrets as sm:// references.
  cli_env = merge(
    {
      GOOGLE_CLOUD_PROJECT     = var.project_id
      PUBSUB_TOPIC             = google_pubsub_topic.events.name
      PUBSUB_DLQ_TOPIC         = google_pubsub_topic.dead_letter.name
      PUBSUB_DLQ_SUBSCRIPTION  = google_pubsub_subscription.dead_letter.name
      PUBSUB_PUSH_SUBSCRIPTION = google_pubsub_subscription.push.name
      PUSH_AUDIENCE            = var.push_audience
      RECEIVER_URL             = local.public_base_url
      # doctor's Cloud Run checks (DESIGN 8): where the services, the job and the schedule are.
      CLOUD_RUN_REGION           = var.region
      RECEIVER_SERVICE           = local.names.receiver
      RECEIVER_REGIONS           = join(",", local.receiver_regions)
      FULFILLER_SERVICE          = local.names.fulfiller
      RECONCILE_JOB              = google_cloud_run_v2_job.reconcile.name
      SCHEDULER_JOB              = google_cloud_scheduler_job.reconcile.name
      PUSH_AUTH                  = var.push_auth
      PUSH_SERVICE_ACCOUNT       = google_service_account.push.email
      STRIPE_REQUESTS_PER_SECOND = local.stripe_requests_per_instance
      STRIPE_API_KEY             = local.secret_ref["stripe_api_key"]
      STRIPE_WEBHOOK_SECRET      = local.secret_ref["stripe_webhook_secret"]
      SENDGRID_API_KEY           = local.secret_ref["sendgrid_api_key"]
      EMAIL_FROM                 = var.email_from
      FULFILMENT_EMAIL_TO        = join(",", var.fulfilment_email_to)
      FULFIL_TRIALS              = tostring(var.fulfil_trials)
    },
    length(var.fulfilment_product_ids) > 0 ? { FULFILMENT_PRODUCT_IDS = join(",", var.fulfilment_product_ids) } : {},
    var.fulfilment_opt_in_field != "" ? { FULFILMENT_OPT_IN_FIELD = var.fulfilment_opt_in_field } : {},
    contains(keys(var.secret_versions), "order_email_hash_key") ? { ORDER_EMAIL_HASH_KEY = local.secret_ref["order_email_hash_key"] } : {},
  )
}

output "cli_env" {
  description = "The operator CLI's environment for this deployment, as KEY=value lines: set -a; . <(terraform output -raw cli_env); set +a; npm run cli -- doctor"
  value       = join("\n", [for k, v in local.cli_env : "${k}=${v}"])
}

output "stripe_requests_per_second_per_instance" {
  description = "Each fulfiller instance's (and the scheduled reconcile's) share of stripe_requests_per_second: set it as STRIPE_REQUESTS_PER_SECOND for the operator CLI and `doctor`."
  value       = local.stripe_requests_per_instance
}

output "deploy_targets" {
  description = "REGION:SERVICE for every service a deploy tags and promotes (scripts/deploy-revisions.sh, cloudbuild.yaml)."
  value       = join(" ", [for k, v in google_cloud_run_v2_service.service : "${v.location}:${v.name}"])
}
