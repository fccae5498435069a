"""`python -m query_service`: serve lambo answers until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import bootstrap
from common.settings import Settings, SettingsError
from query_service.server import load_and_follow, start

log = logging.getLogger("query_service")


async def serve(settings: Settings) -> None:
    """Start, load the cache, serve until a termination signal, then shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    service = await start(settings.host, settings.port)
    feed = bootstrap.coin_feed(settings)
    loader = asyncio.create_task(load_and_follow(service, feed, stopping=stop.is_set))
    await stop.wait()
    log.info("termination requested; draining")
    loader.cancel()
    await service.stop()


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"delos serve: {exc}", file=sys.stderr)
        return 2
    bootstrap.configure_logging(settings)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
