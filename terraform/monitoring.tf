# Every alert has a severity, goes to var.notification_channels (at least one is required),
# and says in its documentation which CLI command resolves it.

resource "google_logging_metric" "needs_review" {
  project = var.project_id
  name    = "${var.name_prefix}-orders-needs-review"
  filter  = "((resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\") OR (resource.type=\"cloud_run_job\" AND resource.labels.job_name=\"${google_cloud_run_v2_job.reconcile.name}\")) AND jsonPayload.alert=\"needs_review\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

# A log-match condition: no log-based metric to wait for, so the first apply creates it
# (an alert on a metric created in the same apply is refused for up to 10 minutes).
resource "google_monitoring_alert_policy" "needs_review" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: an order needs review (email outcome unknown)"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "needs_review log lines"
    condition_matched_log {
      filter = "((resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\") OR (resource.type=\"cloud_run_job\" AND resource.labels.job_name=\"${google_cloud_run_v2_job.reconcile.name}\")) AND jsonPayload.alert=\"needs_review\""
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
    content   = "An order email or STOP SHIPMENT notice may or may not have gone out. Check SendGrid's activity for the order id, then run `npm run cli -- orders list --status needs_review` and `orders resolve SESSION_ID --sent` or `--resend`."
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: dead-letter subscription is not empty"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

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
  severity              = "WARNING"
  notification_channels = var.notification_channels
  user_labels           = local.labels

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
    content   = "The fulfiller is not keeping up or keeps failing (503). Check its logs and Stripe/SendGrid status; `npm run cli -- doctor` checks the wiring, the keys and the dead letters."
  }
}

resource "google_monitoring_alert_policy" "receiver_5xx" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: receiver answers 5xx (events not reaching Pub/Sub)"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "receiver 5xx in 5 minutes"
    condition_threshold {
      # One publish timeout is one 503 that Stripe retries: page on a pattern, not a blip.
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.service["receiver"].name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.receiver_5xx_threshold
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
    content   = "Stripe is being told to retry. Check Pub/Sub availability and the receiver's publisher permissions. After a long outage, run `npm run cli -- reconcile --since <outage start>`."
  }
}

resource "google_monitoring_alert_policy" "receiver_400_burst" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: burst of receiver 400s (wrong or rotated webhook secret?)"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = var.notification_channels
  user_labels           = local.labels

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
    content   = "Signatures are failing. If the webhook secret was rolled in Stripe, add the new whsec_ to the secret (comma-separated beside the old one) and redeploy. `npm run cli -- doctor` checks the secret and the endpoint; `npm run cli -- send-test-event --url RECEIVER_URL/webhooks/stripe --no-register` proves the secret end to end."
  }
}

resource "google_monitoring_alert_policy" "fulfiller_5xx" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: fulfiller 5xx rate"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  user_labels           = local.labels

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
    content   = "The fulfiller keeps refusing deliveries (Stripe, SendGrid or Firestore trouble). Pub/Sub retries, then dead-letters: `npm run cli -- dlq list` shows why, `npm run cli -- doctor` checks the keys and the wiring."
  }
}

# A log-match condition needs no log-based metric, so it can be created in the same apply
# as everything else (an alert on a new metric is refused for minutes after the metric).
resource "google_monitoring_alert_policy" "email_undelivered" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: an order email was not delivered (bounce or drop)"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

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

# 401/403 from the fulfiller is Pub/Sub's push refused: PUSH_AUTH, PUSH_AUDIENCE or
# PUSH_SERVICE_ACCOUNT does not match the subscription (every order stops).
resource "google_monitoring_alert_policy" "fulfiller_push_refused" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: fulfiller refuses Pub/Sub's push (401/403: push auth misconfigured)"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "fulfiller 401/403"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.service["fulfiller"].name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code = one_of(\"401\", \"403\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
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
    content   = "Pub/Sub's pushes are refused, so no order is fulfilled. The fulfiller's ERROR lines (`push_auth_misconfigured`) name the cause. Compare PUSH_AUTH, PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT with the subscription: `npm run cli -- doctor`."
  }
}

