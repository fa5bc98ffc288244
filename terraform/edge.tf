# The edge in front of the receiver when webhook_domain is set (DESIGN 8): one global
# external Application Load Balancer with a Google-managed certificate, a serverless NEG
# per receiver region (Stripe reaches the nearest healthy one), and Cloud Armor on the
# backend. The receiver's ingress is then internal-and-load-balancer only (run.tf), so the
# run.app URL no longer goes around Cloud Armor.
#
# Without a domain nothing here exists and the single-region run.app receiver is as before.

locals {
  edge = var.webhook_domain != ""
  # The paths Stripe posts to (receiver/app.ts WEBHOOK_PATHS): only Stripe's addresses may.
  stripe_paths = ["/webhooks/stripe", "/webhook_succesful_payment"]
  # A basic match takes at most 10 ranges: one allow rule per ten of Stripe's addresses.
  stripe_ip_ranges = [for ip in var.stripe_webhook_ips : strcontains(ip, "/") ? ip : "${ip}/32"]
  stripe_ip_chunks = { for i, chunk in chunklist(local.stripe_ip_ranges, 10) : tostring(i) => chunk }
}

resource "terraform_data" "edge_check" {
  count = local.edge ? 1 : 0
  input = length(var.stripe_webhook_ips)
  lifecycle {
    precondition {
      condition     = length(var.stripe_webhook_ips) > 0
      error_message = "With webhook_domain set, Cloud Armor admits only stripe_webhook_ips on the Stripe paths: run `node scripts/stripe-webhook-ips.mjs` first (it writes terraform/stripe_webhook_ips.auto.tfvars.json), or every webhook is refused."
    }
  }
}

resource "google_compute_region_network_endpoint_group" "receiver" {
  for_each              = local.edge ? toset(local.receiver_regions) : toset([])
  project               = var.project_id
  name                  = "${var.name_prefix}-receiver-${each.key}"
  region                = each.key
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    # The same service name in every region (run.tf).
    service = local.names.receiver
  }

  depends_on = [google_cloud_run_v2_service.service]
}

resource "google_compute_security_policy" "receiver" {
  count       = local.edge ? 1 : 0
  project     = var.project_id
  name        = "${var.name_prefix}-receiver"
  description = "Stripe's webhook paths admit Stripe's published addresses only; SendGrid's and the warehouse's paths are left to their signatures."
  type        = "CLOUD_ARMOR"

  dynamic "rule" {
    for_each = local.stripe_ip_chunks
    content {
      priority    = 1000 + tonumber(rule.key)
      action      = "allow"
      description = "Stripe's webhook addresses (var.stripe_webhook_ips), part ${rule.key}"
      match {
        versioned_expr = "SRC_IPS_V1"
        config {
          src_ip_ranges = rule.value
        }
      }
    }
  }

  rule {
    priority    = 2000
    action      = "deny(403)"
    description = "The Stripe paths from any other address"
    match {
      expr {
        expression = join(" || ", [for p in local.stripe_paths : "request.path == '${p}'"])
      }
    }
  }

  rule {
    priority    = 2147483647
    action      = "allow"
    description = "Everything else: /webhooks/sendgrid and /dispatch verify their own signatures"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }

  depends_on = [google_project_service.apis, terraform_data.edge_check]
}

resource "google_compute_backend_service" "receiver" {
  count       = local.edge ? 1 : 0
  project     = var.project_id
  name        = "${var.name_prefix}-receiver"
  description = "The receiver in every receiver_regions region."
  # As Google's serverless NEG examples set it: the load balancer reaches Cloud Run over
  # Google's own HTTPS whatever this says, and a serverless backend takes no timeout_sec.
  protocol              = "HTTP"
  port_name             = "http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.receiver[0].id

  dynamic "backend" {
    for_each = google_compute_region_network_endpoint_group.receiver
    content {
      group = backend.value.id
    }
  }

  log_config {
    enable      = true
    sample_rate = 1
  }
}

resource "google_compute_url_map" "webhooks" {
  count           = local.edge ? 1 : 0
  project         = var.project_id
  name            = "${var.name_prefix}-webhooks"
  description     = "Every path to the receiver; Cloud Armor decides per path."
  default_service = google_compute_backend_service.receiver[0].id
}

resource "google_compute_managed_ssl_certificate" "webhooks" {
  count   = local.edge ? 1 : 0
  project = var.project_id
  name    = "${var.name_prefix}-webhooks"

  managed {
    domains = [var.webhook_domain]
  }

  depends_on = [google_project_service.apis]
}

resource "google_compute_target_https_proxy" "webhooks" {
  count            = local.edge ? 1 : 0
  project          = var.project_id
  name             = "${var.name_prefix}-webhooks"
  url_map          = google_compute_url_map.webhooks[0].id
  ssl_certificates = [google_compute_managed_ssl_certificate.webhooks[0].id]
}

resource "google_compute_global_address" "webhooks" {
  count   = local.edge ? 1 : 0
  project = var.project_id
  name    = "${var.name_prefix}-webhooks"
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_compute_global_forwarding_rule" "webhooks" {
  count                 = local.edge ? 1 : 0
  project               = var.project_id
  name                  = "${var.name_prefix}-webhooks"
  target                = google_compute_target_https_proxy.webhooks[0].id
  ip_address            = google_compute_global_address.webhooks[0].id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  labels                = local.labels
}
