"""`python -m ingest_worker [--reset-store]`: consume refresh messages until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import bootstrap
from backends.metrics import start_metrics
from common.errors import DelosError, ExchangeUnavailable
from common.ports import CoinStore, PriceSource, RefreshQueue
from common.settings import Settings, SettingsError
from ingest_worker.handler import RefreshHandler
from ingest_worker.status import STATUS_FILE, WorkerStatus

log = logging.getLogger("ingest_worker")


def utc_now() -> datetime:
    return datetime.now(UTC)


def run_worker(
    settings: Settings,
    stop: threading.Event,
    *,
    store: CoinStore,
    queue: RefreshQueue,
    sources: Sequence[PriceSource] | None = None,
    sample_data: bool = False,
) -> None:
    """Consume until `stop` is set. The store and queue are opened by the caller, in its main thread."""
    owned = sources is None
    if sources is None:
        sources = bootstrap.price_sources(settings, sleep=_interruptible_sleep(stop))
    status = WorkerStatus(settings.data_dir / STATUS_FILE)

    def report(store_health: str) -> None:
        if settings.backend == "embedded":  # Cloud Run has the logs, and no data dir
            status.write(store_health, utc_now())

    report("ok")
    handler = RefreshHandler(
        sources=sources,
        store=store,
        coins=settings.coins,
        clock=utc_now,
        sample_data=sample_data,
        fan_out_queue=queue if settings.backend == "gcp" else None,
        on_store_status=report,
    )
    log.info("worker consuming refresh messages (%s backend)", settings.backend)
    try:
        queue.consume(handler, stop)
    finally:
        if owned:
            for source in sources:
                source.close()
    log.info("worker stopped")


def _interruptible_sleep(stop: threading.Event) -> bootstrap.Sleep:
    """A backoff sleep that gives up at shutdown, so in-flight messages are released quickly."""

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise ExchangeUnavailable("worker shutting down")

    return sleep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="delos worker", description="the ingest worker")
    parser.add_argument("--reset-store", action="store_true", help="move a damaged embedded store aside, start empty")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"delos worker: {exc}", file=sys.stderr)
        return bootstrap.EXIT_CONFIG
    bootstrap.configure_logging(settings)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s, finishing in-flight messages", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    running_metrics = start_metrics(settings.metrics)
    with contextlib.ExitStack() as opened:
        if running_metrics is not None:
            opened.callback(running_metrics.shutdown)  # exports the last interval
        try:
            store = bootstrap.coin_store(settings, reset=args.reset_store)
            opened.callback(bootstrap.close, store)
            queue = bootstrap.opened_queue(settings, reset=args.reset_store)
            opened.callback(bootstrap.close, queue)
        except DelosError as exc:
            return bootstrap.fail("delos worker", exc)
        # A handler thread still blocked in an HTTP call is a daemon: it does not hold up the exit,
        # and its message comes back by lease expiry.
        try:
            run_worker(settings, stop, store=store, queue=queue)
        except DelosError as exc:  # e.g. the queue's file damaged while running: waiting cannot mend it
            return bootstrap.fail("delos worker", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
