# Every alert goes to var.notification_channels and says what to do in its documentation.

resource "google_logging_metric" "needs_review" {
  project = var.project_id
  name    = "${var.name_prefix}-orders-needs-review"
  filter  = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\" AND jsonPayload.alert=\"needs_review\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_monitoring_alert_policy" "needs_review" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: an order needs review (email outcome unknown)"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "needs_review log lines"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.needs_review.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "An order email may or may not have gone out. Check SendGrid's activity for the order id, then run `npm run cli -- orders list --status needs_review` and `orders resolve SESSION_ID --sent` or `--resend`."
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: dead-letter subscription is not empty"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "undelivered dead letters > 0"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Events the fulfiller could not process. `npm run cli -- dlq list` shows why; fix the cause, then `dlq replay`."
  }
}

resource "google_monitoring_alert_policy" "push_backlog_age" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: push subscription backlog is old"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "oldest unacked message age"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.push.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.oldest_unacked_age_threshold_seconds
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The fulfiller is not keeping up or keeps failing (503). Check its logs and Stripe/SendGrid status."
  }
}

resource "google_monitoring_alert_policy" "receiver_5xx" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: receiver answers 5xx (events not reaching Pub/Sub)"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "receiver 5xx"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.service["receiver"].name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Stripe is being told to retry. Check Pub/Sub availability and the receiver's publisher permissions. After a long outage, run `npm run cli -- reconcile --since <outage start>`."
  }
}

resource "google_monitoring_alert_policy" "receiver_400_burst" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: burst of receiver 400s (wrong or rotated webhook secret?)"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "receiver 400s in 5 minutes"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.service["receiver"].name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code = \"400\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.receiver_400_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Signatures are failing. If the webhook secret was rolled in Stripe, add the new whsec_ to the secret (comma-separated beside the old one) and redeploy."
  }
}

resource "google_monitoring_alert_policy" "fulfiller_5xx" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: fulfiller 5xx rate"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "fulfiller 5xx in 10 minutes"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.service["fulfiller"].name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.fulfiller_5xx_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The fulfiller keeps refusing deliveries (Stripe, SendGrid or Firestore trouble). Pub/Sub retries, then dead-letters."
  }
}

# A log-match condition needs no log-based metric, so it can be created in the same apply
# as everything else (an alert on a new metric is refused for minutes after the metric).
resource "google_monitoring_alert_policy" "email_undelivered" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: an order email was not delivered (bounce or drop)"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "email_undelivered log lines"
    condition_matched_log {
      filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\" AND jsonPayload.alert=\"email_undelivered\""
      label_extractors = {
        session_id = "EXTRACT(jsonPayload.session_id)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The warehouse did not get an order email (SendGrid bounced or dropped it): a paid order will not ship. `npm run cli -- orders list --undelivered` lists them and `orders show SESSION_ID` shows SendGrid's reason. Fix the recipient address (FULFILMENT_EMAIL_TO) or remove the suppression in SendGrid, then `npm run cli -- orders resend SESSION_ID --undelivered`."
  }
}
