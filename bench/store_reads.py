"""Proof that answering reads nothing from the store: count SQLite statements by the thread that ran them.

The query service runs in this process on the embedded store, with every
SQLite connection traced. Requests are served on the event loop's thread;
the cache load runs in a worker thread and the change feed in its own, so
statements on the loop's thread during the calls are store reads on the
request path. Then the store is closed and its file removed, and the same
calls are answered again.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from backends.sqlite_store import SQLiteCoinStore
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from query_service.server import load_and_follow, start

LOAD_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class StoreReads:
    calls: int
    answered: int
    request_path_statements: int
    background_statements: int
    answered_with_store_gone: int


@contextmanager
def traced_sqlite(counts: Counter[str]) -> Iterator[None]:
    """Every connection opened meanwhile counts its statements under the executing thread's name."""
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = real_connect(*args, **kwargs)
        connection.set_trace_callback(lambda _sql: counts.update([threading.current_thread().name]))
        return connection

    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        yield
    finally:
        sqlite3.connect = real_connect


async def _ask_all(target: str, symbols: list[str], calls: int) -> int:
    answered = 0
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.LamboServiceStub(channel)
        for i in range(calls):
            answer = await stub.AskLambo(
                pb.AskLamboRequest(symbol=symbols[i % len(symbols)], investment_usd=1000 + i), timeout=10
            )
            answered += bool(answer.verdict)
    return answered


async def _measure(path: Path, symbols: list[str], calls: int, counts: Counter[str]) -> StoreReads:
    service = await start("127.0.0.1", 0)
    store = SQLiteCoinStore(path)
    loader = asyncio.create_task(load_and_follow(service, store))
    try:
        await asyncio.wait_for(loader, LOAD_TIMEOUT_S)
        target = f"127.0.0.1:{service.port}"
        loop_thread = threading.current_thread().name
        before = Counter(counts)
        answered = await _ask_all(target, symbols, calls)
        during = counts - before
        request_path = during[loop_thread]
        background = sum(during.values()) - request_path
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        answered_gone = await _ask_all(target, symbols, calls)
    finally:
        loader.cancel()
        await service.stop(0.5)
        store.close()
    return StoreReads(calls, answered, request_path, background, answered_gone)


def store_reads(path: Path, symbols: list[str], calls: int) -> StoreReads:
    """Serve `path`'s coins in-process and answer `calls` AskLambo calls, counting the store's statements."""
    counts: Counter[str] = Counter()
    with traced_sqlite(counts):
        return asyncio.run(_measure(path, symbols, calls, counts))
