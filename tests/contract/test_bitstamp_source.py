"""BitstampPriceSource against FakeBitstamp on 127.0.0.1: walking back with `end`, flat days, the pair lists.

The contracts every adapter shares (errors, retries, timeouts) are in test_price_sources.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backends.bitstamp import LIMIT, BitstampPriceSource, decode
from backends.exchange_http import Answer
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.ports import Pair
from fake_exchange import FakeCoin, FakeMarket, sample_market
from fake_exchange.bitstamp_server import FLAT_LEAD_DAYS, FakeBitstamp
from fake_exchange.market import day_start
from fake_exchange.ohlc import DAY_S, Row
from tests.contract.exchange_cases import FakeClock, quick_source, venue_coin

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
TODAY = datetime(2026, 3, 4, tzinfo=UTC)
BTC = Pair("BTC", "btcusd", "USD")


def _coin(symbol: str, days: int, *, volume: float = 10.0, quote: str = "USD") -> FakeCoin:
    first = day_start(NOW) - (days - 1) * DAY_S
    rows: list[Row] = [(first + d * DAY_S, 2.0, 2.2, 1.8, 2.1, 2.0, volume, 5) for d in range(days)]
    return venue_coin("bitstamp", symbol, rows, quote)


@pytest.fixture
def market() -> FakeMarket:
    m = sample_market(NOW)
    m.add(_coin("QUIET", 30, volume=0.0))  # listed, never traded
    m.add(_coin("TUSD", 30, quote="USDT"))
    return m


@pytest.fixture
def fake(market: FakeMarket) -> Iterator[FakeBitstamp]:
    with FakeBitstamp(market, now=lambda: NOW) as server:
        yield server


@pytest.fixture
def source(fake: FakeBitstamp) -> Iterator[BitstampPriceSource]:
    with quick_source(BitstampPriceSource, fake.base_url, FakeClock(), max_retries=2) as adapter:
        yield adapter


def _ohlc(fake: FakeBitstamp, pair: str, **params: int) -> httpx.Response:
    return httpx.get(f"{fake.base_url}/api/v2/ohlc/{pair}/", params={"step": 86400, "limit": 1000} | params)


def test_fake_speaks_bitstamps_ohlc_format(fake: FakeBitstamp) -> None:
    body = _ohlc(fake, "btcusd", limit=3).json()
    assert body["data"]["pair"] == "BTC/USD"
    rows = body["data"]["ohlc"]
    assert [set(r) for r in rows] == [{"timestamp", "open", "high", "low", "close", "volume"}] * 3
    assert all(isinstance(v, str) for r in rows for v in r.values())
    assert [int(r["timestamp"]) for r in rows] == [int(TODAY.timestamp()) - d * DAY_S for d in (2, 1, 0)]


def test_fake_answers_nothing_for_a_start_before_the_first_candle_and_walks_back_with_end(fake: FakeBitstamp) -> None:
    first = int(datetime(2011, 9, 13, tzinfo=UTC).timestamp()) - FLAT_LEAD_DAYS * DAY_S
    assert _ohlc(fake, "btcusd", start=first - DAY_S).json()["data"]["ohlc"] == []
    assert _ohlc(fake, "btcusd", start=first, limit=1).json()["data"]["ohlc"][0]["timestamp"] == str(first)
    page = _ohlc(fake, "btcusd", end=first + 9 * DAY_S).json()["data"]["ohlc"]
    assert len(page) == 10 and page[0]["timestamp"] == str(first)


@pytest.mark.parametrize(
    ("params", "reason"),
    [({"limit": 1001}, {"limit": ["Must be between 1 and 1000."]}), ({"step": 120}, {"step": ["Not a valid choice."]})],
)
def test_fake_refuses_bad_arguments_in_the_v2_envelope(
    fake: FakeBitstamp, params: dict[str, int], reason: object
) -> None:
    response = _ohlc(fake, "btcusd", **params)
    assert response.status_code == 400
    assert response.json() == {"status": "error", "reason": reason, "code": "400.001"}


def test_pairs_come_from_markets_usd_first_and_enabled_only(fake: FakeBitstamp, source: BitstampPriceSource) -> None:
    pairs = {p.symbol: p for p in source.pairs()}
    assert pairs["BTC"] == BTC  # not the disabled btceur market
    assert pairs["TUSD"] == Pair("TUSD", "tusdusdt", "USDT")
    assert "ATOM" not in pairs  # not on Bitstamp in the sample market
    assert fake.requests["markets"] == 1 and fake.requests["trading-pairs-info"] == 0


def test_pairs_fall_back_to_trading_pairs_info(fake: FakeBitstamp, source: BitstampPriceSource) -> None:
    fake.markets_endpoint = False
    assert source.pair_for("ETH") == Pair("ETH", "ethusd", "USD")
    assert fake.requests["trading-pairs-info"] == 1


def test_history_walks_back_in_pages_of_a_thousand_days(fake: FakeBitstamp, source: BitstampPriceSource) -> None:
    history = source.history(BTC)
    first = datetime(2011, 9, 13, tzinfo=UTC)
    days = (TODAY - first).days + 1 + FLAT_LEAD_DAYS
    assert fake.requests["ohlc"] == days // LIMIT + 1
    assert history.candles[0].open_time == first
    assert history.candles[-1].open_time == TODAY


def test_flat_days_are_not_trading_days(market: FakeMarket, fake: FakeBitstamp, source: BitstampPriceSource) -> None:
    venue = market.by_symbol("BTC").venue("bitstamp")
    assert venue is not None
    raw = _ohlc(fake, "btcusd", start=venue.listed - FLAT_LEAD_DAYS * DAY_S).json()["data"]["ohlc"]
    flat = [int(r["timestamp"]) for r in raw if float(r["volume"]) == 0]
    assert flat[:FLAT_LEAD_DAYS] == [venue.listed - d * DAY_S for d in range(FLAT_LEAD_DAYS, 0, -1)]
    assert any(venue.is_quiet(t) for t in flat[FLAT_LEAD_DAYS:])
    kept = {int(c.open_time.timestamp()) for c in source.history(BTC).candles}
    assert kept.isdisjoint(flat)
    assert source.first_day(BTC).day == datetime.fromtimestamp(venue.listed, UTC)


def test_a_pair_with_only_flat_candles_never_traded(source: BitstampPriceSource) -> None:
    with pytest.raises(BadPriceData, match="no candle with trades"):
        source.first_day(source.pair_for("QUIET"))


def test_first_day_history_and_daily_share_one_walk(fake: FakeBitstamp, source: BitstampPriceSource) -> None:
    source.history(BTC)
    walked = fake.requests["ohlc"]
    source.first_day(BTC)
    assert source.daily(BTC, TODAY - timedelta(days=2)).candles[0].open_time >= TODAY - timedelta(days=2)
    assert fake.requests["ohlc"] == walked


def test_daily_since_asks_one_page(fake: FakeBitstamp, source: BitstampPriceSource) -> None:
    series = source.daily(BTC, TODAY - timedelta(days=40))
    assert fake.requests["ohlc"] == 1
    assert series.candles[0].open_time >= TODAY - timedelta(days=40)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, b'{"status":"error","reason":"Rate limit exceeded","code":"400.002"}', RateLimited),
        (429, b"Too Many Requests", RateLimited),
        (200, b'{"error":"Bitstamp.net is under scheduled maintenance. We\'ll be back soon."}', ExchangeUnavailable),
        (503, b'{"status":"error","reason":"busy","code":"503.000"}', ExchangeUnavailable),
        (502, b"<html>Bad Gateway</html>", ExchangeUnavailable),
        (404, b"<html>Not Found</html>", UnknownSymbol),
        (400, b'{"status":"error","reason":{"step":["Not a valid choice."]},"code":"400.001"}', BadPriceData),
        (200, b'{"error":"Invalid currency pair"}', BadPriceData),
    ],
)
def test_each_bitstamp_answer_is_read_into_its_error(status: int, body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as raised:
        decode(Answer(status, {}, body), "pair btcusd")
    assert error is RateLimited or not isinstance(raised.value, RateLimited)
