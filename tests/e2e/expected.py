"""Expected answers computed from the fake market's rows with the domain's own rules (common/), not by Delos's
adapters: each exchange's first trading day, the earliest of them, the price exchange and its last month."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from common.candles import DAILY_MINUTES, Candle, CandleSeries, utc_from_unix
from common.exchanges import ARCHIVED_MARKETS, LIVE_EXCHANGES
from common.listings import ExchangeListing, earliest, from_first_day, price_exchange, sorted_listings, traded
from common.ports import FirstDay
from common.prices import last_month_from
from delos.v1 import lambo_pb2 as pb
from fake_exchange import FakeCoin

# Exchanges whose daily answer carries the day's VWAP (Kraken from the day's trades, whose VWAP the fake makes
# the row's; Binance as quote volume / base volume): their listing is priced at it, the others at the close.
DAILY_VWAP = frozenset({"kraken", "binance"})


@dataclass(frozen=True)
class Expected:
    listing: ExchangeListing
    listings: tuple[ExchangeListing, ...]
    price_exchange: str
    mean_close: float
    as_of: int

    @property
    def listing_time(self) -> int:
        return int(self.listing.listing_date.timestamp())

    @property
    def listing_price(self) -> float:
        return self.listing.listing_price_usd


def daily_series(coin: FakeCoin, exchange: str) -> CandleSeries:
    """The coin's daily candles on `exchange` as the fake serves them: none on its days without trades."""
    venue = coin.venue(exchange)
    rows = [] if venue is None else [r for r in coin.rows_on(exchange) if not venue.is_quiet(r[0])]
    candles = (Candle(utc_from_unix(t), o, h, lo, c, vwap, volume) for t, o, h, lo, c, vwap, volume, _ in rows)
    return traded(CandleSeries(DAILY_MINUTES, tuple(candles)))


def exchange_listing(coin: FakeCoin, exchange: str) -> ExchangeListing | None:
    """The coin's listing on `exchange` (pair left blank: each fake names it its own way), None if absent."""
    venue = coin.venue(exchange)
    series = daily_series(coin, exchange)
    if venue is None or not series.candles:
        return None
    first = series.candles[0]
    price = first.vwap if exchange in DAILY_VWAP else first.close
    day = FirstDay(first.open_time, price, first.volume * price, price_is_vwap=exchange in DAILY_VWAP)
    return from_first_day(exchange, "", venue.quote, day)


def expected_for(
    coin: FakeCoin,
    now_unix: float,
    exchanges: Sequence[str] = LIVE_EXCHANGES,
    archive: Sequence[ExchangeListing] = (),
) -> Expected:
    """What Delos should answer for `coin` with `exchanges` enabled (and the archive's listings, if enabled)."""
    now = utc_from_unix(now_unix)
    order = (*ARCHIVED_MARKETS, *exchanges)
    found = [x for x in (exchange_listing(coin, name) for name in exchanges) if x is not None]
    listings = sorted_listings([*archive, *found], order)
    daily = {name: daily_series(coin, name) for name in exchanges if coin.venue(name) is not None}
    chosen = price_exchange(daily, exchanges, now).exchange
    month = last_month_from(daily[chosen], now)
    return Expected(earliest(listings, order), listings, chosen, month.mean_close, int(month.end.timestamp()))


def archive_listings(symbol: str) -> tuple[ExchangeListing, ...]:
    """The shipped archive's listings of `symbol`, as its files give them (they are real data, not fakes)."""
    from backends.archive import ArchivePriceSource
    from common.errors import UnknownSymbol
    from common.settings import DEFAULT_ARCHIVE_DIR

    found = []
    for market in ArchivePriceSource(DEFAULT_ARCHIVE_DIR).per_market():
        try:
            pair = market.pair_for(symbol)
        except UnknownSymbol:
            continue
        found.append(from_first_day(market.name, pair.name, pair.quote, market.first_day(pair)))
    return tuple(found)


def days_of(listings: Iterable[ExchangeListing]) -> list[tuple[str, datetime]]:
    """(exchange, listing day) of each listing, in order."""
    return [(x.exchange, x.listing_date) for x in listings]


def answered_days(answer: pb.AskLamboResponse) -> list[tuple[str, datetime]]:
    """(exchange, listing day) of each listing an answer carries, in order."""
    return [(x.exchange, x.listing_date.ToDatetime(tzinfo=UTC)) for x in answer.listings]


def assert_answer(answer: pb.AskLamboResponse, expected: Expected) -> None:
    """The listing is the earliest real trading day, every exchange's listing is carried, the month is the
    price exchange's, and the listing is final (every exchange answered)."""
    assert (answer.exchange, answer.listing_date.seconds) == (expected.listing.exchange, expected.listing_time)
    assert answer.listing_source == expected.listing.source and answer.listing_complete is True
    assert answer.listing_price_usd == pytest.approx(expected.listing_price, rel=1e-5)
    assert answered_days(answer) == days_of(expected.listings)
    prices = [x.listing_price_usd for x in answer.listings]
    assert prices == pytest.approx([x.listing_price_usd for x in expected.listings], rel=1e-5)
    assert answer.price_exchange == expected.price_exchange, (answer.price_exchange, answer.price_pair, answer.stale)
    assert answer.sell_price_usd == pytest.approx(expected.mean_close, rel=1e-5)
    assert answer.as_of.seconds == expected.as_of
    assert answer.coins_bought == pytest.approx(1000 / expected.listing_price, rel=1e-5)
    assert answer.stale is False
