"""BinancePriceSource against FakeBinance over real HTTP on 127.0.0.1: paging forward, USDT pairs, every fault."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backends.binance import KLINES_PER_CALL, MARKET_DATA_HOST, BinancePriceSource, GeoBlocked, IpBanned
from backends.exchange_http import RetryPolicy, http_client
from common.candles import DAILY_MINUTES
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.ports import Pair, PriceSource
from fake_exchange import FakeCoin, FakeMarket, Fault, sample_market
from fake_exchange.binance_server import BAN_AFTER, FakeBinance
from fake_exchange.limits import RateLimit
from fake_exchange.market import Venue, day_start
from fake_exchange.ohlc import DAY_S, Row

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
TODAY = datetime(2026, 3, 4, tzinfo=UTC)
BTC = Pair("BTC", "BTCUSDT", "USDT")
DAY_MS = DAY_S * 1000


class FakeClock:
    """monotonic() and sleep() that never wait: sleeping only moves the clock and is recorded."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _rows(first: datetime, days: int) -> list[Row]:
    start = day_start(first)
    rows: list[Row] = []
    for day in range(days):
        price = 0.5 + day / 1000
        rows.append((start + day * DAY_S, price, price * 1.2, price * 0.8, price * 1.05, price * 1.01, 5_000.0, 40))
    return rows


def _coin(symbol: str, rows: list[Row], quote: str = "USDT", quiet_every: int = 0) -> FakeCoin:
    venues = {"binance": Venue(rows[0][0], quote, quiet_every)}
    return FakeCoin(symbol, f"{symbol}ZUSD", f"{symbol}USD", None, symbol, "ZUSD", rows, venues=venues)


@pytest.fixture
def market() -> FakeMarket:
    m = sample_market(NOW)
    m.add(_coin("CIRC", _rows(TODAY - timedelta(days=49), 50), quote="USDC"))  # USDC only
    m.add(_coin("QUIET", _rows(TODAY - timedelta(days=29), 30), quiet_every=4))  # flat zero-volume days
    m.add(_coin("EXACT", _rows(TODAY - timedelta(days=KLINES_PER_CALL - 1), KLINES_PER_CALL)))  # one full page
    return m


@pytest.fixture
def fake(market: FakeMarket) -> Iterator[FakeBinance]:
    with FakeBinance(market, now=lambda: NOW, hang_s=5.0) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _source(url: str, clock: FakeClock, *, timeout_s: float = 2.0, **policy: float) -> BinancePriceSource:
    options = {"request_interval_s": 0.0, "max_retries": 3} | policy
    return BinancePriceSource(
        http_client(url, timeout_s),
        policy=RetryPolicy(**options),  # type: ignore[arg-type]
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        rng=lambda: 1.0,
    )


@pytest.fixture
def source(fake: FakeBinance, clock: FakeClock) -> Iterator[BinancePriceSource]:
    with _source(fake.base_url, clock) as binance:
        yield binance


def test_binance_source_is_a_price_source(source: BinancePriceSource) -> None:
    port: PriceSource = source
    assert port.name == "binance"
    assert port.pair_for("BTC") == BTC


def test_pairs_are_usdt_then_usdc_and_trading_only(fake: FakeBinance, source: BinancePriceSource) -> None:
    pairs = {p.symbol: p for p in source.pairs()}
    assert pairs["ETH"] == Pair("ETH", "ETHUSDT", "USDT")  # not ETHUSDC, not ETHBTC
    assert pairs["CIRC"] == Pair("CIRC", "CIRCUSDC", "USDC")
    assert "LUNA" not in pairs  # status BREAK
    with pytest.raises(UnknownSymbol, match="NOPE"):
        source.pair_for("NOPE")
    assert fake.requests["exchangeInfo"] == 1


def test_a_usd_pair_would_win_over_usdt(market: FakeMarket, fake: FakeBinance, source: BinancePriceSource) -> None:
    market.add(_coin("DUAL", _rows(TODAY - timedelta(days=5), 6), quote="USD"))
    assert source.pair_for("DUAL") == Pair("DUAL", "DUALUSD", "USD")


