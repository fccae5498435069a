"""`delos run`: worker, query service and a local scheduler in one process.

Brings the system up on the configured backend, refreshes DELOS_COINS at start
and every DELOS_REFRESH_INTERVAL seconds, prints a sample answer once the first
coin is in, and serves until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import threading
import time

import bootstrap
from cli import ask as ask_cli
from cli.offline import sample_exchange
from common import messages
from common.errors import DelosError
from common.settings import Settings
from ingest_worker.__main__ import run_worker
from query_service.server import QueryService, load_and_follow, start

log = logging.getLogger("delos.run")
SAMPLE_QUESTION = ("BTC", 10_000.0)


def exchange_reachable(settings: Settings) -> str | None:
    """None when the exchange answers; otherwise one plain line saying why not."""
    probe = bootstrap.price_source(dataclasses.replace(settings, max_retries=0, http_timeout_s=5.0))
    try:
        probe.pairs()
        return None
    except DelosError as exc:
        return f"the exchange at {settings.kraken_url} cannot be reached ({exc})"
    finally:
        close = getattr(probe, "close", None)
        if close is not None:
            close()


def schedule(settings: Settings, stop: threading.Event) -> None:
    """Publish a refresh of the configured coins now and every refresh interval."""
    queue = bootstrap.refresh_queue(settings)
    body = messages.encode(messages.RefreshRequest(symbols=settings.coins))
    while True:
        try:
            queue.publish(body, {"origin": "local-scheduler", "run_key": str(int(time.time()))})
            log.info("scheduled a refresh of %d coins", len(settings.coins))
        except Exception:  # the scheduler must outlive a queue hiccup; the next tick retries
            log.exception("could not publish the scheduled refresh")
        if stop.wait(settings.refresh_interval_s):
            return


async def _print_sample_answer(service: QueryService, stop: asyncio.Event, coins: tuple[str, ...]) -> None:
    symbol = next((s for s in (SAMPLE_QUESTION[0], *coins) if s in coins), coins[0])
    while not stop.is_set() and service.cache.get(symbol) is None:
        await asyncio.sleep(0.5)
    if stop.is_set():
        return
    target = f"127.0.0.1:{service.port}"
    await asyncio.to_thread(ask_cli.ask, target, symbol, SAMPLE_QUESTION[1], None, "mean", False)
    print(f"\nServing on {target}. Ask more with: pipenv run delos ask ETH --invest 1000 --target {target}")
    print("Press Ctrl-C to stop.", flush=True)


async def _serve_all(settings: Settings, sample_data: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    threads_stop = threading.Event()
    service = await start(settings.host, settings.port)
    loader = asyncio.create_task(load_and_follow(service, bootstrap.coin_feed(settings), stopping=stop.is_set))
    worker = threading.Thread(
        target=run_worker, args=(settings, threads_stop), kwargs={"sample_data": sample_data}, daemon=True
    )
    scheduler = threading.Thread(target=schedule, args=(settings, threads_stop), daemon=True)
    worker.start()
    scheduler.start()
    sample = asyncio.create_task(_print_sample_answer(service, stop, settings.coins))
    await stop.wait()
    print("\nStopping...", flush=True)
    threads_stop.set()
    for task in (loader, sample):
        task.cancel()
    await service.stop()
    await asyncio.to_thread(worker.join, 10.0)


def run(settings: Settings, offline: bool) -> int:
    """Run everything until Ctrl-C; falls back to the sample exchange when the live one is unreachable."""
    if not offline:
        problem = exchange_reachable(settings)
        if problem is not None:
            print(f"delos: {problem}; using the bundled sample history instead (answers are labelled sample data).")
            offline = True
    if not offline:
        asyncio.run(_serve_all(settings, sample_data=False))
        return 0
    with sample_exchange() as urls:
        served = tuple(name for name in settings.exchanges if name in urls) or tuple(urls)
        sample_settings = dataclasses.replace(
            settings,
            exchanges=served,
            exchange_urls={**settings.exchange_urls, **urls},
            request_interval_s=0.0,
            data_dir=settings.data_dir / "sample",
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_all(sample_settings, sample_data=True))
    return 0
