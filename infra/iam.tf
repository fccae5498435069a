# One service account per component, each with only what it does. No keys are created anywhere:
# Cloud Run attaches the runtime accounts, Cloud Scheduler mints tokens for its own, and GitHub
# Actions reaches the deployer through Workload Identity Federation (wif.tf).
#
#   account          role                         on
#   delos-worker     roles/pubsub.subscriber      subscription delos-ingest        (pull and ack)
#                    roles/pubsub.publisher       topic delos-refresh              (fan-out of {"all": true})
#                    roles/datastore.user         project (Firestore IAM is project-wide)
#   delos-query      roles/datastore.viewer       project (read coins, snapshot listener)
#   delos-scheduler  roles/pubsub.publisher       topic delos-refresh
#   delos-deployer   see wif.tf
#   operators        roles/datastore.viewer       project (delos status)
#   (var.operator_   roles/pubsub.subscriber      subscription delos-refresh-dead-inspect (delos dead-letters)
#    members)        roles/pubsub.publisher       topic delos-refresh              (publish, --replay)

resource "google_service_account" "worker" {
  account_id   = "delos-worker"
  display_name = "Delos ingest worker"
  description  = "Runs the ingest worker: pulls delos-ingest, publishes fan-out messages, writes Firestore."
}

resource "google_service_account" "query" {
  account_id   = "delos-query"
  display_name = "Delos query service"
  description  = "Runs the gRPC query service: reads Firestore."
}

resource "google_service_account" "scheduler" {
  account_id   = "delos-scheduler"
  display_name = "Delos refresh scheduler"
  description  = "Identity of the Cloud Scheduler job that publishes the daily refresh."
}

# --- worker -----------------------------------------------------------------------------------------
resource "google_pubsub_subscription_iam_member" "ingest_subscriber_worker" {
  subscription = google_pubsub_subscription.ingest.id
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.worker.member
}

resource "google_pubsub_topic_iam_member" "refresh_publisher_worker" {
  topic  = google_pubsub_topic.refresh.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.worker.member
}

resource "google_project_iam_member" "worker_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.worker.member
}

# --- query service ----------------------------------------------------------------------------------
resource "google_project_iam_member" "query_datastore_viewer" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = google_service_account.query.member
}

# --- scheduler --------------------------------------------------------------------------------------
resource "google_pubsub_topic_iam_member" "refresh_publisher_scheduler" {
  topic  = google_pubsub_topic.refresh.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.scheduler.member
}

# --- operators (people, not workloads) ---------------------------------------------------------------
resource "google_project_iam_member" "operators_datastore_viewer" {
  for_each = toset(var.operator_members)

  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = each.value
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber_operators" {
  for_each = toset(var.operator_members)

  subscription = google_pubsub_subscription.dead_letter_inspect.id
  role         = "roles/pubsub.subscriber"
  member       = each.value
}

resource "google_pubsub_topic_iam_member" "refresh_publisher_operators" {
  for_each = toset(var.operator_members)

  topic  = google_pubsub_topic.refresh.id
  role   = "roles/pubsub.publisher"
  member = each.value
}
