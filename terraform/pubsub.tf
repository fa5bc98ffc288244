resource "google_pubsub_topic" "events" {
  project = var.project_id
  name    = local.names.topic
  # Retained messages make `gcloud pubsub subscriptions seek` replay possible.
  message_retention_duration = "604800s"
  labels                     = local.labels
  # Messages are stored only in the regions the pipeline runs in (var.region and the
  # receiver's): data placement, and no cross-region read on the push path.
  message_storage_policy {
    allowed_persistence_regions = local.receiver_regions
  }
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  project                    = var.project_id
  name                       = local.names.dead_letter_topic
  message_retention_duration = "2678400s"
  labels                     = local.labels
  message_storage_policy {
    allowed_persistence_regions = local.receiver_regions
  }
  depends_on = [google_project_service.apis]
}

# Read by the operator CLI (dlq list/show/replay/purge). 31 days: longer than
# Stripe keeps events (30), so nothing ages out of here before it can be reconciled.
resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = local.names.dead_letter_sub
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "2678400s"
  retain_acked_messages      = false
  labels                     = local.labels

  expiration_policy {
    ttl = "" # never expires
  }

  # Renaming or replacing it would drop up to 31 days of dead letters.
  lifecycle {
    prevent_destroy = true
  }
}

# No filter, on purpose: a filter cannot be changed without replacing the subscription
# and losing its backlog. The fulfiller acknowledges what it does not handle.
resource "google_pubsub_subscription" "push" {
  project                    = var.project_id
  name                       = local.names.push_sub
  topic                      = google_pubsub_topic.events.id
  ack_deadline_seconds       = var.push_ack_deadline_seconds
  message_retention_duration = "604800s"
  labels                     = local.labels

  push_config {
    push_endpoint = "${google_cloud_run_v2_service.service["fulfiller"].uri}/pubsub/push"
    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = var.push_audience
    }
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  # Its backlog is the orders not yet fulfilled: a rename or a replacement would lose them.
  lifecycle {
    prevent_destroy = true
  }

  depends_on = [terraform_data.timing_check]
}
