"""Shared pieces of the fault scenarios: stored state read straight from the files, reference documents,
and the query service run in-process on a loop of its own."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backends.exchange_http import RetryPolicy, http_client
from backends.kraken import KrakenPriceSource
from backends.sqlite_store import SQLiteCoinStore
from common.ports import CoinFeed
from ingest_worker.refresh import refresh_coin
from query_service.cache import CoinCache
from query_service.server import QueryService, load_and_follow, start

START_TIMEOUT_S = 30.0


def read_only(db: Path) -> sqlite3.Connection:
    """A connection that never creates the file: an empty file where a store belongs is a damaged store."""
    return sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True, timeout=5)


def stored_rows(db: Path) -> dict[str, dict[str, Any]]:
    """Every row of the embedded store's coins table, keyed as stored, its JSON parsed (a torn row fails here)."""
    with closing(read_only(db)) as connection:
        rows = connection.execute("SELECT symbol, doc FROM coins ORDER BY symbol").fetchall()
    return {str(symbol): json.loads(doc) for symbol, doc in rows}


def facts(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document without `computed_at`: two correct refreshes agree on everything else."""
    return {key: value for key, value in doc.items() if key != "computed_at"}


def reference_facts(base_url: str, symbols: Iterable[str], folder: Path) -> dict[str, dict[str, Any]]:
    """What one uninterrupted refresh of each coin from Kraken alone stores (KRAKEN_ONLY settings): the state
    every Kraken fault scenario must converge to."""
    folder.mkdir(parents=True, exist_ok=True)
    store = SQLiteCoinStore(folder / "reference.sqlite3")
    try:
        policy = RetryPolicy(request_interval_s=0, max_retries=0)
        with KrakenPriceSource(http_client(base_url, 10.0), policy=policy) as source:
            for symbol in symbols:
                refresh_coin(symbol, [source], store, datetime.now(UTC))
    finally:
        store.close()
    return {symbol: facts(doc) for symbol, doc in stored_rows(folder / "reference.sqlite3").items()}


def queue_counts(db: Path) -> tuple[int, int]:
    """(messages still pending, dead letters) in the embedded queue's file."""
    with closing(read_only(db)) as connection:
        pending = connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        dead = connection.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    return int(pending), int(dead)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


class InProcessServer:
    """The real query service (`query_service.server.start`) on 127.0.0.1:0, on an event loop in a thread."""

    def __init__(self, cache: CoinCache | None = None, feed: CoinFeed | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="query-service-loop", daemon=True)
        self._thread.start()
        self.service: QueryService = self.run(start("127.0.0.1", 0, cache))
        if feed is not None:
            self.run(asyncio.wait_for(load_and_follow(self.service, feed), START_TIMEOUT_S))
        else:
            self.service.cache.loaded = True
            self.run(self.service.set_serving(True))
        self.target = f"127.0.0.1:{self.service.port}"

    def run(self, coroutine: Any, timeout_s: float = START_TIMEOUT_S) -> Any:
        """Run a coroutine on the server's loop and wait (bounded) for its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=timeout_s)

    def close(self, grace_s: float = 1.0) -> None:
        self.run(self.service.stop(grace_s))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def fresh_document(symbol: str, **overrides: Any) -> Any:
    """A valid document whose latest day closed at today's midnight: answered as not stale."""
    from tests.factories import make_document

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return make_document(symbol, as_of=today, **overrides)


def seed_store(db: Path, symbols: Iterable[str]) -> None:
    """Write a fresh document per symbol into the embedded store, as a worker would."""
    store = SQLiteCoinStore(db)
    try:
        store.save_all_if_better([fresh_document(symbol) for symbol in symbols])
    finally:
        store.close()
