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

# Coin documents are read whole (by id and through the listener), never queried by field; their
# packed numbers (history: blocks of 1,024 days of closes, as bytes; last_month) would otherwise be
# indexed field by field on every write. Exempting them leaves the small fields' default indexes.
resource "google_firestore_field" "coins_unindexed" {
  for_each = toset(["history", "last_month"])

  database   = google_firestore_database.default.name
  collection = "coins"
  field      = each.value

  index_config {}
}
