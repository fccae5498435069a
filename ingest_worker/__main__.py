"""`python -m ingest_worker`: consume refresh messages until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import bootstrap
from backends.metrics import start_metrics
from common.errors import ExchangeUnavailable
from common.ports import PriceSource
from common.settings import Settings, SettingsError
from ingest_worker.handler import RefreshHandler

log = logging.getLogger("ingest_worker")


def utc_now() -> datetime:
    return datetime.now(UTC)


def run_worker(
    settings: Settings,
    stop: threading.Event,
    *,
    sources: Sequence[PriceSource] | None = None,
    sample_data: bool = False,
) -> None:
    """Wire the adapters for `settings` and consume until `stop` is set."""
    store = bootstrap.coin_store(settings)
    queue = bootstrap.refresh_queue(settings)
    if sources is None:
        sources = bootstrap.price_sources(settings, sleep=_interruptible_sleep(stop))
    handler = RefreshHandler(
        sources=sources,
        store=store,
        coins=settings.coins,
        clock=utc_now,
        sample_data=sample_data,
        fan_out_queue=queue if settings.backend == "gcp" else None,
    )
    log.info("worker consuming refresh messages (%s backend)", settings.backend)
    try:
        queue.consume(handler, stop)
    finally:
        for source in sources:
            source.close()
    log.info("worker stopped")


def _interruptible_sleep(stop: threading.Event) -> bootstrap.Sleep:
    """A backoff sleep that gives up at shutdown, so in-flight messages are released quickly."""

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise ExchangeUnavailable("worker shutting down")

    return sleep


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"delos worker: {exc}", file=sys.stderr)
        return 2
    bootstrap.configure_logging(settings)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s, finishing in-flight messages", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    running_metrics = start_metrics(settings.metrics)
    run_worker(settings, stop)
    if running_metrics is not None:
        running_metrics.shutdown()  # exports the last interval
    # In-flight messages are finished or released by now; don't wait on a handler thread still
    # blocked in an HTTP call (its message comes back by lease expiry), so exit stays bounded.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
