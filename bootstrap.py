"""Composition: the one place that builds adapters from settings.

Only entry points call these. Google Cloud and HTTP libraries are imported
inside the functions that need them, so the embedded query service starts
without loading them.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from common.errors import BadPriceData, DelosError, Misconfigured, StoreDamaged
from common.settings import Settings, SettingsError

if TYPE_CHECKING:
    import httpx

    from backends.archive import ArchivePriceSource
    from backends.exchange_http import RetryPolicy
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
T = TypeVar("T")


def configure_logging(settings: Settings) -> None:
    """Logs on stderr: JSON for Cloud Logging, or one readable line each on a terminal (DELOS_LOG_FORMAT)."""
    from backends.cloud_logging import log_handler

    logging.basicConfig(level=settings.log_level, handlers=[log_handler(settings.log_format, sys.stderr)])
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


def status_reader(settings: Settings) -> StatusReader:
    """The store as operators read it (documents and failures), for the configured backend."""
    return document_store(settings)


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


def dead_letter_box(settings: Settings) -> DeadLetterBox:
    """Where dead-lettered refresh messages wait: the dead-letter subscription, or the embedded queue's table."""
    if settings.backend == "gcp":
        from backends.pubsub_dead_letters import PubSubDeadLetters

        if settings.project is None:  # Settings.from_env refuses gcp mode without it
            raise ValueError("gcp mode needs GOOGLE_CLOUD_PROJECT")
        return PubSubDeadLetters(settings.project, settings.dead_letter_subscription)
    from backends.sqlite_dead_letters import SQLiteDeadLetters

    return SQLiteDeadLetters(queue_path(settings))


def price_sources(settings: Settings, sleep: Sleep = time.sleep) -> list[PriceSource]:
    """Every source a listing is looked for in, in tie-break order: the archive's markets first (when
    enabled), then one adapter per exchange of DELOS_EXCHANGES, each with its own HTTP client and throttle."""
    return [*archive_sources(settings), *live_sources(settings, sleep)]


def live_sources(settings: Settings, sleep: Sleep = time.sleep) -> list[PriceSource]:
    """One adapter per exchange of DELOS_EXCHANGES, in that order."""
    return [live_source(settings, name, sleep) for name in settings.exchanges]


def archive_source(settings: Settings) -> ArchivePriceSource | None:
    """The archived exchanges as one source (pair_for: the earliest); None when DELOS_ARCHIVE_DIR is empty.

    Reads nothing yet: the files are scanned and parsed when first asked.
    """
    if settings.archive_dir is None:
        return None
    from backends.archive import ArchivePriceSource

    return ArchivePriceSource(settings.archive_dir)


def archive_sources(settings: Settings) -> tuple[PriceSource, ...]:
    """One source per archived exchange (Bitcoin Market, Mt. Gox), each its own listing; () when disabled.

    Lists the archive directory now, so a wrong DELOS_ARCHIVE_DIR stops start-up with a
    SettingsError rather than quietly giving every coin a later listing.
    """
    archive = archive_source(settings)
    if archive is None:
        return ()
    try:
        return archive.per_market()
    except BadPriceData as exc:
        raise SettingsError(f"DELOS_ARCHIVE_DIR: {exc} (set it empty to disable the archive)") from exc


def _client(settings: Settings, exchange: str) -> httpx.Client:
    from backends.exchange_http import http_client

    return http_client(settings.exchange_urls[exchange], settings.http_timeout_s)


def _policy(settings: Settings, published_interval_s: float) -> RetryPolicy:
    """Retries from settings; the spacing is the exchange's own unless DELOS_REQUEST_INTERVAL overrides it."""
    from backends.exchange_http import RetryPolicy

    interval = published_interval_s if settings.request_interval_s is None else settings.request_interval_s
    return RetryPolicy(interval, settings.max_retries, settings.backoff_base_s, settings.backoff_cap_s)


# The adapter of each exchange name of common.exchanges.LIVE_EXCHANGES, as (module, class): a module
# is imported only when its exchange is configured.
ADAPTERS: Mapping[str, tuple[str, str]] = {
    "kraken": ("backends.kraken", "KrakenPriceSource"),
    "bitstamp": ("backends.bitstamp", "BitstampPriceSource"),
    "bitfinex": ("backends.bitfinex", "BitfinexPriceSource"),
    "coinbase": ("backends.coinbase", "CoinbasePriceSource"),
    "binance": ("backends.binance", "BinancePriceSource"),
}


def live_source(settings: Settings, exchange: str, sleep: Sleep = time.sleep) -> PriceSource:
    """The adapter of one exchange, with its own HTTP client and its published spacing (or DELOS_REQUEST_INTERVAL)."""
    from backends.exchange_source import ExchangeSource

    module, name = ADAPTERS[exchange]
    adapter = getattr(importlib.import_module(module), name)
    if not (isinstance(adapter, type) and issubclass(adapter, ExchangeSource)):
        raise TypeError(f"{module}.{name} is not an ExchangeSource")
    policy = _policy(settings, adapter.request_interval_s)
    return adapter(_client(settings, exchange), policy=policy, sleep=sleep)


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
