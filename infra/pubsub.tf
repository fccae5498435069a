# Refresh messaging.
#
#   Cloud Scheduler / operators --{"all": true} | {"symbols": [...]}--> delos-refresh
#   delos-refresh --pull--> delos-ingest --> ingest worker (fans {"all": true} out into one message per coin,
#                                            published back onto delos-refresh)
#   delos-ingest --after max_delivery_attempts--> delos-refresh-dead --pull--> delos-refresh-dead-inspect (humans)

locals {
  # Ack deadline, sized to one coin's worst-case fetch:
  #   ~4 Kraken requests at the 1 request/s throttle             ~  4 s
  #   one request timing out (10 s) and retried with backoff
  #   (1 s, 2 s, 4 s, 8 s between attempts) a few times            ~ 60-90 s
  #   Firestore write                                               <  1 s
  # 120 s leaves headroom. The streaming-pull client also extends leases while the worker is alive,
  # so this value mainly bounds how long a message stays invisible after a worker dies mid-fetch.
  ingest_ack_deadline_seconds = 120

  # Retries are budgeted in time, not only in count: a refresh must outlive an exchange outage of at
  # least 15 minutes before it is dead-lettered. Messages that can never be processed (bad JSON, unknown
  # symbol) are acked by the worker and logged, so only repeated transient failures (Kraken or Firestore
  # down for a long time) reach the dead-letter topic.
  #
  # Between deliveries of a nacked message Pub/Sub waits a backoff that grows exponentially from the
  # subscription's retry_policy minimum_backoff (120 s below) to its maximum_backoff (600 s, the most
  # Pub/Sub allows), and dead-letters on the max_delivery_attempts-th failure (5..100), so a message
  # has (attempts - 1) backoffs to wait out an outage:
  #   doubling from 120 s: 120 + 240 + 480 + 6 x 600                     = 4,440 s (74 min)
  #   and even if the backoff never grew (it is best effort): 9 x 120    = 1,080 s (18 min) >= 15 min
  # A worker's own retries (seconds) and the ack deadline of an abandoned delivery only add to this.
  # The embedded queue keeps the same promise with its own numbers (backends/redelivery.py).
  ingest_max_delivery_attempts = 10

  seven_days = "604800s"
}

resource "google_pubsub_topic" "refresh" {
  #checkov:skip=CKV_GCP_83:Messages carry only public coin symbols; Google-managed encryption is sufficient and CMEK would add a KMS key to operate.
  name                       = "delos-refresh"
  labels                     = local.labels
  message_retention_duration = local.seven_days

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Same public payloads as delos-refresh; Google-managed encryption is sufficient.
  name                       = "delos-refresh-dead"
  labels                     = local.labels
  message_retention_duration = local.seven_days

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "ingest" {
  name   = "delos-ingest"
  topic  = google_pubsub_topic.refresh.id
  labels = local.labels

  ack_deadline_seconds       = local.ingest_ack_deadline_seconds
  message_retention_duration = local.seven_days
  retain_acked_messages      = false

  # Nacked or expired messages come back after an exponential backoff instead of at once, so a
  # Kraken outage neither turns into a hot redelivery loop nor uses up the attempts (see locals).
  retry_policy {
    minimum_backoff = "120s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.ingest_max_delivery_attempts
  }

  # Never delete the subscription for inactivity (the default is 31 days).
  expiration_policy {
    ttl = ""
  }
}

# Messages published to a topic without subscriptions are lost, so the dead-letter topic gets one that
# nobody consumes automatically: operators read it (docs/deploy.md) and the dead-letter alert watches it.
resource "google_pubsub_subscription" "dead_letter_inspect" {
  name   = "delos-refresh-dead-inspect"
  topic  = google_pubsub_topic.dead_letter.id
  labels = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = local.seven_days

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering is done by the Pub/Sub service agent, which needs to publish to the dead-letter topic
# and to subscribe to (ack the forwarded message on) the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher_pubsub_agent" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "ingest_subscriber_pubsub_agent" {
  subscription = google_pubsub_subscription.ingest.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
