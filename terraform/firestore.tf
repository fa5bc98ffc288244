resource "google_firestore_database" "main" {
  project                 = var.project_id
  name                    = "(default)"
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  # Orders are the dedupe record: 7 days of point-in-time reads, and a daily backup below.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  deletion_policy                   = "ABANDON"
  depends_on                        = [google_project_service.apis]
}

# The customer's details, kept apart from the order (DESIGN 5c), expire
# ORDER_PII_RETENTION_DAYS after the order's last change: a TTL on the `private`
# collection group (orders/{id}/private/customer). The order itself never expires.
resource "google_firestore_field" "customer_details_ttl" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "private"
  field      = "expire_at"

  ttl_config {}

  index_config {}
}

# The delivery ledger expires; orders never do (they are the dedupe key).
resource "google_firestore_field" "stripe_events_ttl" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "stripe_events"
  field      = "expire_at"

  ttl_config {}

  # No index on the TTL timestamp: it is never queried.
  index_config {}
}

# `orders list --status S` (newest first) queries status == S ordered by updated_at.
resource "google_firestore_index" "orders_by_status" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "orders"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }

  fields {
    field_path = "updated_at"
    order      = "DESCENDING"
  }
}

# `orders list --undelivered` (newest first): the order email's delivery state in
# (bounce, dropped), ordered by updated_at.
resource "google_firestore_index" "orders_by_delivery_state" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "orders"

  fields {
    field_path = "email.delivery.state"
    order      = "ASCENDING"
  }

  fields {
    field_path = "updated_at"
    order      = "DESCENDING"
  }
}

# The same for stop-shipment notices: a bounced notice is listed by `orders list --undelivered`.
resource "google_firestore_index" "orders_by_stop_notice_delivery_state" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "orders"

  fields {
    field_path = "stop_notice.delivery.state"
    order      = "ASCENDING"
  }

  fields {
    field_path = "updated_at"
    order      = "DESCENDING"
  }
}

# A daily backup kept var.firestore_backup_retention_days (restore into a new database).
resource "google_firestore_backup_schedule" "daily" {
  project   = var.project_id
  database  = google_firestore_database.main.name
  retention = "${var.firestore_backup_retention_days * 86400}s"

  daily_recurrence {}
}

# after-sale events find their order by payment_intent_id, subscription_id or invoice_id:
# equality on one top-level field, served by Firestore's automatic single-field indexes.
