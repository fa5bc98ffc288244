locals {
  secret_ref = { for k, v in google_secret_manager_secret.secrets : k => "sm://${v.id}/versions/latest" }

  # Each instance's share of the account's Stripe budget: with every instance running, the
  # sum is the budget (the config accepts at most six decimals).
  stripe_requests_per_instance = format("%.3f", var.stripe_requests_per_second / var.fulfiller.max_instances)

  # PORT is reserved on Cloud Run and set by it; GOOGLE_CLOUD_PROJECT is not, so it is set here.
  receiver_env = merge(
    {
      GOOGLE_CLOUD_PROJECT  = var.project_id
      PUBSUB_TOPIC          = google_pubsub_topic.events.name
      STRIPE_WEBHOOK_SECRET = local.secret_ref["stripe_webhook_secret"]
      PUBLISH_TIMEOUT_MS    = "4000"
      LOG_LEVEL             = var.log_level
    },
    length(var.stripe_event_types) > 0 ? { STRIPE_EVENT_TYPES = join(",", var.stripe_event_types) } : {},
    # Only once the key has a version: the receiver reads it at start-up.
    var.sendgrid_event_webhook ? { SENDGRID_WEBHOOK_PUBLIC_KEY = local.secret_ref["sendgrid_webhook_key"] } : {},
  )

  fulfiller_env = merge(
    {
      GOOGLE_CLOUD_PROJECT = var.project_id
      PUBSUB_DLQ_TOPIC     = google_pubsub_topic.dead_letter.name
      STRIPE_API_KEY       = local.secret_ref["stripe_api_key"]
      SENDGRID_API_KEY     = local.secret_ref["sendgrid_api_key"]
      EMAIL_FROM           = var.email_from
      FULFILMENT_EMAIL_TO  = join(",", var.fulfilment_email_to)
      FULFIL_TRIALS        = tostring(var.fulfil_trials)
      PUSH_AUTH            = var.push_auth
      PUSH_AUDIENCE        = var.push_audience
      PUSH_SERVICE_ACCOUNT = google_service_account.push.email
      HANDLER_DEADLINE_MS  = tostring(var.handler_deadline_ms)
      ORDER_LEASE_SECONDS  = tostring(var.order_lease_seconds)
      # DESIGN 5: every Stripe request of an instance waits for a token of its share.
      STRIPE_REQUESTS_PER_SECOND = local.stripe_requests_per_instance
      LOG_LEVEL                  = var.log_level
    },
    length(var.fulfilment_product_ids) > 0 ? { FULFILMENT_PRODUCT_IDS = join(",", var.fulfilment_product_ids) } : {},
    var.fulfilment_opt_in_field != "" ? { FULFILMENT_OPT_IN_FIELD = var.fulfilment_opt_in_field } : {},
    var.sendgrid_template_id != "" ? { SENDGRID_TEMPLATE_ID = var.sendgrid_template_id } : {},
  )

  services = {
    receiver = {
      name             = local.names.receiver
      service_account  = google_service_account.receiver.email
      ingress          = "INGRESS_TRAFFIC_ALL"
      custom_audiences = []
      sizing           = var.receiver
      env              = local.receiver_env
    }
    fulfiller = {
      name            = local.names.fulfiller
      service_account = google_service_account.fulfiller.email
      ingress         = var.fulfiller_ingress
      # The push token's audience: a fixed string (the service URL is not known before creation).
      custom_audiences = [var.push_audience]
      sizing           = var.fulfiller
      env              = local.fulfiller_env
    }
  }
}

# Grants reach every Google front end within seconds to minutes: a revision started at
# once can fail to read its secrets, and a failed first revision leaves a half-created
# service that the next apply meets as a 409.
resource "time_sleep" "grants_propagate" {
  create_duration = "60s"
  triggers = {
    receiver_secrets  = google_secret_manager_secret_iam_member.receiver_reads_webhook_secret.etag
    fulfiller_secrets = join(",", [for g in google_secret_manager_secret_iam_member.fulfiller_reads_secrets : g.etag])
    firestore         = google_project_iam_member.fulfiller_firestore.etag
  }
}

# Both services run the same image; the command picks which.
resource "google_cloud_run_v2_service" "service" {
  for_each            = local.services
  project             = var.project_id
  name                = each.value.name
  location            = var.region
  ingress             = each.value.ingress
  custom_audiences    = each.value.custom_audiences
  deletion_protection = var.deletion_protection
  labels              = local.labels
  # PUSH_AUTH=oidc verifies the token in the app: Cloud Run's own check must be off, or it
  # forwards the token with its signature stripped and verifyIdToken refuses every push.
  invoker_iam_disabled = each.key == "fulfiller" && var.push_auth == "oidc"

  template {
    service_account                  = each.value.service_account
    timeout                          = "${each.value.sizing.timeout_seconds}s"
    max_instance_request_concurrency = each.value.sizing.concurrency
    execution_environment            = each.value.sizing.execution_environment
    labels                           = local.labels

    scaling {
      min_instance_count = each.value.sizing.min_instances
      max_instance_count = each.value.sizing.max_instances
    }

    containers {
      image   = var.image
      command = ["node"]
      args    = ["dist/services/${each.key}/main.js"]

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = each.value.sizing.cpu
          memory = each.value.sizing.memory
        }
        startup_cpu_boost = true
        # true: CPU only while a request is served (billed per request); false: always-on CPU,
        # billed per instance-second, for min instances kept warm on purpose.
        cpu_idle = each.value.sizing.cpu_idle
      }

      dynamic "env" {
        for_each = each.value.env
        content {
          name  = env.key
          value = env.value
        }
      }

      startup_probe {
        http_get {
          path = "/ready"
        }
        period_seconds    = 1
        timeout_seconds   = 1
        failure_threshold = 30
      }

      liveness_probe {
        http_get {
          path = "/health"
        }
        period_seconds    = 15
        timeout_seconds   = 3
        failure_threshold = 3
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.secret_versions_added
      error_message = "Add a version to each secret first (terraform/README.md, first apply, step 3), then set secret_versions_added = true: the services read them at start-up."
    }
  }

  # Grants first, and given time to propagate: a revision that cannot read its secrets or
  # Firestore fails to start.
  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_iam_member.receiver_reads_webhook_secret,
    google_secret_manager_secret_iam_member.receiver_reads_sendgrid_webhook_key,
    google_secret_manager_secret_iam_member.fulfiller_reads_secrets,
    google_project_iam_member.fulfiller_firestore,
    google_firestore_database.main,
    time_sleep.grants_propagate,
  ]
}
