"""ExchangeSource: the parts every live exchange adapter is made of, written once.

An adapter is an HTTP client with its exchange's own throttle and retries
(ExchangeHttp), a pair list fetched at most once per `pairs_ttl_s`
(CachedPairs), and a whole daily history held for a few minutes
(RecentHistories), because one refresh asks for it up to three times:
history(), first_day() and daily(). A subclass names its exchange and its
published request spacing, and says how its pair list and its daily candles
are read; its errors are still translated in its own module's `decode`.
Kraken, whose daily candles do not reach old listings, replaces the history
methods and leaves the held histories unused.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import ClassVar, Self, TypedDict

import httpx

from backends.exchange_http import ExchangeHttp, RetryPolicy
from backends.sources import PAIRS_TTL_S, CachedPairs, RecentHistories, first_traded_day, traded
from common.candles import DAILY_MINUTES, Candle, CandleSeries
from common.ports import FirstDay, Pair


class SourceOptions(TypedDict, total=False):
    """ExchangeSource's keyword arguments, for a subclass that takes one more of its own."""

    policy: RetryPolicy | None
    pairs_ttl_s: float
    sleep: Callable[[float], None]
    monotonic: Callable[[], float]
    rng: Callable[[], float]


class ExchangeSource:
    """A `common.ports.PriceSource` over one exchange's HTTP API; one instance may be shared by threads."""

    name: str  # set by each subclass; an instance attribute to the PriceSource protocol
    # The spacing of requests the exchange publishes (or that ccxt keeps to); bootstrap may override it.
    request_interval_s: ClassVar[float]
    # Whether daily(since) may be cut from a whole history read moments ago instead of asking again.
    daily_from_held_history: ClassVar[bool] = False

    def __init__(
        self,
        client: httpx.Client,
        *,
        policy: RetryPolicy | None = None,
        pairs_ttl_s: float = PAIRS_TTL_S,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._http = ExchangeHttp(
            self.name, client, policy or RetryPolicy(self.request_interval_s), sleep=sleep, monotonic=monotonic, rng=rng
        )
        self._pairs = CachedPairs(self.name, self._fetch_pairs, monotonic, pairs_ttl_s)
        self._histories = RecentHistories(monotonic)

    @property
    def requests(self) -> int:
        """Answers received so far (benchmarks divide wall time by it)."""
        return self._http.requests

    def pairs(self) -> Sequence[Pair]:
        """Every pair quoted in USD, USDT or USDC, one per symbol; the list is fetched at most once per TTL."""
        return self._pairs.all()

    def pair_for(self, symbol: str) -> Pair:
        """The preferred pair of `symbol`; UnknownSymbol if the exchange trades none."""
        return self._pairs.find(symbol)

    def first_day(self, pair: Pair) -> FirstDay:
        """The first day with trades in the pair's whole history, priced at its close."""
        return first_traded_day(self.history(pair), self._what(pair))

    def daily(self, pair: Pair, since: datetime | None = None) -> CandleSeries:
        """Days with trades, oldest first, from `since` (or the listing) to today's unfinished one."""
        if since is None:
            return self.history(pair)
        if self.daily_from_held_history:
            held = self._histories.since(pair.name, since)  # the same refresh read the whole history a moment ago
            if held is not None:
                return held
        return traded(self._daily_candles(pair, since), DAILY_MINUTES, self._what(pair), since=since)

    def history(self, pair: Pair) -> CandleSeries:
        """Every day with trades since the listing (daily candles reach it), reused for a few minutes."""
        return self._histories.get(
            pair.name, lambda: traded(self._daily_candles(pair, None), DAILY_MINUTES, self._what(pair))
        )

    def close(self) -> None:
        """Close the pooled connections of the client bootstrap gave us."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _what(self, pair: Pair) -> str:
        """How errors and logs name the pair: `Bitstamp btcusd`."""
        return f"{self.name.capitalize()} {pair.name}"

    def _fetch_pairs(self) -> tuple[Pair, ...]:
        """The exchange's pairs, one per symbol (see backends.sources.preferred_pairs)."""
        raise NotImplementedError

    def _daily_candles(self, pair: Pair, since: datetime | None) -> Iterable[Candle]:
        """The daily candles from `since` (from the listing when None), in any order, flat days included."""
        raise NotImplementedError
