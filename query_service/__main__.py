"""`python -m query_service [--reset-store]`: serve lambo answers until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess  # nosec B404
import sys
import time

import bootstrap
from backends.metrics import observe_staleness, start_metrics
from common.errors import DelosError
from common.ports import CoinFeed
from common.settings import Settings, SettingsError
from query_service.server import load_and_follow, start

log = logging.getLogger("query_service")


async def serve(settings: Settings, feed: CoinFeed) -> None:
    """Start, load the cache, serve until a termination signal, then shut down gracefully.

    A load that fails for good (a damaged store) stops the server and raises: never NOT_SERVING forever.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running_metrics = start_metrics(settings.metrics)
    call_stats = meter = None
    if running_metrics is not None:
        from query_service.call_stats import CallStats  # pylint: disable=import-outside-toplevel  # metrics on only

        meter = running_metrics.provider.get_meter("delos.query_service")
        call_stats = CallStats()
        call_stats.observe(meter)
    service = await start(settings.host, settings.port, call_stats=call_stats)
    if meter is not None:
        observe_staleness(meter, lambda: [coin.facts.as_of_s for coin in service.cache.all()], time.time)
    loader = asyncio.create_task(load_and_follow(service, feed, stopping=stop.is_set))
    loader.add_done_callback(lambda task: None if failure(task) is None else stop.set())
    await stop.wait()
    log.info("termination requested; draining")
    loader.cancel()
    await service.stop()
    if running_metrics is not None:
        running_metrics.shutdown()  # exports the last interval
    error = failure(loader)
    if error is not None:
        raise error


def failure(task: asyncio.Task[None]) -> BaseException | None:
    """What a finished task raised; None while it runs, once cancelled, or when it succeeded."""
    return None if not task.done() or task.cancelled() else task.exception()


def serve_in_processes(settings: Settings) -> int:
    """Run DELOS_QUERY_PROCESSES servers on one port (SO_REUSEPORT): the kernel spreads connections over cores."""
    env = {**os.environ, "DELOS_QUERY_PROCESSES": "1"}
    # Fixed argv: this interpreter running this very module; no user input reaches it.
    children = [
        subprocess.Popen([sys.executable, "-m", "query_service"], env=env)  # noqa: S603  # nosec B603
        for _ in range(settings.query_processes)
    ]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return max(codes, key=abs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="delos serve", description="the gRPC query service")
    parser.add_argument("--reset-store", action="store_true", help="move a damaged embedded store aside, start empty")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"delos serve: {exc}", file=sys.stderr)
        return bootstrap.EXIT_CONFIG
    bootstrap.configure_logging(settings)
    if settings.query_processes > 1:
        if settings.port == 0:
            print("delos serve: DELOS_QUERY_PROCESSES > 1 needs a fixed PORT", file=sys.stderr)
            return bootstrap.EXIT_CONFIG
        return serve_in_processes(settings)
    try:
        # Opened (and checked) before the port is bound: a damaged store stops here, with one line.
        feed = bootstrap.coin_feed(settings, reset=args.reset_store)
    except DelosError as exc:
        return bootstrap.fail("delos serve", exc)
    try:
        asyncio.run(serve(settings, feed))
    except DelosError as exc:
        return bootstrap.fail("delos serve", exc)
    finally:
        bootstrap.close(feed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