def test_history_pages_forward_from_the_first_kline(
    fake: FakeBinance, market: FakeMarket, source: BinancePriceSource
) -> None:
    rows = market.find("XXBTZUSD").rows_on("binance")  # type: ignore[union-attr]
    series = source.history(BTC)
    assert series.interval_minutes == DAILY_MINUTES
    assert series.candles[0].open_time == datetime(2017, 8, 17, tzinfo=UTC)
    assert series.candles[-1].open_time == TODAY
    assert len(series.candles) == len(rows)
    assert fake.requests["klines"] == len(rows) // KLINES_PER_CALL + 1


def test_a_last_page_that_is_exactly_full_costs_one_more_call(fake: FakeBinance, source: BinancePriceSource) -> None:
    assert len(source.history(source.pair_for("EXACT")).candles) == KLINES_PER_CALL
    assert fake.requests["klines"] == 2


def test_first_day_is_priced_at_the_days_vwap(market: FakeMarket, source: BinancePriceSource) -> None:
    row = market.find("SOLUSD").rows_on("binance")[0]  # type: ignore[union-attr]
    first = source.first_day(source.pair_for("SOL"))
    assert first.day == datetime(2020, 8, 11, tzinfo=UTC)
    assert first.price_usd == pytest.approx(row[5], rel=1e-6)  # quote volume / base volume
    assert first.volume_usd == pytest.approx(row[5] * row[6], rel=1e-6)
    assert first.price_is_vwap is True


def test_flat_zero_volume_days_are_not_trading_days(source: BinancePriceSource) -> None:
    series = source.daily(source.pair_for("QUIET"))
    assert len(series.candles) == 30 - 7  # days 4, 8, ..., 28 after the listing had no trade
    assert all(c.volume > 0 and c.vwap > 0 for c in series.candles)


def test_daily_since_asks_only_for_the_new_days(fake: FakeBinance, source: BinancePriceSource) -> None:
    since = TODAY - timedelta(days=10)
    series = source.daily(BTC, since)
    assert [c.open_time for c in series.candles] == [since + timedelta(days=d) for d in range(11)]
    assert fake.requests["klines"] == 1
    assert source.daily(BTC, TODAY + timedelta(days=1)).candles == ()


def test_first_day_daily_and_history_share_one_walk(fake: FakeBinance, source: BinancePriceSource) -> None:
    pair = source.pair_for("ETH")
    source.first_day(pair)
    asked = fake.requests["klines"]
    assert source.history(pair) == source.daily(pair)
    assert fake.requests["klines"] == asked


TRANSIENT = [
    (Fault.HTTP_429, RateLimited),
    (Fault.HTTP_500, ExchangeUnavailable),
    (Fault.HTTP_503, ExchangeUnavailable),
    (Fault.TRUNCATED_JSON, ExchangeUnavailable),
    (Fault.HTML, ExchangeUnavailable),
]


@pytest.mark.parametrize("fault", [f for f, _ in TRANSIENT])
def test_transient_faults_are_retried_until_they_pass(
    fake: FakeBinance, source: BinancePriceSource, clock: FakeClock, fault: Fault
) -> None:
    fake.inject(fault, times=2, path="klines")
    assert source.daily(BTC, TODAY - timedelta(days=2)).candles[-1].open_time == TODAY
    assert fake.requests["klines"] == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(("fault", "error"), TRANSIENT)
def test_transient_faults_that_persist_end_in_the_right_error(
    fake: FakeBinance, clock: FakeClock, fault: Fault, error: type[Exception]
) -> None:
    fake.inject(fault, times=10)
    with _source(fake.base_url, clock, max_retries=2) as binance, pytest.raises(error) as raised:
        binance.daily(BTC, TODAY)
    assert error is RateLimited or not isinstance(raised.value, RateLimited)
    assert fake.requests["klines"] == 3


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.NON_NUMERIC, BadPriceData), (Fault.NEGATIVE, BadPriceData), (Fault.VANISHED, UnknownSymbol)],
)
def test_permanent_faults_are_not_retried(
    fake: FakeBinance, source: BinancePriceSource, clock: FakeClock, fault: Fault, error: type[Exception]
) -> None:
    fake.inject(fault, path="klines", pair="BTCUSDT")
    with pytest.raises(error):
        source.daily(BTC, TODAY - timedelta(days=5))
    assert fake.requests["klines"] == 1
    assert clock.sleeps == []


