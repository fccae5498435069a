"""Composition: the one place that builds adapters from settings.

Only entry points call these. Google Cloud and HTTP libraries are imported
inside the functions that need them, so the embedded query service starts
without loading them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from common.settings import Settings

if TYPE_CHECKING:
    from common.ports import CoinFeed, CoinStore, DocumentStore, PriceSource, RefreshQueue


Sleep = Callable[[float], None]


def configure_logging(settings: Settings) -> None:
    """One-line, timestamped logs on stderr (Cloud Run collects them)."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per HTTP request is noise; retries and failures are logged by the adapter.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def store_path(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir / "coins.sqlite3"


def queue_path(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir / "queue.sqlite3"


def coin_store(settings: Settings) -> CoinStore:
    """The worker's document store for the configured backend."""
    return _store(settings)


def coin_feed(settings: Settings) -> CoinFeed:
    """The query service's view of the documents for the configured backend."""
    return _store(settings)


def _store(settings: Settings) -> DocumentStore:
    if settings.backend == "gcp":
        from google.cloud import firestore

        from backends.firestore_store import FirestoreCoinStore

        return FirestoreCoinStore(firestore.Client(project=settings.project))
    from backends.sqlite_store import SQLiteCoinStore

    return SQLiteCoinStore(store_path(settings), poll_interval_s=settings.poll_interval_s)


def refresh_queue(settings: Settings) -> RefreshQueue:
    """The refresh queue (topic + subscription) for the configured backend."""
    if settings.backend == "gcp":
        from backends.pubsub_queue import PubSubRefreshQueue

        if settings.project is None:  # Settings.from_env refuses gcp mode without it
            raise ValueError("gcp mode needs GOOGLE_CLOUD_PROJECT")
        return PubSubRefreshQueue(
            settings.project,
            settings.topic,
            settings.subscription,
            max_outstanding=settings.max_outstanding,
        )
    from backends.redelivery import Redelivery
    from backends.sqlite_queue import SQLiteRefreshQueue

    redelivery = Redelivery(
        backoff_min_s=settings.retry_backoff_min_s,
        backoff_max_s=settings.retry_backoff_max_s,
        budget_s=settings.retry_budget_s,
    )
    return SQLiteRefreshQueue(
        queue_path(settings),
        max_outstanding=settings.max_outstanding,
        ack_deadline_s=settings.ack_deadline_s,
        redelivery=redelivery,
    )


def price_source(settings: Settings, base_url: str | None = None, sleep: Sleep = time.sleep) -> PriceSource:
    """The exchange adapter (Kraken), optionally pointed at another base URL."""
    from ingest_worker.kraken import KrakenPriceSource

    return KrakenPriceSource(
        base_url or settings.kraken_url,
        timeout_s=settings.http_timeout_s,
        request_interval_s=settings.request_interval_s,
        max_retries=settings.max_retries,
        backoff_base_s=settings.backoff_base_s,
        backoff_cap_s=settings.backoff_cap_s,
        sleep=sleep,
    )
