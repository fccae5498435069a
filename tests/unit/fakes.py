"""Small in-memory fakes of Delos's ports, for unit tests of the use cases."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from common.candles import DAILY_MINUTES, Candle, CandleSeries
from common.document import CoinDocument, is_improvement
from common.errors import BadPriceData, DelosError, ExchangeUnavailable, UnknownSymbol
from common.ports import Delivery, FirstDay, Pair, Verdict
from common.prices import LastMonth, Listing

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def candle(open_time: datetime, close: float, *, vwap: float | None = None, volume: float = 10.0) -> Candle:
    return Candle(open_time, close, close * 1.01, close * 0.99, close, close if vwap is None else vwap, volume)


def series(start: datetime, end: datetime, interval_minutes: int, price: Callable[[int], float]) -> CandleSeries:
    """Candles every interval from `start` up to and including the one open at `end` (the unfinished one)."""
    step = timedelta(minutes=interval_minutes)
    candles, t, i = [], start, 0
    while t <= end:
        candles.append(candle(t, price(i)))
        t, i = t + step, i + 1
    return CandleSeries(interval_minutes, tuple(candles))


@dataclass
class FakeCoin:
    """One coin's pair on a fake exchange: its daily candles (zero-volume days allowed, as raw data)
    and, for an exchange whose daily answer is cut short, a coarser history and the first day."""

    pair: str
    daily: tuple[Candle, ...]
    quote: str = "USD"
    coarse: CandleSeries | None = None  # Kraken's weekly: reaches the listing where daily does not
    daily_days: int | None = None  # only this many most recent daily candles are served (Kraken: 720)
    first: FirstDay | None = None  # the first day when daily does not reach it (Kraken's Trades)


@dataclass
class FakePriceSource:
    """A PriceSource over fixed candles, honest to the port.

    `down` makes every call raise ExchangeUnavailable; `failures` maps a symbol to the errors
    its next calls raise, one each. `calls` records (method, symbol) in order.
    """

    name: str
    coins: dict[str, FakeCoin]
    down: bool = False
    failures: dict[str, list[DelosError]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    closed: bool = False

    def _enter(self, method: str, symbol: str) -> None:
        self.calls.append((method, symbol))
        if self.down:
            raise ExchangeUnavailable(f"{self.name} is down")
        pending = self.failures.get(symbol)
        if pending:
            raise pending.pop(0)

    def pairs(self) -> Sequence[Pair]:
        self._enter("pairs", "*")
        return [Pair(s, c.pair, c.quote) for s, c in sorted(self.coins.items())]

    def pair_for(self, symbol: str) -> Pair:
        self._enter("pair_for", symbol)
        if symbol not in self.coins:
            raise UnknownSymbol(f"{self.name} has no pair for {symbol}")
        coin = self.coins[symbol]
        return Pair(symbol, coin.pair, coin.quote)

    def _traded(self, pair: Pair) -> list[Candle]:
        return [c for c in self.coins[pair.symbol].daily if c.volume > 0]

    def first_day(self, pair: Pair) -> FirstDay:
        self._enter("first_day", pair.symbol)
        coin = self.coins[pair.symbol]
        if coin.first is not None:
            return coin.first
        days = self._traded(pair)
        if not days:
            raise BadPriceData(f"{pair.name} never traded")
        first = days[0]
        return FirstDay(first.open_time, first.vwap or first.close, first.volume * first.close, first.vwap > 0)

    def daily(self, pair: Pair, since: datetime | None = None) -> CandleSeries:
        self._enter("daily", pair.symbol)
        days = self._traded(pair)
        limit = self.coins[pair.symbol].daily_days
        if limit is not None:
            days = days[-limit:]
        return CandleSeries(DAILY_MINUTES, tuple(c for c in days if since is None or c.open_time >= since))

    def history(self, pair: Pair) -> CandleSeries:
        self._enter("history", pair.symbol)
        coin = self.coins[pair.symbol]
        if coin.coarse is not None:
            return coin.coarse
        return CandleSeries(DAILY_MINUTES, tuple(self._traded(pair)))

    def close(self) -> None:
        self.closed = True


def daily_candles(
    first: datetime, last: datetime, price: Callable[[int], float], volume: Callable[[int], float] = lambda i: 10.0
) -> tuple[Candle, ...]:
    """One daily candle per day from `first` to `last` inclusive (the last may be unfinished)."""
    days = (last - first).days
    return tuple(
        Candle(first + timedelta(days=i), price(i), price(i) * 1.01, price(i) * 0.99, price(i), price(i), volume(i))
        for i in range(days + 1)
    )


def coin_series(listed: datetime, now: datetime, first_price: float, growth_per_day: float) -> dict[int, CandleSeries]:
    """Weekly and daily series of a coin growing geometrically from `first_price` at listing."""

    def at(step_days: int) -> Callable[[int], float]:
        return lambda i: first_price * (1 + growth_per_day) ** (i * step_days)

    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    daily_start = max(listed, day0 - timedelta(days=719))
    days_since_listing = (daily_start - listed).days
    return {
        10080: series(listed, now - timedelta(days=1), 10080, at(7)),
        DAILY_MINUTES: series(
            daily_start, day0, DAILY_MINUTES, lambda i: first_price * (1 + growth_per_day) ** (days_since_listing + i)
        ),
    }


class InMemoryCoinStore:
    """CoinStore + CoinFeed in a dict; the same rules as the real stores."""

    def __init__(self) -> None:
        self.docs: dict[str, CoinDocument] = {}
        self.failures: dict[str, tuple[str, datetime]] = {}
        self.lock = threading.Lock()

    def get(self, symbol: str) -> CoinDocument | None:
        return self.docs.get(symbol)

    def get_many(self, symbols: Sequence[str]) -> dict[str, CoinDocument]:
        return {symbol: self.docs[symbol] for symbol in symbols if symbol in self.docs}

    def save_all_if_better(self, docs: Sequence[CoinDocument]) -> list[bool]:
        return [self.save_if_better(doc) for doc in docs]

    def save_if_better(self, doc: CoinDocument) -> bool:
        with self.lock:
            if not is_improvement(doc, self.docs.get(doc.symbol)):
                return False
            self.docs[doc.symbol] = doc
            return True

    def record_failure(self, symbol: str, reason: str, at: datetime) -> None:
        self.failures[symbol] = (reason, at)


@dataclass
class RecordingQueue:
    """A RefreshQueue that only records what is published."""

    published: list[tuple[bytes, Mapping[str, str]]] = field(default_factory=list)

    def publish(self, body: bytes, attributes: Mapping[str, str] | None = None) -> str:
        self.published.append((body, dict(attributes or {})))
        return str(len(self.published))

    def consume(self, handler: Callable[[Delivery], Verdict], stop: threading.Event) -> None:
        raise NotImplementedError("publish-only fake")


def month_coin(listing_price: float, closes: tuple[float, ...], as_of: datetime) -> CoinDocument:
    """An ETH document listed at `listing_price` whose last month holds `closes`, one a day up to `as_of`."""
    day = timedelta(days=1)
    close_times = tuple(as_of - day * (len(closes) - i) for i in range(len(closes)))
    return CoinDocument(
        symbol="ETH",
        exchange="kraken",
        pair="XETHZUSD",
        listing=Listing(datetime(2016, 1, 7, tzinfo=UTC), listing_price, 10080, may_be_truncated=False),
        last_month=LastMonth(start=as_of - 30 * day, end=as_of, close_times=close_times, closes=closes),
        history_times=[],
        history_closes=[],
        computed_at=as_of,
    )