# The scheduled reconcile found events the pipeline had not acted on: something upstream
# (a webhook, a push, a delivery) lost them, and the job has republished them.
resource "google_monitoring_alert_policy" "reconcile_republished" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: scheduled reconcile republished events"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "reconcile summary with republished > 0"
    condition_matched_log {
      filter = "resource.type=\"cloud_run_job\" AND resource.labels.job_name=\"${google_cloud_run_v2_job.reconcile.name}\" AND textPayload=~\"republished [1-9]\""
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "3600s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Events were lost upstream and have been republished (the orders will be processed). Find out why: Stripe's webhook attempts for the endpoint, `npm run cli -- dlq list`, the receiver's 5xx. `npm run cli -- reconcile --since 3d --dry-run --verbose` lists what it would republish now."
  }
}

# Metrics from the structured lines the services already write (DESIGN section 11): no
# new log lines, only fields on the existing ones. The dashboard (dashboard.json.tftpl)
# shows them beside Pub/Sub's and Cloud Run's own metrics.

resource "google_logging_metric" "events_received" {
  project     = var.project_id
  name        = "${var.name_prefix}-events-received"
  description = "Webhook requests the receiver answered, by source (stripe, sendgrid), event type and outcome (published, rejected, publish_failed, not_allowlisted)."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.receiver}\" AND jsonPayload.httpRequest.requestMethod=\"POST\" AND jsonPayload.outcome:*"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key = "source"
    }
    labels {
      key = "event_type"
    }
    labels {
      key = "outcome"
    }
  }

  label_extractors = {
    source     = "EXTRACT(jsonPayload.source)"
    event_type = "EXTRACT(jsonPayload.event_type)"
    outcome    = "EXTRACT(jsonPayload.outcome)"
  }
}

resource "google_logging_metric" "fulfilment_outcomes" {
  project     = var.project_id
  name        = "${var.name_prefix}-fulfilment-outcomes"
  description = "Push deliveries the fulfiller answered, by outcome (fulfilled, skipped, duplicate, cancelled, stop_notice_sent, busy, transient_failure, dead_lettered, ...) and event type."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\" AND jsonPayload.httpRequest.requestUrl=\"/pubsub/push\" AND jsonPayload.outcome:*"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key = "outcome"
    }
    labels {
      key = "event_type"
    }
  }

  label_extractors = {
    outcome    = "EXTRACT(jsonPayload.outcome)"
    event_type = "EXTRACT(jsonPayload.event_type)"
  }
}

resource "google_logging_metric" "webhook_to_email_latency" {
  project         = var.project_id
  name            = "${var.name_prefix}-webhook-to-email-latency"
  description     = "From the receiver taking the webhook (received_at) to SendGrid accepting the order email."
  filter          = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\" AND jsonPayload.webhook_to_email_ms:*"
  value_extractor = "EXTRACT(jsonPayload.webhook_to_email_ms)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
  }

  # 50 ms to about 3.6 days: async payments settle days later.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 24
      growth_factor      = 2
      scale              = 50
    }
  }
}

resource "google_logging_metric" "dead_letters" {
  project     = var.project_id
  name        = "${var.name_prefix}-dead-letters"
  description = "Messages the fulfiller dead-lettered (each with a reason)."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\" AND jsonPayload.alert=\"dead_lettered\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_logging_metric" "undelivered_emails" {
  project     = var.project_id
  name        = "${var.name_prefix}-undelivered-emails"
  description = "Order emails SendGrid bounced or dropped."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\" AND jsonPayload.alert=\"email_undelivered\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_monitoring_dashboard" "pipeline" {
  project = var.project_id
  dashboard_json = templatefile("${path.module}/dashboard.json.tftpl", {
    title               = "${var.name_prefix}: Stripe fulfilment"
    receiver            = local.names.receiver
    fulfiller           = local.names.fulfiller
    push_subscription   = google_pubsub_subscription.push.name
    dead_letter_sub     = google_pubsub_subscription.dead_letter.name
    events_received     = google_logging_metric.events_received.name
    fulfilment_outcomes = google_logging_metric.fulfilment_outcomes.name
    latency             = google_logging_metric.webhook_to_email_latency.name
    dead_letters        = google_logging_metric.dead_letters.name
    needs_review        = google_logging_metric.needs_review.name
    undelivered         = google_logging_metric.undelivered_emails.name
    dispatches          = google_logging_metric.dispatches.name
    dispatch_overdue    = google_logging_metric.dispatch_overdue.name
  })
}

# The scheduled reconcile itself failed: the job's execution ended in failure (a crash, a
# Stripe key it cannot use, Firestore or Pub/Sub refused), or Cloud Scheduler could not
# start it. Until it runs again, lost events are not caught up.
resource "google_monitoring_alert_policy" "reconcile_failed" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: scheduled reconcile failed"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "reconcile job executions that failed"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_job\" AND resource.labels.job_name = \"${google_cloud_run_v2_job.reconcile.name}\" AND metric.type = \"run.googleapis.com/job/completed_execution_count\" AND metric.labels.result = \"failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The hourly reconcile did not complete, so events lost upstream are not being caught up. Read the execution's logs (`gcloud run jobs executions list --job ${google_cloud_run_v2_job.reconcile.name} --region ${var.region}`, then `gcloud logging read` for it), fix the cause (`npm run cli -- doctor` checks the key, Firestore and Pub/Sub), then run it by hand: `gcloud run jobs execute ${google_cloud_run_v2_job.reconcile.name} --region ${var.region}` or `npm run cli -- reconcile --since 3d`."
  }
}

