# GitHub Actions -> Google Cloud without keys.
#
# The workflow's OIDC token is exchanged at the pool's provider; the attribute_condition rejects any
# token whose sub claim is not exactly repo:<var.github_repository>:ref:<var.github_deploy_ref>, so forks, other repositories
# and other branches cannot even obtain a federated token. Only that principal set may impersonate
# delos-deployer, which can:
#   - push images to the delos repository           roles/artifactregistry.writer  (repository)
#   - deploy the query service and worker pool      roles/run.developer            (each resource)
#   - run revisions as the two runtime accounts     roles/iam.serviceAccountUser   (each account)
# and nothing else: it cannot change IAM, Pub/Sub, Firestore or Terraform-owned configuration.

resource "google_iam_workload_identity_pool" "github" {
  workload_identity_pool_id = "delos-github"
  display_name              = "Delos GitHub Actions"
  description               = "OIDC tokens from GitHub Actions runs of ${var.github_repository}."

  depends_on = [google_project_service.apis]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:False positive. The condition pins the exact sub claim repo:OWNER/NAME:ref:REF as the check asks, but checkov cannot resolve var.github_repository (no default) to match its owner/name pattern; variables.tf validates that form instead.
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github-oidc"
  display_name                       = "GitHub OIDC"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
    "attribute.actor"      = "assertion.actor"
  }

  # sub is "repo:OWNER/NAME:ref:REF" for workflow runs without a GitHub environment, which is how push.yml runs.
  attribute_condition = "assertion.sub == \"repo:${var.github_repository}:ref:${var.github_deploy_ref}\" && assertion.repository == \"${var.github_repository}\""

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "deployer" {
  account_id   = "delos-deployer"
  display_name = "Delos deployer (GitHub Actions)"
  description  = "Impersonated by GitHub Actions through Workload Identity Federation to push images and deploy."
}

resource "google_service_account_iam_member" "deployer_workload_identity" {
  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.github_repository}"
}

resource "google_artifact_registry_repository_iam_member" "deployer_writer" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.deployer.member
}

resource "google_cloud_run_v2_service_iam_member" "deployer_query" {
  name     = google_cloud_run_v2_service.query.name
  location = google_cloud_run_v2_service.query.location
  role     = "roles/run.developer"
  member   = google_service_account.deployer.member
}

resource "google_cloud_run_v2_worker_pool_iam_member" "deployer_worker" {
  name     = google_cloud_run_v2_worker_pool.worker.name
  location = google_cloud_run_v2_worker_pool.worker.location
  role     = "roles/run.developer"
  member   = google_service_account.deployer.member
}

resource "google_service_account_iam_member" "deployer_acts_as_query" {
  service_account_id = google_service_account.query.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deployer.member
}

resource "google_service_account_iam_member" "deployer_acts_as_worker" {
  service_account_id = google_service_account.worker.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deployer.member
}
