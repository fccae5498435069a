# One Docker repository for both images: REGION-docker.pkg.dev/PROJECT/delos/{query,worker}:<commit sha>.
resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Images contain only open application code and public dependencies; Google-managed encryption is sufficient and CMEK would add a KMS key to operate.
  location      = var.region
  repository_id = "delos"
  description   = "Delos container images, tagged with the commit SHA."
  format        = "DOCKER"
  labels        = local.labels

  # CI tags by commit SHA; a tag never moves, so a revision always runs the image it was deployed with.
  docker_config {
    immutable_tags = true
  }

  # Keep the newest images for rollback, delete the rest after 30 days.
  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.apis]
}
