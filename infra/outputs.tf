output "query_service_url" {
  description = "HTTPS URL of the query service (gRPC clients dial its host on port 443 with TLS)."
  value       = google_cloud_run_v2_service.query.uri
}

output "workload_identity_provider" {
  description = "Full provider name for google-github-actions/auth (GitHub variable GCP_WIF_PROVIDER)."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "deployer_service_account" {
  description = "Service account GitHub Actions impersonates (GitHub variable GCP_DEPLOYER_SA)."
  value       = google_service_account.deployer.email
}

output "registry_url" {
  description = "Docker repository prefix; images are <registry_url>/query:<sha> and <registry_url>/worker:<sha>."
  value       = local.registry_url
}

output "worker_service_account" {
  description = "Runtime account of the ingest worker (passed to the worker pool)."
  value       = google_service_account.worker.email
}

output "query_service_account" {
  description = "Runtime account of the query service."
  value       = google_service_account.query.email
}
