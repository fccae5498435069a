"""`delos run`: worker, query service and a local scheduler in one process.

Brings the system up on the configured backend, refreshes DELOS_COINS at start
and every DELOS_REFRESH_INTERVAL seconds, prints a sample answer once the first
coin is in, and serves until Ctrl-C.

The store and queue are opened (and checked) once, here in the main thread,
before any thread starts. A thread that dies stops the whole process with one
line and exit code 1: a half-alive process that serves nothing helps no one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import bootstrap
from cli import ask as ask_cli
from cli.offline import sample_exchange
from common import messages
from common.errors import DelosError
from common.ports import DocumentStore, PriceSource, RefreshQueue
from common.settings import Settings
from ingest_worker.__main__ import run_worker
from query_service.server import QueryService, load_and_follow, start

log = logging.getLogger("delos.run")
SAMPLE_QUESTION = ("BTC", 10_000.0)


def exchanges_reachable(settings: Settings) -> str | None:
    """None when at least one live exchange answers; otherwise one plain line saying why none does.

    Each exchange is asked for its pair list once, all at the same time, without retries: a machine
    with no network learns it in one timeout, not five.
    """
    probes = bootstrap.live_sources(dataclasses.replace(settings, max_retries=0, http_timeout_s=5.0))
    try:
        with ThreadPoolExecutor(max_workers=len(probes)) as pool:
            answers = list(pool.map(_answers, probes))
    finally:
        for probe in probes:
            probe.close()
    if any(answer is None for answer in answers):
        return None
    return f"no exchange can be reached ({answers[0]})"


def _answers(probe: PriceSource) -> str | None:
    try:
        probe.pairs()
        return None
    except DelosError as exc:
        return f"{probe.name}: {exc}"


def schedule(settings: Settings, queue: RefreshQueue, stop: threading.Event) -> None:
    """Publish a refresh of the configured coins now and every refresh interval."""
    body = messages.encode(messages.RefreshRequest(symbols=settings.coins))
    while True:
        try:
            queue.publish(body, {"origin": "local-scheduler", "run_key": str(int(time.time()))})
            log.info("scheduled a refresh of %d coins", len(settings.coins))
        except DelosError as exc:  # the scheduler must outlive a queue outage; the next tick retries
            log.warning("could not publish the scheduled refresh: %s", exc)
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


def supervised(name: str, target: Callable[[], None], stopping: threading.Event, died: Callable[[str], None]) -> None:
    """Run a thread's body; if it raises, or returns before `stopping` is set, report it through `died`."""
    try:
        target()
    except BaseException as exc:
        log.debug("the %s thread died", name, exc_info=True)
        died(f"the {name} thread died: {type(exc).__name__}: {exc}")
        return
    if not stopping.is_set():
        died(f"the {name} thread stopped on its own")


async def serve_all(settings: Settings, store: DocumentStore, queue: RefreshQueue, sample_data: bool) -> str | None:
    """Serve until a signal (None) or until a part fails for good (returns what failed)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    failures: list[str] = []

    def died(what: str) -> None:
        failures.append(what)
        stop.set()

    def died_in_thread(what: str) -> None:
        loop.call_soon_threadsafe(died, what)

    threads_stop = threading.Event()
    service = await start(settings.host, settings.port)
    loader = asyncio.create_task(load_and_follow(service, store, stopping=stop.is_set))

    def loaded(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            died(f"the cache could not load: {task.exception()}")

    loader.add_done_callback(loaded)
    bodies: dict[str, Callable[[], None]] = {
        "worker": lambda: run_worker(settings, threads_stop, store=store, queue=queue, sample_data=sample_data),
        "scheduler": lambda: schedule(settings, queue, threads_stop),
    }
    threads = [
        threading.Thread(target=supervised, args=(name, body, threads_stop, died_in_thread), name=name, daemon=True)
        for name, body in bodies.items()
    ]
    for thread in threads:
        thread.start()
    sample = asyncio.create_task(_print_sample_answer(service, stop, settings.coins))
    await stop.wait()
    print("\nStopping...", flush=True)
    threads_stop.set()
    for task in (loader, sample):
        task.cancel()
    await service.stop()
    for thread in threads:
        await asyncio.to_thread(thread.join, 10.0)
    return failures[0] if failures else None


def _serve_on(settings: Settings, sample_data: bool, reset_store: bool) -> int:
    with contextlib.ExitStack() as opened:
        try:
            store = bootstrap.document_store(settings, reset=reset_store)
            opened.callback(bootstrap.close, store)
            queue = bootstrap.opened_queue(settings, reset=reset_store)
            opened.callback(bootstrap.close, queue)
        except DelosError as exc:
            return bootstrap.fail("delos run", exc)
        with contextlib.suppress(KeyboardInterrupt):
            try:
                failure = asyncio.run(serve_all(settings, store, queue, sample_data))
            except DelosError as exc:
                return bootstrap.fail("delos run", exc)
            if failure is not None:
                print(f"delos run: {failure}; stopping", file=sys.stderr, flush=True)
                return bootstrap.EXIT_RUNTIME
    return 0


def run(settings: Settings, offline: bool, reset_store: bool = False) -> int:
    """Run everything until Ctrl-C; falls back to the sample exchange when the live one is unreachable."""
    if not offline:
        problem = exchanges_reachable(settings)
        if problem is not None:
            print(f"delos: {problem}; using the bundled sample history instead (answers are labelled sample data).")
            offline = True
    if not offline:
        return _serve_on(settings, sample_data=False, reset_store=reset_store)
    with sample_exchange() as urls:
        served = tuple(name for name in settings.exchanges if name in urls) or tuple(urls)
        sample_settings = dataclasses.replace(
            settings,
            exchanges=served,
            exchange_urls={**settings.exchange_urls, **urls},
            request_interval_s=0.0,
            data_dir=settings.data_dir / "sample",
        )
        return _serve_on(sample_settings, sample_data=True, reset_store=reset_store)
