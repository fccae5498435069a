variable "project_id" {
  description = "Google Cloud project that hosts Delos."
  type        = string
}

variable "region" {
  description = "Region for Cloud Run, Artifact Registry and Cloud Scheduler."
  type        = string
  default     = "europe-west1"
}

variable "firestore_location" {
  description = "Firestore location (a region such as europe-west1, or a multi-region such as eur3). Cannot change after creation."
  type        = string
  default     = "europe-west1"
}

variable "query_image" {
  description = "Full image reference for the query service's first revision, e.g. REGION-docker.pkg.dev/PROJECT/delos/query:SHA. CI deploys later revisions; Terraform ignores image changes after creation."
  type        = string
}

variable "worker_image" {
  description = "Full image reference for the ingest worker's first revision, e.g. REGION-docker.pkg.dev/PROJECT/delos/worker:SHA; same lifecycle as query_image."
  type        = string
}

variable "refresh_schedule" {
  description = "Cron schedule (in refresh_time_zone) of the {\"all\": true} refresh message."
  type        = string
  default     = "0 3 * * *"
}

variable "refresh_time_zone" {
  description = "Time zone of refresh_schedule."
  type        = string
  default     = "Etc/UTC"
}

variable "coins" {
  description = "Coins the worker refreshes on {\"all\": true}; passed as DELOS_COINS."
  type        = list(string)
  default     = ["BTC", "ETH", "XRP", "LTC", "BCH", "ADA", "SOL", "DOT", "DOGE", "LINK", "XLM", "ATOM"]
}

variable "kraken_url" {
  description = "Base URL of the Kraken REST API (DELOS_KRAKEN_URL)."
  type        = string
  default     = "https://api.kraken.com"
}

variable "worker_max_outstanding" {
  description = "Messages the worker processes at once (DELOS_MAX_OUTSTANDING). Kraken throttles to about 1 request/s, so keep it small."
  type        = number
  default     = 2
}

variable "github_repository" {
  description = "GitHub repository allowed to deploy, as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/NAME, e.g. example-org/delos."
  }
}

variable "github_deploy_ref" {
  description = "Git ref whose workflow runs may impersonate the deployer."
  type        = string
  default     = "refs/heads/main"

  validation {
    condition     = startswith(var.github_deploy_ref, "refs/") && !strcontains(var.github_deploy_ref, ":")
    error_message = "github_deploy_ref must be a full ref such as refs/heads/main."
  }
}

variable "query_invoker_members" {
  description = "IAM members allowed to call the query service (roles/run.invoker), e.g. [\"group:delos-users@example.com\"]. Add \"allUsers\" only for a deliberately public API."
  type        = list(string)
  default     = []
}

variable "operator_members" {
  description = "IAM members who run `delos status` and `delos dead-letters --replay` against production, e.g. [\"group:delos-operators@example.com\"]: they read Firestore, pull and ack delos-refresh-dead-inspect, and publish to delos-refresh."
  type        = list(string)
  default     = []
}

variable "refresh_failure_threshold" {
  description = "Failed coin refreshes on one exchange within 15 minutes that open an alert."
  type        = number
  default     = 5
}

variable "query_error_threshold" {
  description = "Server-side query service errors (INTERNAL, UNAVAILABLE, ...) within 5 minutes that open an alert."
  type        = number
  default     = 5
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channel ids for the alerts (optional; alerts still show in the console without them)."
  type        = list(string)
  default     = []
}

variable "backlog_age_threshold_seconds" {
  description = "Alert when the oldest unacked message on delos-ingest is older than this. A full refresh of 12 coins takes a few minutes."
  type        = number
  default     = 3600
}
