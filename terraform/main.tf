data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # The Stripe API version the code is written and tested against (stripe-node's pinned
  # version; a unit test keeps the two equal). Register the webhook endpoint with it.
  stripe_api_version = "2026-10-28.endive"

  # The agent's address, from the identity Terraform makes sure exists (below), so that no
  # grant to it can run before Google has created it.
  pubsub_service_agent = "serviceAccount:${google_project_service_identity.pubsub.email}"

  names = {
    receiver          = "${var.name_prefix}-receiver"
    fulfiller         = "${var.name_prefix}-fulfiller"
    topic             = "${var.name_prefix}-events"
    dead_letter_topic = "${var.name_prefix}-events-dlq"
    dead_letter_sub   = "${var.name_prefix}-events-dlq-sub"
    push_sub          = "${var.name_prefix}-events-push"
  }

  # Checked here because a variable's validation cannot read other variables in Terraform < 1.9.
  timing_is_consistent = (
    var.handler_deadline_ms < var.push_ack_deadline_seconds * 1000 &&
    var.push_ack_deadline_seconds < var.order_lease_seconds
  )

  # Every resource carries these (plus var.labels): cost reports and inventories find them.
  labels = merge({ app = "stripe-fulfilment", managed-by = "terraform", name-prefix = var.name_prefix }, var.labels)

  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    # data.google_project and project-level IAM call it; a fresh Cloud Build account hits it first.
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtrace.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "serviceusage.googleapis.com",
  ])
  # The load balancer and Cloud Armor in front of the receiver, only with a webhook domain.
  lb_apis = var.webhook_domain == "" ? toset([]) : toset(["compute.googleapis.com"])
}

resource "terraform_data" "timing_check" {
  input = local.timing_is_consistent
  lifecycle {
    precondition {
      condition     = local.timing_is_consistent
      error_message = "Need handler_deadline_ms < push_ack_deadline_seconds * 1000 < order_lease_seconds * 1000, or a redelivery could overlap a live attempt."
    }
  }
}

resource "google_project_service" "apis" {
  for_each           = setunion(local.apis, local.lb_apis)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# Google creates a service's agent lazily, seconds to minutes after the API is enabled, and a
# grant to an agent that does not exist yet fails ("Service account ... does not exist":
# terraform-google-modules bigquery #252, project-factory #997, cluster-toolkit #6293). This
# creates the Pub/Sub agent (or returns it), and every grant to it reads its email from here.
resource "google_project_service_identity" "pubsub" {
  provider   = google-beta
  project    = var.project_id
  service    = "pubsub.googleapis.com"
  depends_on = [google_project_service.apis]
}

resource "google_artifact_registry_repository" "images" {
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name_prefix}-fulfilment"
  format        = "DOCKER"
  description   = "Images of the Stripe fulfilment services."
  labels        = local.labels

  # A tag, once pushed, always names the same image: deploys go by digest, and a rollback
  # to an older tag is the image that was tested under it.
  docker_config {
    immutable_tags = true
  }

  # Every build pushes an image: keep the recent ones (rollbacks), delete the rest after a month.
  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.images_to_keep
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.apis]
}
