"""The synthetic market's venues: each coin's listing day per exchange, absences, and the in-memory twin."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from common.errors import ExchangeUnavailable
from common.exchanges import LIVE_EXCHANGES
from fake_exchange.market import Venue, day_start, sample_market, synthetic_market
from fake_exchange.memory import InMemoryPriceSource
from fake_exchange.ohlc import DAY_S

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)


def _day(iso: str) -> int:
    return day_start(datetime.fromisoformat(iso).replace(tzinfo=UTC))


def test_sample_coins_list_on_each_exchange_on_their_own_day() -> None:
    market = sample_market(NOW)
    btc = market.by_symbol("BTC")
    listed = {name: venue.listed for name in LIVE_EXCHANGES if (venue := btc.venue(name)) is not None}
    assert listed == {
        "kraken": _day("2013-10-06"),
        "bitstamp": _day("2011-09-13"),
        "bitfinex": _day("2013-04-01"),
        "coinbase": _day("2014-12-01"),
        "binance": _day("2017-08-17"),
    }
    assert btc.venue("binance") == Venue(_day("2017-08-17"), "USDT", 0)  # Binance pairs are USDT-quoted
    assert market.by_symbol("ATOM").venue("bitstamp") is None
    assert market.by_symbol("ADA").venue("bitfinex") is None


def test_rows_on_an_exchange_start_at_its_listing_and_continue_the_kraken_rows() -> None:
    btc = sample_market(NOW).by_symbol("BTC")
    on_bitstamp = btc.rows_on("bitstamp")
    assert on_bitstamp[0][0] == _day("2011-09-13")
    assert on_bitstamp[-1] == btc.daily[-1]
    assert btc.rows_on("kraken") is btc.daily  # Kraken's rows are the coin's rows, as before venues
    seam = next(i for i, row in enumerate(on_bitstamp) if row[0] == btc.daily[0][0])
    assert on_bitstamp[seam - 1][4] == pytest.approx(btc.daily[0][1])  # the early walk closes where Kraken opens
    assert all(b[0] - a[0] == DAY_S for a, b in zip(on_bitstamp, on_bitstamp[1:], strict=False))


def test_quiet_days_come_after_the_listing_at_their_period() -> None:
    venue = Venue(_day("2020-01-01"), "USD", quiet_every=10)
    assert not venue.is_quiet(venue.listed)
    assert venue.is_quiet(venue.listed + 10 * DAY_S) and not venue.is_quiet(venue.listed + 9 * DAY_S)
    assert not Venue(venue.listed).is_quiet(venue.listed + 10 * DAY_S)


def test_synthetic_coins_are_on_kraken_and_often_elsewhere_deterministically() -> None:
    started = time.perf_counter()
    market = synthetic_market(1000, NOW, days=800)
    assert time.perf_counter() - started < 1.0
    coins = list(market)
    assert all(c.venue("kraken") == Venue(c.daily[0][0]) for c in coins)
    for exchange in ("bitstamp", "bitfinex", "coinbase", "binance"):
        present = [c for c in coins if c.venue(exchange) is not None]
        assert 700 < len(present) < 900
        assert all(0 <= (c.venue(exchange).listed - c.daily[0][0]) // DAY_S < 16 for c in present)  # type: ignore[union-attr]
    again = synthetic_market(1000, NOW, days=800)
    assert [c.venues for c in coins] == [c.venues for c in again]


def test_a_coin_built_without_venues_is_on_kraken_only() -> None:
    coin = next(iter(sample_market(NOW)))
    bare = type(coin)(coin.symbol, coin.pair_name, coin.altname, coin.wsname, coin.base, coin.quote, coin.daily)
    assert bare.venue("kraken") == Venue(coin.daily[0][0])
    assert bare.venue("bitstamp") is None and bare.rows_on("bitstamp") == ()


def test_the_in_memory_source_can_be_told_its_exchange_is_down() -> None:
    source = InMemoryPriceSource(sample_market(NOW), "bitfinex", lambda: NOW)
    pair = source.pair_for("BTC")
    source.down = ExchangeUnavailable("bitfinex: maintenance")
    with pytest.raises(ExchangeUnavailable):
        source.first_day(pair)
    source.down = None
    assert source.first_day(pair).day == datetime(2013, 4, 1, tzinfo=UTC)
