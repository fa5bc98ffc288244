# Secret containers only: values are added out of band (`gcloud secrets versions add`),
# never in Terraform state. The services read them at start-up through sm:// references
# pinned to a version, so every secret a service reads needs a version before that service
# is created: the first apply is two steps (docs/deploying.md), and `secret_versions`
# names the versions (the services refuse to plan until it names theirs).
locals {
  secrets = {
    stripe_webhook_secret = "${var.name_prefix}-webhook-secret"
    stripe_api_key        = "${var.name_prefix}-api-key"
    sendgrid_api_key      = "${var.name_prefix}-sendgrid-api-key"
    # The Event Webhook's ECDSA verification key (public, but kept beside the others so it
    # is rotated the same way); read by the receiver once var.sendgrid_event_webhook is on.
    sendgrid_webhook_key = "${var.name_prefix}-sendgrid-webhook-key"
    # The dispatch links' HMAC key (DESIGN 5b): the fulfiller signs with it, the receiver
    # checks with it. Links are on once secret_versions names a version of it.
    dispatch_link_secret = "${var.name_prefix}-dispatch-link-secret"
    # The key of the customer email's look-up hash (DESIGN 5c): the database keeps no
    # reversible address, and `orders redact --email` finds a customer's orders with it.
    order_email_hash_key = "${var.name_prefix}-order-email-hash-key"
  }
}

resource "google_secret_manager_secret" "secrets" {
  for_each  = local.secrets
  project   = var.project_id
  secret_id = each.value
  labels    = local.labels
  # A destroy (or a rename) would delete every version: the services would not start again.
  deletion_protection = var.deletion_protection

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "receiver_reads_webhook_secret" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets["stripe_webhook_secret"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.receiver.member
}

resource "google_secret_manager_secret_iam_member" "fulfiller_reads_secrets" {
  for_each  = toset(["stripe_api_key", "sendgrid_api_key"])
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets[each.value].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.fulfiller.member
}

resource "google_secret_manager_secret_iam_member" "receiver_reads_sendgrid_webhook_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets["sendgrid_webhook_key"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.receiver.member
}

resource "google_secret_manager_secret_iam_member" "services_read_dispatch_secret" {
  for_each = {
    receiver  = google_service_account.receiver.member
    fulfiller = google_service_account.fulfiller.member
  }
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets["dispatch_link_secret"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value
}

resource "google_secret_manager_secret_iam_member" "fulfiller_reads_email_hash_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets["order_email_hash_key"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.fulfiller.member
}

# `orders redact --email` hashes the address with the same key.
resource "google_secret_manager_secret_iam_member" "operators_read_email_hash_key" {
  for_each  = toset(local.cli_members)
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets["order_email_hash_key"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value
}
