"""`python -m query_service`: serve lambo answers until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess  # nosec B404
import sys
import time

import bootstrap
from backends.metrics import observe_staleness, start_metrics
from common.settings import Settings, SettingsError
from query_service.server import load_and_follow, start

log = logging.getLogger("query_service")


async def serve(settings: Settings) -> None:
    """Start, load the cache, serve until a termination signal, then shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running_metrics = start_metrics(settings.metrics)
    service = await start(settings.host, settings.port)
    if running_metrics is not None:
        observe_staleness(lambda: [coin.as_of_s for coin in service.cache.all()], time.time)
    feed = bootstrap.coin_feed(settings)
    loader = asyncio.create_task(load_and_follow(service, feed, stopping=stop.is_set))
    await stop.wait()
    log.info("termination requested; draining")
    loader.cancel()
    await service.stop()
    if running_metrics is not None:
        running_metrics.shutdown()  # exports the last interval


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


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"delos serve: {exc}", file=sys.stderr)
        return 2
    bootstrap.configure_logging(settings)
    if settings.query_processes > 1:
        if settings.port == 0:
            print("delos serve: DELOS_QUERY_PROCESSES > 1 needs a fixed PORT", file=sys.stderr)
            return 2
        return serve_in_processes(settings)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
