"""The ingest worker's throughput and its own cost per coin, against a loopback fake exchange.

The worker's use case (`refresh_coin`) runs unchanged. Time spent inside HTTP
GETs (loopback transport plus the fake exchange building its answer) is
timed apart and subtracted, so what remains is the worker's own work: JSON
parsing, candle validation, the computation and the store write.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from common.candles import DAILY_MINUTES, WEEKLY_MINUTES
from common.document import CoinDocument
from fake_exchange import kraken_server
from fake_exchange.kraken_server import FakeKraken
from ingest_worker.kraken import KrakenPriceSource
from ingest_worker.refresh import refresh_coin

BATCH = 200


class BatchStore(Protocol):
    """What a store offers the batched ingest: the CoinStore reads and a batch write."""

    def get(self, symbol: str) -> CoinDocument | None: ...
    def save_all_if_better(self, docs: Sequence[CoinDocument]) -> list[bool]: ...
    def record_failure(self, symbol: str, reason: str, at: datetime) -> None: ...


@dataclass
class Batching:
    """A CoinStore whose writes are collected and sent `BATCH` at a time (one transaction each)."""

    store: BatchStore
    pending: list[CoinDocument] = field(default_factory=list)

    def get(self, symbol: str) -> CoinDocument | None:
        return self.store.get(symbol)

    def save_if_better(self, doc: CoinDocument) -> bool:
        self.pending.append(doc)
        if len(self.pending) >= BATCH:
            self.flush()
        return True  # the batch decides; refresh_coin only logs this

    def record_failure(self, symbol: str, reason: str, at: datetime) -> None:
        self.store.record_failure(symbol, reason, at)

    def flush(self) -> None:
        if self.pending:
            self.store.save_all_if_better(self.pending)
            self.pending = []


@dataclass(frozen=True)
class IngestResult:
    """Wall time of a whole ingest and how much of it went to HTTP GETs."""

    label: str
    coins: int
    wall_s: float
    http_s: float

    @property
    def coins_per_s(self) -> float:
        return self.coins / self.wall_s

    @property
    def worker_ms_per_coin(self) -> float:
        return (self.wall_s - self.http_s) / self.coins * 1000


class TimedGets:
    """Wraps an httpx.Client's `get` to add up the seconds spent inside it."""

    def __init__(self, get: Any) -> None:
        self._get = get
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._get(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def prewarm(fake: FakeKraken) -> float:
    """Have the fake exchange build and cache every answer the worker will ask for; returns the seconds it took.

    Its cache is enlarged to hold them all, so during the measured runs the
    exchange answers from memory, as a real one's CDN would, and the seconds in
    GETs are mostly transport.
    """
    kraken_server.CACHE_ENTRIES = max(kraken_server.CACHE_ENTRIES, 2 * len(fake.market) + 16)
    started = time.perf_counter()
    with httpx.Client(base_url=fake.base_url, trust_env=False, timeout=30) as client:
        for coin in fake.market:
            for interval in (WEEKLY_MINUTES, DAILY_MINUTES):
                client.get("/0/public/OHLC", params={"pair": coin.pair_name, "interval": str(interval)})
    return time.perf_counter() - started


def ingest(
    label: str, symbols: Sequence[str], base_url: str, store: Any, now: datetime, *, batched: bool
) -> IngestResult:
    """Refresh every symbol once, as the worker does, with writes one by one or in batches."""
    source = KrakenPriceSource(base_url, request_interval_s=0.0, max_retries=0)
    timed = TimedGets(source._client.get)  # noqa: SLF001 - the benchmark's one look inside the adapter
    source._client.get = timed  # type: ignore[method-assign]  # noqa: SLF001
    target = Batching(store) if batched else store
    try:
        source.usd_pairs()  # the pair list is fetched once per hour in production: not per-coin work
        timed.seconds = 0.0
        started = time.perf_counter()
        for symbol in symbols:
            refresh_coin(symbol, source, target, now, exchange="kraken")
        if isinstance(target, Batching):
            target.flush()
        wall = time.perf_counter() - started
    finally:
        source.close()
    return IngestResult(label, len(symbols), wall, timed.seconds)
