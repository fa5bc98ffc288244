# Secret containers only: values are added out of band (`gcloud secrets versions add`),
# never in Terraform state. The services read them at start-up through sm:// references.
locals {
  secrets = {
    stripe_webhook_secret = "${var.name_prefix}-webhook-secret"
    stripe_api_key        = "${var.name_prefix}-api-key"
    sendgrid_api_key      = "${var.name_prefix}-sendgrid-api-key"
  }
}

resource "google_secret_manager_secret" "secrets" {
  for_each  = local.secrets
  project   = var.project_id
  secret_id = each.value

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
