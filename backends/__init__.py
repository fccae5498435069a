"""Adapters of Delos's storage and queue ports: SQLite (embedded default) and Google Cloud."""
