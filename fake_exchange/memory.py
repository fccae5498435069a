"""InMemoryPriceSource: one exchange of the synthetic market as a PriceSource, without HTTP.

The in-memory twin of the exchange adapters, for unit tests of the listing
rules and the refresh use case: it keeps the same promises (see
tests/contract/test_price_sources.py, which runs it beside the real adapters)
and can be told that its exchange is down.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from common.candles import DAILY_MINUTES, Candle, CandleSeries, validated
from common.errors import BadPriceData, DelosError, UnknownSymbol
from common.ports import FirstDay, Pair
from fake_exchange.market import FakeMarket, day_start

# Exchanges that give a listing day's VWAP at daily resolution (Kraken from Trades, Binance from its klines).
VWAP_EXCHANGES = frozenset({"kraken", "binance"})


class InMemoryPriceSource:
    """The market's coins as `exchange` lists them (see FakeCoin.venue), up to `now()`'s unfinished day."""

    def __init__(self, market: FakeMarket, exchange: str, now: Callable[[], datetime]) -> None:
        self.name = exchange
        self.market = market
        self._now = now
        self.down: DelosError | None = None  # set to make every call fail with it (the exchange is down)
        self.calls = 0

    def pairs(self) -> Sequence[Pair]:
        self._call()
        out = []
        for coin in self.market:
            venue = coin.venue(self.name)
            if venue is not None and coin.status == "online":
                out.append(Pair(coin.symbol, f"{coin.symbol}-{venue.quote}", venue.quote))
        return out

    def pair_for(self, symbol: str) -> Pair:
        wanted = symbol.strip().upper()
        for pair in self.pairs():
            if pair.symbol == wanted:
                return pair
        raise UnknownSymbol(f"{self.name} has no USD, USDT or USDC pair for {wanted}")

    def first_day(self, pair: Pair) -> FirstDay:
        candles = self._candles(pair, None)
        if not candles:
            raise BadPriceData(f"{self.name} {pair.name}: the pair never traded")
        first = candles[0]
        vwap = self.name in VWAP_EXCHANGES
        price = first.vwap if vwap else first.close
        return FirstDay(first.open_time, price, first.volume * price, price_is_vwap=vwap)

    def daily(self, pair: Pair, since: datetime | None = None) -> CandleSeries:
        candles = self._candles(pair, since)
        if not candles and since is None:
            raise BadPriceData(f"{self.name} {pair.name}: no candle with trades")
        today = datetime.fromtimestamp(day_start(self._now()), UTC)
        return CandleSeries(DAILY_MINUTES, validated(candles) if candles else (), today - timedelta(days=1))

    def history(self, pair: Pair) -> CandleSeries:
        return self.daily(pair)

    def close(self) -> None:
        """Nothing to release."""

    def _call(self) -> None:
        self.calls += 1
        if self.down is not None:
            raise self.down

    def _candles(self, pair: Pair, since: datetime | None) -> list[Candle]:
        self._call()
        symbol, _, quote = pair.name.partition("-")
        coin = next((c for c in self.market if c.symbol == symbol), None)
        venue = coin.venue(self.name) if coin is not None else None
        if coin is None or venue is None or venue.quote != quote:
            raise UnknownSymbol(f"{self.name} has no pair {pair.name}")
        now = self._now().timestamp()
        floor = since.timestamp() if since is not None else -1.0
        return [
            Candle(datetime.fromtimestamp(t, UTC), o, h, low, c, vwap, volume)
            for t, o, h, low, c, vwap, volume, _count in coin.rows_on(self.name)
            if t <= now and t >= floor and volume > 0 and not venue.is_quiet(t)
        ]