def test_an_empty_history_means_the_pair_never_traded(fake: FakeBinance, source: BinancePriceSource) -> None:
    fake.inject(Fault.EMPTY, pair="BTCUSDT")
    with pytest.raises(BadPriceData, match="no candle with trades"):
        source.first_day(BTC)
    assert fake.requests["klines"] == 1


def test_rows_in_another_order_read_the_same(fake: FakeBinance, source: BinancePriceSource) -> None:
    since = TODAY - timedelta(days=20)
    expected = source.daily(BTC, since)
    fake.inject(Fault.REORDERED, pair="BTCUSDT")
    assert source.daily(BTC, since) == expected


def test_an_invalid_symbol_is_an_unknown_symbol(fake: FakeBinance, source: BinancePriceSource) -> None:
    with pytest.raises(UnknownSymbol, match="Invalid symbol"):
        source.first_day(Pair("NOPE", "NOPEUSDT", "USDT"))
    assert fake.requests["klines"] == 1


def test_a_geo_block_is_not_retried_and_says_which_host_to_use(
    fake: FakeBinance, source: BinancePriceSource, clock: FakeClock
) -> None:
    fake.geo_blocked = True
    with pytest.raises(GeoBlocked, match=MARKET_DATA_HOST) as raised:
        source.pair_for("BTC")
    assert isinstance(raised.value, ExchangeUnavailable)  # the listing stays provisional, retried next refresh
    assert fake.requests["exchangeInfo"] == 1
    assert clock.sleeps == []


def test_an_ip_ban_is_not_retried_and_carries_its_length(
    fake: FakeBinance, source: BinancePriceSource, clock: FakeClock
) -> None:
    fake.ban(600)
    with pytest.raises(IpBanned) as raised:
        source.daily(BTC, TODAY)
    assert isinstance(raised.value, RateLimited)
    assert raised.value.retry_after_s is not None and 590 <= raised.value.retry_after_s <= 600
    assert fake.requests["klines"] == 1
    assert clock.sleeps == []


def test_ignored_429s_turn_into_a_ban(market: FakeMarket, clock: FakeClock) -> None:
    with FakeBinance(market, now=lambda: NOW, enforce_rate_limit=True, rate_limit=RateLimit(4, 60.0)) as fake:
        with _source(fake.base_url, clock, max_retries=20) as binance, pytest.raises(IpBanned):
            binance.daily(BTC, TODAY - timedelta(days=3))
            binance.daily(BTC, TODAY - timedelta(days=2))
            binance.daily(BTC, TODAY - timedelta(days=1))  # over the limit: 429s, retried, then 418
        assert fake.requests["klines"] == 2 + BAN_AFTER + 1
    assert all(1 <= s <= 60 for s in clock.sleeps)  # each retry waited Retry-After (seconds to the window's end)


@pytest.mark.parametrize(("retry_after", "expected"), [(7, 7.0), (999, 30.0)])
def test_retry_after_is_honoured_up_to_the_cap(
    fake: FakeBinance, clock: FakeClock, retry_after: int, expected: float
) -> None:
    fake.inject(Fault.HTTP_429, retry_after_s=retry_after)
    with BinancePriceSource(
        http_client(fake.base_url, 2.0),
        policy=RetryPolicy(request_interval_s=0.0, backoff_cap_s=30.0),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        rng=lambda: 0.0,
    ) as binance:
        binance.daily(BTC, TODAY)
    assert clock.sleeps == [expected]


