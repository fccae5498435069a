"""Composition: the one place that builds adapters from settings.

Only entry points call these. Google Cloud and HTTP libraries are imported
inside the functions that need them, so the embedded query service starts
without loading them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from common.settings import Settings

if TYPE_CHECKING:
    from common.ports import (
        CoinFeed,
        CoinStore,
        DeadLetterBox,
        DocumentStore,
        PriceSource,
        RefreshQueue,
        StatusReader,
    )


Sleep = Callable[[float], None]


def configure_logging(settings: Settings) -> None:
    """Logs on stderr: JSON for Cloud Logging, or one readable line each on a terminal (DELOS_LOG_FORMAT)."""
    from backends.cloud_logging import log_handler

    logging.basicConfig(level=settings.log_level, handlers=[log_handler(settings.log_format, sys.stderr)])
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


def status_reader(settings: Settings) -> StatusReader:
    """The store as operators read it (documents and failures), for the configured backend."""
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
    from backends.sqlite_queue import SQLiteRefreshQueue

    return SQLiteRefreshQueue(
        queue_path(settings), max_outstanding=settings.max_outstanding, ack_deadline_s=settings.ack_deadline_s
    )


def dead_letter_box(settings: Settings) -> DeadLetterBox:
    """Where dead-lettered refresh messages wait: the dead-letter subscription, or the embedded queue's table."""
    if settings.backend == "gcp":
        from backends.pubsub_dead_letters import PubSubDeadLetters

        if settings.project is None:  # Settings.from_env refuses gcp mode without it
            raise ValueError("gcp mode needs GOOGLE_CLOUD_PROJECT")
        return PubSubDeadLetters(settings.project, settings.dead_letter_subscription)
    from backends.sqlite_dead_letters import SQLiteDeadLetters

    return SQLiteDeadLetters(queue_path(settings))


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