# The same, one step earlier: Cloud Scheduler could not start the job (its identity lost
# run.invoker, the job was deleted). A log-match condition cannot share a policy.
resource "google_monitoring_alert_policy" "reconcile_not_started" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: scheduled reconcile could not be started"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "Cloud Scheduler errors for the reconcile schedule"
    condition_matched_log {
      filter = "resource.type=\"cloud_scheduler_job\" AND resource.labels.job_id=\"${google_cloud_scheduler_job.reconcile.name}\" AND severity>=ERROR"
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "3600s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Cloud Scheduler could not start the reconcile job, so lost events are not being caught up. `npm run cli -- doctor` checks the schedule and the job; `terraform apply` restores the scheduler's run.invoker grant. Meanwhile run it by hand: `gcloud run jobs execute ${google_cloud_run_v2_job.reconcile.name} --region ${var.region}`."
  }
}

# The warehouse's side (DESIGN 5b): confirmations recorded, and orders past the SLA.
resource "google_logging_metric" "dispatches" {
  project     = var.project_id
  name        = "${var.name_prefix}-dispatches"
  description = "Dispatch confirmations the fulfiller recorded, by outcome (dispatched, dispatch_corrected)."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\" AND (jsonPayload.outcome=\"dispatched\" OR jsonPayload.outcome=\"dispatch_corrected\")"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key        = "outcome"
      value_type = "STRING"
    }
  }
  label_extractors = {
    outcome = "EXTRACT(jsonPayload.outcome)"
  }
}

resource "google_logging_metric" "dispatch_overdue" {
  project     = var.project_id
  name        = "${var.name_prefix}-dispatch-overdue"
  description = "The scheduled reconcile's reminders: orders emailed more than DISPATCH_SLA_HOURS ago with no dispatch confirmed."
  filter      = "resource.type=\"cloud_run_job\" AND resource.labels.job_name=\"${google_cloud_run_v2_job.reconcile.name}\" AND jsonPayload.alert=\"dispatch_overdue\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_monitoring_alert_policy" "dispatch_overdue" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: an order has not been dispatched within the SLA"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "dispatch_overdue reminders from the scheduled reconcile"
    condition_matched_log {
      filter = "resource.type=\"cloud_run_job\" AND resource.labels.job_name=\"${google_cloud_run_v2_job.reconcile.name}\" AND jsonPayload.alert=\"dispatch_overdue\""
      label_extractors = {
        session_id = "EXTRACT(jsonPayload.session_id)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "3600s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The warehouse was emailed this order more than DISPATCH_SLA_HOURS ago and has not confirmed a dispatch through the email's link. `npm run cli -- orders list --undispatched` lists them all; ask the warehouse, and have them record the tracking number from the link (a dispute's evidence needs it)."
  }
}

resource "google_monitoring_alert_policy" "shipped_after_stop" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: dispatched after a STOP SHIPMENT notice"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "shipped_after_stop log lines"
    condition_matched_log {
      filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.names.fulfiller}\" AND jsonPayload.alert=\"shipped_after_stop\""
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
    content   = "The warehouse confirmed a dispatch for an order whose payment was refunded or disputed after the STOP SHIPMENT notice went. `npm run cli -- orders show SESSION_ID` has the carrier and tracking number: ask the carrier to recall the parcel."
  }
}
