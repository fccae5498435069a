# The two Delos processes on Cloud Run.
#
# CI (.github/workflows/push.yml) deploys new images by commit SHA with gcloud; Terraform creates the
# resources and owns their configuration, and ignores the image and traffic fields that CI moves.

locals {
  # Cloud Run sets PORT to container_port; the query service binds DELOS_HOST:PORT.
  query_container_port = 8080
}

# ---------------------------------------------------------------------------------------------------
# Query service: gRPC over HTTP/2 end to end.
#
# - The port is named "h2c", so Cloud Run forwards requests as cleartext HTTP/2 (gRPC needs HTTP/2;
#   streaming RPCs would break through an HTTP/1 hop).
# - Startup and liveness probes use the standard grpc.health.v1.Health service on that port (the
#   empty service name = overall server health).
# - min_instance_count = 1 and cpu_idle = false: the service keeps a Firestore snapshot listener open
#   between requests; with request-time CPU only, the listener would be starved and answers go stale.
# - Ingress: all (clients call it from anywhere) but authenticated: only members in
#   var.query_invoker_members hold roles/run.invoker, and callers send a Google ID token. Put
#   "allUsers" there deliberately to make the API public.
# ---------------------------------------------------------------------------------------------------
resource "google_cloud_run_v2_service" "query" {
  name                 = "delos-query"
  location             = var.region
  ingress              = "INGRESS_TRAFFIC_ALL"
  invoker_iam_disabled = false
  labels               = local.labels

  template {
    service_account                  = google_service_account.query.email
    max_instance_request_concurrency = 80
    timeout                          = "60s"

    scaling {
      min_instance_count = 1
      max_instance_count = 3
    }

    containers {
      name  = "query"
      image = var.query_image

      ports {
        name           = "h2c"
        container_port = local.query_container_port
      }

      # PORT is set by Cloud Run from container_port (it is reserved and cannot be set here).
      env {
        name  = "DELOS_BACKEND"
        value = "gcp"
      }
      env {
        name  = "GOOGLE_CLOUD_PROJECT"
        value = var.project_id
      }
      env {
        name  = "DELOS_HOST"
        value = "0.0.0.0"
      }
      env {
        name  = "DELOS_COINS"
        value = join(",", var.coins)
      }
      # Metrics as log entries; infra/monitoring.tf's log-based metrics and alerts read them.
      env {
        name  = "DELOS_METRICS"
        value = "gcp"
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
        cpu_idle          = false
        startup_cpu_boost = true
      }

      startup_probe {
        # Up to 4 s x 60 = 240 s (Cloud Run's cap for a startup probe) to load the coins collection
        # and start serving. On a first apply the revision can start while the database and the
        # viewer grant are still propagating; health stays NOT_SERVING until the first read works.
        initial_delay_seconds = 0
        period_seconds        = 4
        timeout_seconds       = 2
        failure_threshold     = 60
        grpc {
          port = local.query_container_port
        }
      }

      liveness_probe {
        period_seconds    = 15
        timeout_seconds   = 3
        failure_threshold = 3
        grpc {
          port = local.query_container_port
        }
      }
    }
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    # CI deploys images and moves traffic; gcloud also stamps client fields.
    ignore_changes = [
      template[0].containers[0].image,
      template[0].revision,
      template[0].labels,
      client,
      client_version,
      traffic,
    ]
  }

  # The first revision reads Firestore before it reports SERVING: the database and the grant must exist.
  depends_on = [
    google_project_service.apis,
    google_firestore_database.default,
    google_project_iam_member.query_datastore_viewer,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "query_invokers" {
  for_each = toset(var.query_invoker_members)

  name     = google_cloud_run_v2_service.query.name
  location = google_cloud_run_v2_service.query.location
  role     = "roles/run.invoker"
  member   = each.value
}

# ---------------------------------------------------------------------------------------------------
# Ingest worker: a Cloud Run worker pool, not a service.
#
# The worker is a Pub/Sub streaming-pull subscriber: it holds a long-lived stream and does its work
# between (not inside) HTTP requests. A request-billed Cloud Run service throttles CPU to near zero
# outside requests, which starves that stream (leases expire, messages are redelivered, the backlog
# grows). A worker pool is built for exactly this pull-based workload: no HTTP endpoint to fake, no
# request-driven autoscaling, CPU always allocated. One instance is enough: Kraken throttles to about
# one request per second, so more instances would only share the same rate limit.
# (The fallback, if worker pools are unavailable, is a Cloud Run service with cpu_idle = false,
# min_instance_count = 1 and a dummy health port.)
# ---------------------------------------------------------------------------------------------------
resource "google_cloud_run_v2_worker_pool" "worker" {
  name     = "delos-worker"
  location = var.region
  labels   = local.labels

  # BETA allows preview and GA features; ignored after creation (see lifecycle).
  launch_stage = "BETA"

  # Manual scaling is the only mode a worker pool has. The provider's scaling_mode argument is left
  # out on purpose: 7.0-7.17 report a permanent diff for it (versions.tf requires >= 7.18).
  scaling {
    manual_instance_count = 1
  }

  template {
    service_account = google_service_account.worker.email

    containers {
      name  = "worker"
      image = var.worker_image

      env {
        name  = "DELOS_BACKEND"
        value = "gcp"
      }
      env {
        name  = "GOOGLE_CLOUD_PROJECT"
        value = var.project_id
      }
      env {
        name  = "DELOS_TOPIC"
        value = google_pubsub_topic.refresh.name
      }
      env {
        name  = "DELOS_SUBSCRIPTION"
        value = google_pubsub_subscription.ingest.name
      }
      env {
        name  = "DELOS_COINS"
        value = join(",", var.coins)
      }
      env {
        name  = "DELOS_KRAKEN_URL"
        value = var.kraken_url
      }
      env {
        name  = "DELOS_MAX_OUTSTANDING"
        value = tostring(var.worker_max_outstanding)
      }
      env {
        name  = "DELOS_METRICS"
        value = "gcp"
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [
      template[0].containers[0].image,
      template[0].revision,
      template[0].labels,
      client,
      client_version,
      instance_splits,
      launch_stage,
    ]
  }

  depends_on = [
    google_project_service.apis,
    google_pubsub_subscription_iam_member.ingest_subscriber_worker,
    google_pubsub_topic_iam_member.refresh_publisher_worker,
    google_project_iam_member.worker_datastore_user,
    google_firestore_database.default,
  ]
}
