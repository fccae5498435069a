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
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from common.errors import DelosError, Misconfigured, StoreDamaged
from common.settings import Settings

if TYPE_CHECKING:
    from common.ports import CoinFeed, CoinStore, DocumentStore, PriceSource, RefreshQueue


Sleep = Callable[[float], None]
T = TypeVar("T")


def configure_logging(settings: Settings) -> None:
    """One-line, timestamped logs on stderr (Cloud Run collects them)."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per HTTP request is noise; retries and failures are logged by the adapter.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def store_path(settings: Settings) -> Path:
    """The embedded store's file (its folder is created, and the file checked, when it is opened)."""
    return settings.data_dir / "coins.sqlite3"


def queue_path(settings: Settings) -> Path:
    """The embedded queue's file."""
    return settings.data_dir / "queue.sqlite3"


def coin_store(settings: Settings, *, reset: bool = False) -> CoinStore:
    """The worker's document store for the configured backend."""
    return document_store(settings, reset=reset)


def coin_feed(settings: Settings, *, reset: bool = False) -> CoinFeed:
    """The query service's view of the documents for the configured backend."""
    return document_store(settings, reset=reset)


def document_store(settings: Settings, *, reset: bool = False) -> DocumentStore:
    """The store, opened and checked now, in the calling thread: StoreDamaged if its file lost data.

    `reset` (the --reset-store flag) moves a damaged embedded store aside and starts an empty one.
    """
    if settings.backend == "gcp":
        from google.auth.exceptions import GoogleAuthError
        from google.cloud import firestore

        from backends.firestore_store import FirestoreCoinStore

        try:
            client = firestore.Client(project=settings.project)
        except GoogleAuthError as exc:  # no credentials: an operator's error, told in one line
            raise Misconfigured(f"cannot reach Firestore: {exc}") from exc
        return FirestoreCoinStore(client)
    from backends.sqlite_store import SQLiteCoinStore

    return _reset_if_damaged(
        lambda: SQLiteCoinStore(store_path(settings), poll_interval_s=settings.poll_interval_s),
        store_path(settings),
        reset,
    )


def opened_queue(settings: Settings, *, reset: bool = False) -> RefreshQueue:
    """refresh_queue(settings), with a damaged embedded queue moved aside when `reset` is set."""
    return _reset_if_damaged(lambda: refresh_queue(settings), queue_path(settings), reset)


def _reset_if_damaged(build: Callable[[], T], path: Path, reset: bool) -> T:
    try:
        return build()
    except StoreDamaged as exc:
        if not reset:
            raise
        from backends.sqlite_files import move_aside

        aside = move_aside(path, datetime.now(UTC))
        logging.getLogger("delos").warning("%s -- --reset-store moved it to %s, starting empty", exc, aside)
        return build()


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


def close(adapter: object) -> None:
    """Close an adapter this module built (every real one has close(); the ports do not require it)."""
    closer = getattr(adapter, "close", None)
    if closer is not None:
        closer()


# Exit codes of every entry point (README: "Exit codes").
EXIT_RUNTIME = 1  # a damaged store, a thread that died, a store that failed at start
EXIT_CONFIG = 2  # bad arguments or settings, an unusable data directory, a port in use, no credentials


def fail(program: str, error: DelosError) -> int:
    """Report an operator-facing failure as one line on stderr; returns the process's exit code."""
    print(f"{program}: {error}", file=sys.stderr, flush=True)
    return EXIT_CONFIG if isinstance(error, Misconfigured) else EXIT_RUNTIME
