"""What the exchange adapters share beyond HTTP: choosing one pair per coin, caching the pair list, building series.

Kept here so that every adapter applies the same rules: USD preferred, else
USDT, else USDC (common.exchanges.QUOTES); days without trades are never
candles; an empty history is an error only when the whole history was asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from common.candles import Candle, CandleSeries, validated
from common.errors import BadPriceData, InvalidRequest, UnknownSymbol
from common.exchanges import QUOTES, common_symbol
from common.ports import FirstDay, Pair
from common.symbols import normalize_symbol

PAIRS_TTL_S = 3600.0


def our_symbol(exchange: str, code: str) -> str | None:
    """Our symbol for an exchange's base asset code (renames applied), or None when it cannot be one."""
    try:
        return normalize_symbol(common_symbol(exchange, code))
    except InvalidRequest:
        return None


def market_pair(exchange: str, base: object, quote: object, name: object) -> Pair | None:
    """One listed market as a Pair, or None when it cannot be one of ours: it has no name, its quote is
    not one Delos takes, or its base is no symbol of ours."""
    quote = str(quote).upper()
    if quote not in QUOTES or not isinstance(name, str):
        return None
    symbol = our_symbol(exchange, str(base))
    return None if symbol is None else Pair(symbol=symbol, name=name, quote=quote)


def preferred_pairs(candidates: Iterable[Pair | None]) -> tuple[Pair, ...]:
    """One pair per symbol: the first in QUOTES order (USD, then USDT, then USDC); other quotes and None are skipped."""
    best: dict[str, Pair] = {}
    for pair in candidates:
        if pair is None or pair.quote not in QUOTES:
            continue
        held = best.get(pair.symbol)
        if held is None or QUOTES.index(pair.quote) < QUOTES.index(held.quote):
            best[pair.symbol] = pair
    return tuple(best.values())


class CachedPairs:
    """An exchange's pair list, fetched at most once per `ttl_s`; thread-safe."""

    def __init__(
        self, exchange: str, fetch: Callable[[], Sequence[Pair]], monotonic: Callable[[], float], ttl_s: float
    ) -> None:
        self._exchange = exchange
        self._fetch = fetch
        self._monotonic = monotonic
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._held: tuple[tuple[Pair, ...], float] | None = None

    def all(self) -> tuple[Pair, ...]:
        with self._lock:
            if self._held is None or self._monotonic() - self._held[1] >= self._ttl_s:
                self._held = (tuple(self._fetch()), self._monotonic())
            return self._held[0]

    def find(self, symbol: str) -> Pair:
        """The pair of `symbol`; UnknownSymbol if the exchange lists none in a quote Delos takes."""
        wanted = symbol.strip().upper()
        for pair in self.all():
            if pair.symbol == wanted:
                return pair
        raise UnknownSymbol(f"{self._exchange.capitalize()} has no USD, USDT or USDC pair for {wanted}")


def traded(
    candles: Iterable[Candle],
    interval_minutes: int,
    what: str,
    *,
    since: datetime | None = None,
    last_committed: datetime | None = None,
) -> CandleSeries:
    """A validated series of the candles that saw trades (volume > 0), opened at or after `since`.

    Empty is fine when only recent candles were asked for (nothing new yet); the whole history
    of a listed pair being empty is BadPriceData.
    """
    kept = [c for c in candles if c.volume > 0 and (since is None or c.open_time >= since)]
    if not kept:
        if since is None:
            raise BadPriceData(f"{what}: no candle with trades")
        return CandleSeries(interval_minutes, (), last_committed)
    return CandleSeries(interval_minutes, validated(kept), last_committed)


class RecentHistories:
    """Whole histories read in the last `ttl_s`, by pair name, so that first_day() after history()
    (or the reverse) in one refresh costs no second walk; at most `kept` pairs. Thread-safe."""

    def __init__(self, monotonic: Callable[[], float], ttl_s: float = 300.0, kept: int = 16) -> None:
        self._monotonic = monotonic
        self._ttl_s = ttl_s
        self._kept = kept
        self._lock = threading.Lock()
        self._held: dict[str, tuple[float, CandleSeries]] = {}

    def peek(self, name: str) -> CandleSeries | None:
        """The history read within `ttl_s`, if any."""
        now = self._monotonic()
        with self._lock:
            held = self._held.get(name)
            return held[1] if held is not None and now - held[0] < self._ttl_s else None

    def since(self, name: str, since: datetime) -> CandleSeries | None:
        """The held history's candles opened at or after `since`, if a history is held."""
        held = self.peek(name)
        if held is None:
            return None
        kept = tuple(c for c in held.candles if c.open_time >= since)
        return CandleSeries(held.interval_minutes, validated(kept) if kept else (), held.last_committed)

    def get(self, name: str, read: Callable[[], CandleSeries]) -> CandleSeries:
        held = self.peek(name)
        if held is not None:
            return held
        series = read()  # outside the lock: another pair's walk must not wait for this one
        with self._lock:
            self._held[name] = (self._monotonic(), series)
            while len(self._held) > self._kept:
                del self._held[min(self._held, key=lambda k: self._held[k][0])]
        return series


def first_traded_day(series: CandleSeries, what: str) -> FirstDay:
    """The listing from a daily series without zero-volume days: its first day, priced at its close."""
    if not series.candles:
        raise BadPriceData(f"{what}: the pair never traded")
    first = series.candles[0]
    return FirstDay(
        day=first.open_time, price_usd=first.close, volume_usd=first.volume * first.close, price_is_vwap=False
    )
