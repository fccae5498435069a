# The (default) Firestore database in Native mode: the worker writes collection `coins`, the query
# service reads it at start and through a snapshot listener (listeners need Native mode).
resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  concurrency_mode            = "OPTIMISTIC"
  app_engine_integration_mode = "DISABLED"

  # Every document can be rebuilt by republishing {"all": true, "force": true}; point-in-time
  # recovery is still cheap insurance against a bad release overwriting good documents.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  depends_on = [google_project_service.apis]
}
