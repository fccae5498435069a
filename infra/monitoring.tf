# Alerts. The first two say "refreshes are not happening". Each opens an incident in Cloud Monitoring; they all
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

# ---------------------------------------------------------------------------------------------------
# Log-based metrics from Delos's structured logs (README "Operating Delos": the log fields), and
# their alerts. The worker logs one entry per coin refresh (`outcome`, `exchange`); the query service
# logs every non-OK RPC (`rpc`, `status`, `duration_ms`); with DELOS_METRICS=gcp both also write their
# OpenTelemetry metrics as entries every minute (`metric`, `value`), which is where the stale-coin
# gauge comes from.
# ---------------------------------------------------------------------------------------------------
locals {
  # gRPC statuses that mean the service failed, not the caller (NOT_FOUND, INVALID_ARGUMENT are answers).
  query_error_statuses = ["INTERNAL", "UNKNOWN", "UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"]
  two_days_seconds     = 172800
}

resource "google_logging_metric" "refresh_failures" {
  name   = "delos/refresh_failures"
  filter = "jsonPayload.logger=\"ingest_worker.handler\" AND jsonPayload.outcome=(\"failed\" OR \"retry\")"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Delos coin refreshes that failed, by exchange"
    labels {
      key         = "exchange"
      value_type  = "STRING"
      description = "exchange the prices come from"
    }
  }
  label_extractors = {
    exchange = "EXTRACT(jsonPayload.exchange)"
  }
}

resource "google_logging_metric" "query_errors" {
  name   = "delos/query_errors"
  filter = "jsonPayload.rpc:* AND jsonPayload.duration_ms:* AND jsonPayload.status=(${join(" OR ", [for s in local.query_error_statuses : "\"${s}\""])})"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Delos query service RPCs that failed on the server side"
    labels {
      key        = "status"
      value_type = "STRING"
    }
  }
  label_extractors = {
    status = "EXTRACT(jsonPayload.status)"
  }
}

resource "google_logging_metric" "coins_stale" {
  name            = "delos/coins_stale"
  filter          = "jsonPayload.metric=\"delos.coins.stale\""
  value_extractor = "EXTRACT(jsonPayload.value)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "1"
    display_name = "Delos coins served with prices older than two days"
  }
  bucket_options {
    explicit_buckets {
      bounds = [0.5, 1.5, 10.5, 100.5]
    }
  }
}

resource "google_monitoring_alert_policy" "refresh_failures" {
  display_name = "Delos: coin refreshes failing on an exchange"
  combiner     = "OR"
  severity     = "WARNING"

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      More than ${var.refresh_failure_threshold} coin refreshes failed on one exchange within 15 minutes. `delos status`
      lists the failing coins and their reasons; worker entries with `jsonPayload.outcome="retry"` come back by
      redelivery, `"failed"` ones are permanent (bad data, delisted pair).
    EOT
  }

  conditions {
    display_name = "refresh failures per exchange above threshold"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.refresh_failures.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.refresh_failure_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.exchange"]
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

resource "google_monitoring_alert_policy" "coins_stale" {
  display_name = "Delos: a coin is stale for more than two days"
  combiner     = "OR"
  severity     = "WARNING"

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      The query service serves at least one coin whose newest price is more than two days old (its
      `delos.coins.stale` gauge, logged every minute with DELOS_METRICS=gcp). `delos status` shows which and
      why; `delos publish SYMBOL --wait` refreshes them and reports what still fails.
    EOT
  }

  conditions {
    display_name = "delos.coins.stale above zero"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.coins_stale.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0.5
      duration        = "600s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_PERCENTILE_99"
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

resource "google_monitoring_alert_policy" "query_errors" {
  display_name = "Delos: query service errors"
  combiner     = "OR"
  severity     = "ERROR"

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      The query service answered more than ${var.query_error_threshold} RPCs with a server-side error
      (${join(", ", local.query_error_statuses)}) within 5 minutes. Its log entries carry `rpc`, `status` and
      `duration_ms`; an `INTERNAL` one has the traceback in `stack_trace`.
    EOT
  }

  conditions {
    display_name = "server-side RPC errors above threshold"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.query_errors.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.query_error_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
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
