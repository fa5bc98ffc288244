# One identity per service, and one that Pub/Sub uses to sign push tokens.
resource "google_service_account" "receiver" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-receiver"
  display_name = "Stripe webhook receiver"
}

resource "google_service_account" "fulfiller" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-fulfiller"
  display_name = "Stripe order fulfiller"
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "Pub/Sub push identity for the fulfiller"
}

# Receiver: publish to the main topic only.
resource "google_pubsub_topic_iam_member" "receiver_publishes_events" {
  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.receiver.member
}

# Fulfiller: publish permanent failures to the dead-letter topic.
resource "google_pubsub_topic_iam_member" "fulfiller_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.fulfiller.member
}

# Fulfiller: read and write orders. Firestore offers no database- or collection-level
# IAM role, so this one grant is at the project (IAM conditions on the database name
# would narrow it where other databases exist).
resource "google_project_iam_member" "fulfiller_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.fulfiller.member
}

# Both services export their spans to Cloud Trace (DESIGN section 11). Project-level:
# Cloud Trace has no narrower resource.
resource "google_project_iam_member" "services_write_traces" {
  for_each = {
    receiver  = google_service_account.receiver.member
    fulfiller = google_service_account.fulfiller.member
  }
  project = var.project_id
  role    = "roles/cloudtrace.agent"
  member  = each.value
}

# Only the push identity may invoke the private fulfiller.
resource "google_cloud_run_v2_service_iam_member" "push_invokes_fulfiller" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.service["fulfiller"].name
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}

# The receiver is Stripe's public endpoint, made public by invoker_iam_disabled (run.tf),
# not by an allUsers grant: organisations with domain-restricted sharing refuse allUsers.
# The signature is the gate, and with a webhook domain Cloud Armor before it.

# Pub/Sub's service agent forwards failed messages itself: without these two grants
# dead-lettering fails silently.
resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "agent_subscribes_push" {
  project      = var.project_id
  subscription = google_pubsub_subscription.push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent

  # A replaced subscription starts with no policy: grant again in the same apply, or
  # nothing is dead-lettered until some later apply notices.
  lifecycle {
    replace_triggered_by = [google_pubsub_subscription.push]
  }
}

# The deployer (Cloud Build's service account) deploys revisions and the job that run as
# these identities, and the subscription that signs tokens as the push identity: it may
# act as those accounts only, not as every account in the project.
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = {
    receiver   = google_service_account.receiver.name
    fulfiller  = google_service_account.fulfiller.name
    push       = google_service_account.push.name
    reconciler = google_service_account.reconciler.name
    # The scheduler job runs as its own account: creating or updating it is an act-as too.
    scheduler = google_service_account.scheduler.name
  }
  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = local.deployer_member
}

# Operators who run the CLI (`var.operators`), and the deployer, which runs `doctor` after
# each deploy: what its commands need, and no more (doctor's reads: deployer.tf).
locals {
  cli_members = distinct(concat(var.operators, [local.deployer_member]))
  operator_grants = {
    for pair in setproduct(local.cli_members, ["stripe_api_key", "sendgrid_api_key", "stripe_webhook_secret"]) :
    "${pair[0]} ${pair[1]}" => { member = pair[0], secret = pair[1] }
  }
}

# dlq list/show/replay/purge pull from the dead-letter subscription.
resource "google_pubsub_subscription_iam_member" "operators_read_dead_letters" {
  for_each     = toset(local.cli_members)
  project      = var.project_id
  subscription = google_pubsub_subscription.dead_letter.name
  role         = "roles/pubsub.subscriber"
  member       = each.value
}

# doctor reads the push subscription's configuration (endpoint, audience, dead-letter policy).
resource "google_pubsub_subscription_iam_member" "operators_view_push" {
  for_each     = toset(local.cli_members)
  project      = var.project_id
  subscription = google_pubsub_subscription.push.name
  role         = "roles/pubsub.viewer"
  member       = each.value
}

# dlq replay and reconcile republish to the main topic.
resource "google_pubsub_topic_iam_member" "operators_publish_events" {
  for_each = toset(local.cli_members)
  project  = var.project_id
  topic    = google_pubsub_topic.events.name
  role     = "roles/pubsub.publisher"
  member   = each.value
}

# orders list/show/retry/resolve/resend read and write orders (no narrower Firestore role exists).
resource "google_project_iam_member" "operators_firestore" {
  for_each = toset(local.cli_members)
  project  = var.project_id
  role     = "roles/datastore.user"
  member   = each.value
}

# The secrets the CLI reads: the Stripe key (reconcile, retry, resolve), SendGrid's (resend),
# the webhook secret (send-test-event, doctor).
resource "google_secret_manager_secret_iam_member" "operators_read_secrets" {
  for_each  = local.operator_grants
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value.member
}

# Projects whose Pub/Sub agent predates April 2021 need this to mint push tokens.
resource "google_service_account_iam_member" "agent_signs_push_tokens" {
  count              = var.pubsub_agent_predates_2021 ? 1 : 0
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}
