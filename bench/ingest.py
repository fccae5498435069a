"""The ingest worker's throughput and its own cost per coin, against the five loopback fake exchanges.

The worker's use case runs unchanged over the adapters bootstrap builds. Time
in which some HTTP GET is in flight (loopback transport plus the fake exchange
building its answer) is added up as one span per overlap, so that the five
exchanges asked in parallel count once; what remains of the wall time is the
worker's own work: parsing, validation, the decision and the store's round trips.
A FIRST refresh reads every exchange's full history; a DAILY one finds the
documents stored and reads only what is new.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import bootstrap
from common.ports import CoinStore, PriceSource
from common.settings import Settings
from fake_exchange.market import FakeMarket
from fake_exchange.registry import FAKES, fake_class
from fake_exchange.server import FakeExchange

Refresh = Callable[[Sequence[str], Sequence[PriceSource], CoinStore, datetime], None]


@dataclass(frozen=True)
class IngestResult:
    """Wall time of a whole ingest and how much of it some HTTP GET was in flight."""

    label: str
    coins: int
    wall_s: float
    http_s: float
    requests: int

    @property
    def coins_per_s(self) -> float:
        return self.coins / self.wall_s

    @property
    def worker_ms_per_coin(self) -> float:
        return max(0.0, self.wall_s - self.http_s) / self.coins * 1000


class InFlight:
    """The seconds during which at least one wrapped call was running, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._since = 0.0
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                if self._running == 0:
                    self._since = time.perf_counter()
                self._running += 1
            try:
                return call(*args, **kwargs)
            finally:
                with self._lock:
                    self._running -= 1
                    self.calls += 1
                    if self._running == 0:
                        self.seconds += time.perf_counter() - self._since

        return timed

    def reset(self) -> None:
        with self._lock:
            self.seconds, self.calls = 0.0, 0


@dataclass
class Clock:
    """The fake exchanges' time: a first refresh runs a day before the daily one, which then finds one new day."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@contextlib.contextmanager
def fake_exchanges(market: FakeMarket, clock: Clock) -> Iterator[dict[str, FakeExchange]]:
    """Every fake exchange serving `market` as of `clock` on 127.0.0.1 port 0 for the duration."""
    with contextlib.ExitStack() as stack:
        fakes = {}
        for exchange in FAKES:
            fake = fake_class(exchange)(market, now=clock)
            fake.start()
            stack.callback(fake.stop)
            fakes[exchange] = fake
        yield fakes


def timed_sources(fakes: Mapping[str, FakeExchange], in_flight: InFlight, *, throttled: bool) -> list[PriceSource]:
    """The adapters bootstrap builds for the fakes, each client's GETs timed by `in_flight`.

    Unthrottled (`throttled` False), requests go out back to back; throttled, each
    adapter spaces them at its exchange's published rate, as in production.
    """
    settings = Settings(
        exchange_urls={name: fake.base_url for name, fake in fakes.items()},
        request_interval_s=None if throttled else 0.0,
        max_retries=4 if throttled else 0,
        archive_dir=None,
    )
    sources = bootstrap.live_sources(settings)
    for source in sources:
        client = source._http._client  # type: ignore[attr-defined]  # noqa: SLF001 - the benchmark's one look inside
        client.get = in_flight.wrap(client.get)
    return sources


def requests_made(sources: Sequence[PriceSource]) -> int:
    """Answers received by every adapter so far (each counts its own)."""
    return sum(int(getattr(source, "requests", 0)) for source in sources)


def warm_pair_lists(sources: Sequence[PriceSource]) -> None:
    """Read each exchange's pair list once: production reads it hourly, not per coin."""
    for source in sources:
        source.pairs()


def ingest(
    label: str,
    symbols: Sequence[str],
    sources: Sequence[PriceSource],
    in_flight: InFlight,
    store: CoinStore,
    now: datetime,
    refresh: Refresh,
) -> IngestResult:
    """Refresh every symbol once with `refresh`; the wall time and the time some GET was in flight."""
    before = requests_made(sources)
    in_flight.reset()
    started = time.perf_counter()
    refresh(symbols, sources, store, now)
    wall = time.perf_counter() - started
    return IngestResult(label, len(symbols), wall, in_flight.seconds, requests_made(sources) - before)
