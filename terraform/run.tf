locals {
  # Pinned versions (var.secret_versions), never `latest`: a version added out of band
  # reaches no instance until a deploy bumps the number and its checks pass.
  secret_ref = { for k, v in google_secret_manager_secret.secrets : k => "sm://${v.id}/versions/${lookup(var.secret_versions, k, "unset")}" }
  # What each running service reads: both need their secrets' versions named before they exist.
  required_secrets = concat(
    ["stripe_webhook_secret", "stripe_api_key", "sendgrid_api_key"],
    var.sendgrid_event_webhook ? ["sendgrid_webhook_key"] : [],
  )
  secrets_pinned = alltrue([for k in local.required_secrets : contains(keys(var.secret_versions), k)])
  # Dispatch links (DESIGN 5b) are on once a version of their key is named.
  dispatch_links = contains(keys(var.secret_versions), "dispatch_link_secret")

  # DESIGN 8: the receiver in every region of receiver_regions (var.region first); each
  # extra region is one more service of the same shape behind the load balancer.
  receiver_regions       = distinct(concat([var.region], var.receiver_regions))
  extra_receiver_regions = [for r in local.receiver_regions : r if r != var.region]
  # With a domain, the receiver takes traffic only from the load balancer (and Google's
  # internal sources), so nobody goes around Cloud Armor through the run.app URL.
  receiver_ingress = var.webhook_domain == "" ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"

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
    local.dispatch_links ? { DISPATCH_LINK_SECRET = local.secret_ref["dispatch_link_secret"] } : {},
  )

  fulfiller_env = merge(
    {
      GOOGLE_CLOUD_PROJECT     = var.project_id
      PUBSUB_DLQ_TOPIC         = google_pubsub_topic.dead_letter.name
      STRIPE_API_KEY           = local.secret_ref["stripe_api_key"]
      SENDGRID_API_KEY         = local.secret_ref["sendgrid_api_key"]
      EMAIL_FROM               = var.email_from
      FULFILMENT_EMAIL_TO      = join(",", var.fulfilment_email_to)
      FULFIL_TRIALS            = tostring(var.fulfil_trials)
      PUSH_AUTH                = var.push_auth
      PUSH_AUDIENCE            = var.push_audience
      PUSH_SERVICE_ACCOUNT     = google_service_account.push.email
      HANDLER_DEADLINE_MS      = tostring(var.handler_deadline_ms)
      ORDER_LEASE_SECONDS      = tostring(var.order_lease_seconds)
      ORDER_PII_RETENTION_DAYS = tostring(var.order_pii_retention_days)
      # DESIGN 5: every Stripe request of an instance waits for a token of its share.
      STRIPE_REQUESTS_PER_SECOND = local.stripe_requests_per_instance
      LOG_LEVEL                  = var.log_level
    },
    length(var.fulfilment_product_ids) > 0 ? { FULFILMENT_PRODUCT_IDS = join(",", var.fulfilment_product_ids) } : {},
    var.fulfilment_opt_in_field != "" ? { FULFILMENT_OPT_IN_FIELD = var.fulfilment_opt_in_field } : {},
    var.sendgrid_template_id != "" ? { SENDGRID_TEMPLATE_ID = var.sendgrid_template_id } : {},
    # The email's look-up hash, once its key has a version (DESIGN 5c).
    contains(keys(var.secret_versions), "order_email_hash_key") ? { ORDER_EMAIL_HASH_KEY = local.secret_ref["order_email_hash_key"] } : {},
    # The links point at the public base URL: the webhook domain, or the receiver's run.app URL.
    local.dispatch_links ? {
      DISPATCH_LINK_SECRET = local.secret_ref["dispatch_link_secret"]
      DISPATCH_BASE_URL    = local.public_base_url
      DISPATCH_SLA_HOURS   = tostring(var.dispatch_sla_hours)
    } : {},
  )

  receiver_service = {
    name             = local.names.receiver
    service_account  = google_service_account.receiver.email
    ingress          = local.receiver_ingress
    custom_audiences = []
    sizing           = var.receiver
    env              = local.receiver_env
    # Public: Stripe cannot authenticate. invoker_iam_disabled instead of an allUsers grant,
    # which organisations with domain-restricted sharing refuse (Cloud Run's docs).
    invoker_iam_disabled = true
  }

  services = merge(
    {
      receiver = merge(local.receiver_service, { location = var.region })
      fulfiller = {
        name            = local.names.fulfiller
        location        = var.region
        service_account = google_service_account.fulfiller.email
        ingress         = var.fulfiller_ingress
        # The push token's audience: a fixed string (the service URL is not known before creation).
        custom_audiences = [var.push_audience]
        sizing           = var.fulfiller
        env              = local.fulfiller_env
        # PUSH_AUTH=oidc verifies the token in the app: Cloud Run's own check must be off, or it
        # forwards the token with its signature stripped and verifyIdToken refuses every push.
        invoker_iam_disabled = var.push_auth == "oidc"
      }
    },
    { for r in local.extra_receiver_regions : "receiver-${r}" => merge(local.receiver_service, { location = r }) },
  )
}

# Grants reach every Google front end within 2 to 7 minutes (Google's IAM docs): a revision
# started at once can fail to read its secrets, and a failed first revision leaves a
# half-created service that the next apply meets as a 409. Only a changed grant waits.
resource "time_sleep" "grants_propagate" {
  create_duration = "${var.iam_propagation_seconds}s"
  triggers = {
    receiver_secrets  = google_secret_manager_secret_iam_member.receiver_reads_webhook_secret.etag
    fulfiller_secrets = join(",", [for g in google_secret_manager_secret_iam_member.fulfiller_reads_secrets : g.etag])
    firestore         = google_project_iam_member.fulfiller_firestore.etag
  }
}

# Both services run the same image; the command picks which.
resource "google_cloud_run_v2_service" "service" {
  for_each             = local.services
  project              = var.project_id
  name                 = each.value.name
  location             = each.value.location
  ingress              = each.value.ingress
  custom_audiences     = each.value.custom_audiences
  deletion_protection  = var.deletion_protection
  labels               = local.labels
  invoker_iam_disabled = each.value.invoker_iam_disabled

  # Created serving its first revision. After that, a deploy moves traffic itself
  # (cloudbuild.yaml): each apply makes a revision with no traffic, tagged `candidate`,
  # `doctor --deploy` checks it, and only then does it take 100%.
  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

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
    # The deploy's traffic moves (candidate tag, promotion) are not drift.
    ignore_changes = [traffic]
    precondition {
      condition     = local.secrets_pinned
      error_message = "Add a version to each secret first (docs/deploying.md, the first apply, step 3), then name it in secret_versions: the services read them at start-up."
    }
    precondition {
      condition     = var.image != ""
      error_message = "Set image to the digest to deploy (REPO/IMAGE@sha256:…)."
    }
    precondition {
      condition     = length(local.receiver_regions) == 1 || var.webhook_domain != ""
      error_message = "A receiver in several regions needs webhook_domain: one load balancer in front of them all (Stripe posts to one URL)."
    }
  }

  # Grants first, and given time to propagate: a revision that cannot read its secrets or
  # Firestore fails to start.
  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_iam_member.receiver_reads_webhook_secret,
    google_secret_manager_secret_iam_member.receiver_reads_sendgrid_webhook_key,
    google_secret_manager_secret_iam_member.fulfiller_reads_secrets,
    google_secret_manager_secret_iam_member.services_read_dispatch_secret,
    google_project_iam_member.fulfiller_firestore,
    google_firestore_database.main,
    time_sleep.grants_propagate,
  ]
}