@pytest.mark.timeout(20)
def test_a_hanging_exchange_is_cut_off_by_the_timeout(fake: FakeBinance, clock: FakeClock) -> None:
    fake.inject(Fault.HANG, times=5)
    started = time.monotonic()
    binance = _source(fake.base_url, clock, timeout_s=0.2, max_retries=1)
    with binance, pytest.raises(ExchangeUnavailable, match="no answer in time"):
        binance.daily(BTC, TODAY)
    assert time.monotonic() - started < 2.0
    assert fake.requests["klines"] == 2


def test_a_closed_port_is_exchange_unavailable(clock: FakeClock) -> None:
    # Bound, never listening, and held for the whole test: connections are refused, and no other
    # process can take the port meanwhile.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with _source(f"http://127.0.0.1:{port}", clock, max_retries=2) as binance, pytest.raises(ExchangeUnavailable):
            binance.pairs()
        assert len(clock.sleeps) == 2


@pytest.mark.timeout(20)
def test_the_default_interval_keeps_within_the_published_weight(market: FakeMarket) -> None:
    # The published 6,000 weight a minute, scaled to 100 a second: klines weigh 2, so 50 calls a second.
    limit = RateLimit(100, 1.0)
    with FakeBinance(market, now=lambda: NOW, enforce_rate_limit=True, rate_limit=limit) as fake:
        with BinancePriceSource(http_client(fake.base_url, 2.0), policy=RetryPolicy(0.05, max_retries=0)) as binance:
            for days in range(1, 31):
                binance.daily(BTC, TODAY - timedelta(days=days))
        assert fake.window is not None and fake.window.refused == 0


def test_fake_speaks_binance_klines_format(fake: FakeBinance) -> None:
    params = {"symbol": "BTCUSDT", "interval": "1d", "startTime": "0", "limit": "3"}
    rows = httpx.get(f"{fake.base_url}/api/v3/klines", params=params).json()
    assert [r[0] for r in rows] == [int(datetime(2017, 8, 17 + d, tzinfo=UTC).timestamp()) * 1000 for d in range(3)]
    assert all(len(r) == 12 and r[6] == r[0] + DAY_MS - 1 for r in rows)
    assert all(isinstance(v, str) for r in rows for v in (*r[1:6], r[7], r[9], r[10], r[11]))
    assert all(isinstance(r[8], int) for r in rows)
    newest = httpx.get(f"{fake.base_url}/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1d"}).json()
    assert len(newest) == 500 and newest[-1][0] == int(TODAY.timestamp()) * 1000


@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        ({"symbol": "NOPEUSDT", "interval": "1d"}, 400, {"code": -1121, "msg": "Invalid symbol."}),
        ({"symbol": "BTCUSDT", "interval": "1D"}, 400, {"code": -1120, "msg": "Invalid interval."}),
        (
            {"symbol": "BTCUSDT", "interval": "1d", "limit": "1001"},
            400,
            {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."},
        ),
    ],
)
def test_fake_refuses_like_binance(fake: FakeBinance, params: dict[str, str], status: int, body: object) -> None:
    answer = httpx.get(f"{fake.base_url}/api/v3/klines", params=params)
    assert (answer.status_code, answer.json()) == (status, body)


def test_fake_geo_block_and_weights(market: FakeMarket) -> None:
    with FakeBinance(market, enforce_rate_limit=True, rate_limit=RateLimit(22, 60.0)) as fake:
        info = httpx.get(f"{fake.base_url}/api/v3/exchangeInfo")
        kline = httpx.get(f"{fake.base_url}/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1d"})
        over = httpx.get(f"{fake.base_url}/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1d"})
        fake.geo_blocked = True
        fake.window = None
        blocked = httpx.get(f"{fake.base_url}/api/v3/exchangeInfo")
    assert (info.status_code, kline.status_code, over.status_code) == (200, 200, 429)  # 20 + 2, then over 22
    assert over.json()["code"] == -1003 and int(over.headers["Retry-After"]) >= 1
    assert blocked.status_code == 451 and "restricted location" in blocked.json()["msg"]
