"""BitfinexPriceSource against FakeBitfinex on 127.0.0.1: its pair list and codes, candle order, paging, errors.

The contracts every adapter shares (errors, retries, timeouts) are in test_price_sources.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from backends.bitfinex import LIMIT, BitfinexPriceSource, decode
from backends.exchange_http import Answer
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.ports import Pair
from fake_exchange import FakeCoin, FakeMarket, sample_market
from fake_exchange.bitfinex_server import FakeBitfinex
from fake_exchange.market import day_start
from fake_exchange.ohlc import DAY_S, Row
from tests.contract.exchange_cases import FakeClock, quick_source, venue_coin

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
TODAY = datetime(2026, 3, 4, tzinfo=UTC)
BTC = Pair("BTC", "tBTCUSD", "USD")


def _coin(symbol: str, days: int, quote: str = "USD") -> FakeCoin:
    first = day_start(NOW) - (days - 1) * DAY_S
    rows: list[Row] = [(first + d * DAY_S, 2.0, 2.4, 1.6, 2.1 + d % 7, 2.0, 10.0 + d, 5) for d in range(days)]
    return venue_coin("bitfinex", symbol, rows, quote)


@pytest.fixture
def market() -> FakeMarket:
    m = sample_market(NOW)
    m.add(_coin("OLDIE", LIMIT + 50))  # more days than one page holds
    m.add(_coin("TOK", 20, quote="USDT"))
    return m


@pytest.fixture
def fake(market: FakeMarket) -> Iterator[FakeBitfinex]:
    with FakeBitfinex(market, now=lambda: NOW) as server:
        yield server


@pytest.fixture
def source(fake: FakeBitfinex) -> Iterator[BitfinexPriceSource]:
    with quick_source(BitfinexPriceSource, fake.base_url, FakeClock(), max_retries=2) as adapter:
        yield adapter


def _candles(fake: FakeBitfinex, symbol: str, **params: int) -> httpx.Response:
    return httpx.get(f"{fake.base_url}/v2/candles/trade:1D:{symbol}/hist", params=params)


def test_fake_lists_bare_pairs_in_a_nested_array(fake: FakeBitfinex) -> None:
    (pairs,) = httpx.get(f"{fake.base_url}/v2/conf/pub:list:pair:exchange").json()
    assert {"BTCUSD", "BTCUST", "BTCEUR", "DOGE:USD", "LINK:USD", "DOGUSD", "TOKUST"} <= set(pairs)
    assert "ADAUSD" not in pairs  # not on Bitfinex in the sample market


def test_fake_speaks_bitfinexs_candle_format(fake: FakeBitfinex, market: FakeMarket) -> None:
    rows = _candles(fake, "tBTCUSD", sort=1, limit=2).json()
    first = market.by_symbol("BTC").rows_on("bitfinex")[0]
    assert rows[0] == [first[0] * 1000, first[1], first[4], first[2], first[3], first[6]]  # MTS, O, C, H, L, V
    newest = _candles(fake, "tBTCUSD", limit=1).json()  # sort defaults to newest first
    assert newest[0][0] == int(TODAY.timestamp()) * 1000
    assert _candles(fake, "tNOPEUSD", sort=1).json() == []


def test_fake_refuses_a_limit_over_ten_thousand(fake: FakeBitfinex) -> None:
    response = _candles(fake, "tBTCUSD", limit=LIMIT + 1)
    assert (response.status_code, response.json()) == (500, ["error", 10020, "limit: invalid"])


def test_pairs_follow_bitfinexs_codes(source: BitfinexPriceSource) -> None:
    pairs = {p.symbol: p for p in source.pairs()}
    assert pairs["BTC"] == BTC  # USD before UST and EUR
    assert pairs["DOGE"] == Pair("DOGE", "tDOGE:USD", "USD")  # long codes take a colon
    assert pairs["MDOGE"] == Pair("MDOGE", "tDOGUSD", "USD")  # DOG is not DOGE
    assert pairs["TOK"] == Pair("TOK", "tTOKUST", "USDT")  # UST is USDT


def test_a_colon_pair_reads_its_candles(source: BitfinexPriceSource) -> None:
    assert source.daily(source.pair_for("DOGE")).candles[-1].open_time == TODAY


def test_close_is_read_from_the_third_column(source: BitfinexPriceSource, market: FakeMarket) -> None:
    rows = market.by_symbol("BTC").rows_on("bitfinex")
    candle = source.history(BTC).candles[0]
    assert (candle.open, candle.high, candle.low, candle.close) == pytest.approx(rows[0][1:5])  # row: t, o, h, l, c


def test_days_without_trades_are_omitted(market: FakeMarket, source: BitfinexPriceSource) -> None:
    venue = market.by_symbol("ETH").venue("bitfinex")
    assert venue is not None
    days = {int(c.open_time.timestamp()) for c in source.history(source.pair_for("ETH")).candles}
    quiet = {r[0] for r in market.by_symbol("ETH").rows_on("bitfinex") if venue.is_quiet(r[0])}
    assert quiet and days.isdisjoint(quiet)


def test_a_history_longer_than_a_page_is_followed_with_start(fake: FakeBitfinex, source: BitfinexPriceSource) -> None:
    history = source.history(source.pair_for("OLDIE"))
    assert fake.requests["candles"] == 2
    assert len(history.candles) == LIMIT + 50
    assert history.candles[-1].open_time == TODAY


def test_history_is_one_call_and_first_day_and_daily_reuse_it(fake: FakeBitfinex, source: BitfinexPriceSource) -> None:
    source.first_day(BTC)
    history = source.history(BTC)
    recent = source.daily(BTC, datetime(2026, 2, 1, tzinfo=UTC))
    assert fake.requests["candles"] == 1  # 2 s apiece at 30 a minute: one refresh reads a pair once
    assert recent.candles == tuple(c for c in history.candles if c.open_time >= datetime(2026, 2, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, b'{"error":"ERR_RATE_LIMIT"}', RateLimited),
        (500, b'["error",11010,"ratelimit: error"]', RateLimited),
        (500, b'["error",20060,"maintenance"]', ExchangeUnavailable),
        (502, b"<html>Bad Gateway</html>", ExchangeUnavailable),
        (500, b'["error",10020,"limit: invalid"]', BadPriceData),
        (400, b'["error",10001,"symbol: invalid"]', BadPriceData),
    ],
)
def test_each_bitfinex_answer_is_read_into_its_error(status: int, body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as raised:
        decode(Answer(status, {}, body), "candles tBTCUSD")
    assert error is RateLimited or not isinstance(raised.value, RateLimited)


def test_an_empty_answer_means_an_unknown_symbol(source: BitfinexPriceSource) -> None:
    with pytest.raises(UnknownSymbol):
        source.history(Pair("NOPE", "tNOPE:USD"))


def test_fake_blocks_for_a_minute_after_the_limit_is_exceeded(market: FakeMarket) -> None:
    clock = FakeClock()
    with FakeBitfinex(market, now=lambda: NOW, enforce_rate_limit=True, monotonic=clock.monotonic) as fake:
        url = f"{fake.base_url}/v2/conf/pub:list:pair:exchange"
        answers = []
        # 31 requests in 58 s, then one 22 s later (within the limit again), then one after the minute's block.
        for step in (0.0, 0.0, *(2.0,) * 29, 22.0, 38.1):
            clock.now += step
            answers.append(httpx.get(url).status_code)
    assert answers[:30] == [200] * 30
    assert answers[30:] == [429, 429, 200]
