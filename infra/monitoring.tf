# Two alerts that say "refreshes are not happening". Both open an incident in Cloud Monitoring; they
# also notify when var.notification_channels is set. docs/deploy.md says what to do for each.

resource "google_monitoring_alert_policy" "dead_letters" {
  display_name = "Delos: refresh messages dead-lettered"
  combiner     = "OR"
  severity     = "WARNING"

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      A refresh message failed ${local.ingest_max_delivery_attempts} delivery attempts on `delos-ingest` and was moved to
      `delos-refresh-dead`. Its coins were not refreshed. `delos dead-letters` lists it with its coins' last
      errors; check the worker logs for the cause, then `delos dead-letters --replay` republishes it to
      `delos-refresh` and acks it (docs/deploy.md, "Read and replay dead-lettered messages").
    EOT
  }

  conditions {
    display_name = "delos-refresh-dead-inspect has undelivered messages"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter_inspect.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels

  alert_strategy {
    auto_close = "86400s"
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "ingest_backlog_age" {
  display_name = "Delos: ingest backlog is old"
  combiner     = "OR"
  severity     = "WARNING"

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      The oldest unacked message on `delos-ingest` is older than ${var.backlog_age_threshold_seconds} s: the worker is down,
      stuck, or failing every message (nacks come back with backoff until dead-lettered). Check the
      `delos-worker` worker pool's instances and logs.
    EOT
  }

  conditions {
    display_name = "delos-ingest oldest unacked message age above threshold"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.ingest.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.backlog_age_threshold_seconds
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels

  alert_strategy {
    auto_close = "86400s"
  }

  depends_on = [google_project_service.apis]
}
