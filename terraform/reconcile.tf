# `reconcile` on a schedule: a Cloud Run job running the operator CLI, hourly over the last
# days (longer than any outage Stripe's own retries cover), republishing what the pipeline
# has yet to act on. Idempotent: the fulfiller dedupes on the order.

resource "google_service_account" "reconciler" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-reconciler"
  display_name = "Scheduled Stripe reconcile"
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "Starts the reconcile job"
}

# It reads orders, republishes to the main topic, and reads the Stripe key.
resource "google_project_iam_member" "reconciler_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.reconciler.member
}

resource "google_pubsub_topic_iam_member" "reconciler_publishes_events" {
  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.reconciler.member
}

resource "google_secret_manager_secret_iam_member" "reconciler_reads_stripe_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets["stripe_api_key"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.reconciler.member
}

resource "google_cloud_run_v2_job" "reconcile" {
  project             = var.project_id
  name                = "${var.name_prefix}-reconcile"
  location            = var.region
  deletion_protection = var.deletion_protection
  labels              = local.labels

  template {
    labels = local.labels
    template {
      service_account = google_service_account.reconciler.email
      timeout         = "1800s"
      max_retries     = 1

      containers {
        image   = var.image
        command = ["node"]
        args    = ["dist/services/cli/main.js", "reconcile", "--since", var.reconcile_window]

        env {
          name  = "GOOGLE_CLOUD_PROJECT"
          value = var.project_id
        }
        env {
          name  = "PUBSUB_TOPIC"
          value = google_pubsub_topic.events.name
        }
        env {
          name  = "STRIPE_API_KEY"
          value = local.secret_ref["stripe_api_key"]
        }
        env {
          name  = "STRIPE_REQUESTS_PER_SECOND"
          value = local.stripe_requests_per_instance
        }
        env {
          name  = "DISPATCH_SLA_HOURS"
          value = tostring(var.dispatch_sla_hours)
        }

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = contains(keys(var.secret_versions), "stripe_api_key") && var.image != ""
      error_message = "Name the Stripe key's version in secret_versions (docs/deploying.md) and set image to a digest."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_iam_member.reconciler_reads_stripe_key,
    google_project_iam_member.reconciler_firestore,
  ]
}

# Only the scheduler's identity (and operators, by hand) may start it.
resource "google_cloud_run_v2_job_iam_member" "scheduler_runs_reconcile" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.reconcile.name
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler.member
}

resource "google_cloud_run_v2_job_iam_member" "operators_run_reconcile" {
  for_each = toset(local.cli_members)
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.reconcile.name
  role     = "roles/run.invoker"
  member   = each.value
}

resource "google_cloud_scheduler_job" "reconcile" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-reconcile"
  description = "Runs the reconcile job: republishes Stripe events the pipeline has yet to act on."
  schedule    = var.reconcile_schedule
  time_zone   = "Etc/UTC"

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.reconcile.name}:run"
    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_project_service.apis, google_cloud_run_v2_job_iam_member.scheduler_runs_reconcile]
}
