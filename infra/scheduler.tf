# Daily refresh: publish {"all": true} to delos-refresh.
#
# Why an HTTP target to the Pub/Sub publish API rather than a pubsub_target: a pubsub_target job
# publishes as the Google-managed Cloud Scheduler service agent, which can publish to any topic in
# the project and cannot be swapped for our own identity. Calling topics.publish with an OAuth token
# for delos-scheduler lets that account hold roles/pubsub.publisher on this one topic and nothing
# else (iam.tf). The message it produces is identical: same data, same attributes.
#
# Duplicates: Cloud Scheduler may run a job more than once per tick, and Pub/Sub delivers at least
# once. Attributes are static, so every scheduled message carries the same
#   run_key = "scheduled-all"
# and the worker can recognise "the same scheduled run" as (run_key, UTC date of the message's
# publish_time): a second message with the same key on the same day is a duplicate. The refresh
# itself is idempotent as well (a coin's document is only replaced by a newer or better one), so a
# duplicate that slips through costs Kraken requests, not correctness. Manual reprocessing messages
# (docs/deploy.md) carry no run_key and are never treated as duplicates.

locals {
  scheduled_run_key = "scheduled-all"

  scheduled_refresh_body = {
    messages = [{
      data = base64encode(jsonencode({ all = true }))
      attributes = {
        run_key = local.scheduled_run_key
        source  = "cloud-scheduler"
      }
    }]
  }
}

resource "google_cloud_scheduler_job" "refresh_all" {
  name        = "delos-refresh-all"
  description = "Publishes {\"all\": true} to ${google_pubsub_topic.refresh.name} (run_key=${local.scheduled_run_key})."
  region      = var.region
  schedule    = var.refresh_schedule
  time_zone   = var.refresh_time_zone

  attempt_deadline = "30s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = "https://pubsub.googleapis.com/v1/${google_pubsub_topic.refresh.id}:publish"
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode(jsonencode(local.scheduled_refresh_body))

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/pubsub"
    }
  }

  depends_on = [google_project_service.apis, google_pubsub_topic_iam_member.refresh_publisher_scheduler]
}
