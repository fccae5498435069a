# Delos infrastructure on Google Cloud.
#
# Files are split by concern:
#   versions.tf    provider and Terraform versions, provider defaults
#   variables.tf   every input, with defaults where a safe one exists
#   apis.tf        the Google APIs this configuration needs
#   pubsub.tf      refresh topic, ingest subscription, dead-letter topic and its inspect subscription
#   scheduler.tf   the daily {"all": true} refresh
#   firestore.tf   the (default) Native-mode database the worker writes and the query service reads
#   registry.tf    the Docker repository CI pushes both images to
#   run.tf         query service (Cloud Run service, HTTP/2) and ingest worker (Cloud Run worker pool)
#   iam.tf         one service account per component, least privilege, no keys
#   wif.tf         Workload Identity Federation for GitHub Actions and the deployer account
#   monitoring.tf  dead-letter, backlog, refresh-failure, stale-coin and query-error alerts; log-based metrics
#   outputs.tf     values the operator copies into GitHub repository variables
#
# docs/deploy.md walks through the first apply.

terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source = "hashicorp/google"
      # google_cloud_run_v2_worker_pool and its IAM resources reached the GA provider in 6.37; 7.0-7.17
      # show a permanent plan diff on the worker pool's scaling block, fixed in 7.18.
      version = ">= 7.18, < 8.0"
    }
  }

  # Remote state is optional; see docs/deploy.md ("State bucket"). Uncomment after creating the bucket:
  # backend "gcs" {
  #   bucket = "YOUR-PROJECT-tfstate"
  #   prefix = "delos"
  # }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Google-managed identity that moves undeliverable messages to the dead-letter topic.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  registry_url = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"

  labels = {
    app = "delos"
  }
}
