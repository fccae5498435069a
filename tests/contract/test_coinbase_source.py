"""CoinbasePriceSource against FakeCoinbase over real HTTP on 127.0.0.1: walking back, pairs, every fault."""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backends.coinbase import EMPTY_WINDOWS_TO_STOP, OLDEST_CANDLES, CoinbasePriceSource
from backends.exchange_http import RetryPolicy, http_client
from common.candles import DAILY_MINUTES
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.ports import Pair, PriceSource
from fake_exchange import FakeCoin, FakeMarket, Fault, sample_market
from fake_exchange.coinbase_server import TOO_MANY, FakeCoinbase
from fake_exchange.limits import RateLimit
from fake_exchange.market import Venue, day_start
from fake_exchange.ohlc import DAY_S, Row

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
TODAY = datetime(2026, 3, 4, tzinfo=UTC)
BTC = Pair("BTC", "BTC-USD", "USD")
WINDOW_DAYS = 300


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


def _rows(first: datetime, days: int, *, skip: range = range(0), zero_volume: tuple[int, ...] = ()) -> list[Row]:
    start = day_start(first)
    rows: list[Row] = []
    for day in range(days):
        if day in skip:
            continue
        price = 2.0 + day / 100
        volume = 0.0 if day in zero_volume else 1_000.0 + day
        rows.append((start + day * DAY_S, price, price * 1.1, price * 0.9, price * 1.01, price, volume, 10))
    return rows


def _coin(symbol: str, rows: list[Row], quote: str = "USD") -> FakeCoin:
    venues = {"coinbase": Venue(rows[0][0], quote)}
    return FakeCoin(symbol, f"{symbol}ZUSD", f"{symbol}USD", None, symbol, "ZUSD", rows, venues=venues)


@pytest.fixture
def market() -> FakeMarket:
    m = sample_market(NOW)
    listed = TODAY - timedelta(days=99)
    m.add(_coin("TETH", _rows(listed, 100), quote="USDT"))  # USDT only: taken, quote carried
    m.add(_coin("ZERO", _rows(listed, 100, zero_volume=(0, 1))))  # first two days without a trade
    # Listed 2019-02-27, then ~900 days without a candle (XRP-USD's suspension), then back.
    m.add(_coin("GAPPY", _rows(datetime(2019, 2, 27, tzinfo=UTC), 2_560, skip=range(700, 1_600))))
    return m


@pytest.fixture
def fake(market: FakeMarket) -> Iterator[FakeCoinbase]:
    with FakeCoinbase(market, now=lambda: NOW, hang_s=5.0) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _source(url: str, clock: FakeClock, *, timeout_s: float = 2.0, **policy: float) -> CoinbasePriceSource:
    options = {"request_interval_s": 0.0, "max_retries": 3} | policy
    return CoinbasePriceSource(
        http_client(url, timeout_s),
        policy=RetryPolicy(**options),  # type: ignore[arg-type]
        now=lambda: NOW,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        rng=lambda: 1.0,
    )


@pytest.fixture
def source(fake: FakeCoinbase, clock: FakeClock) -> Iterator[CoinbasePriceSource]:
    with _source(fake.base_url, clock) as coinbase:
        yield coinbase


def _windows_back_to(first_day: datetime) -> int:
    """How many 300-day windows, walking back from today, it takes to reach `first_day`."""
    return math.ceil(((TODAY - first_day).days + 1) / WINDOW_DAYS)


def test_coinbase_source_is_a_price_source(source: CoinbasePriceSource) -> None:
    port: PriceSource = source
    assert port.name == "coinbase"
    assert port.pair_for("BTC") == BTC


def test_pairs_prefer_usd_then_usdt_and_skip_the_rest(source: CoinbasePriceSource) -> None:
    pairs = {p.symbol: p for p in source.pairs()}
    assert pairs["BTC"] == BTC  # not BTC-EUR, not BTC-USDT
    assert pairs["TETH"] == Pair("TETH", "TETH-USDT", "USDT")
    assert "LUNA" not in pairs  # delisted
    assert "ATOM" in pairs and "ADA" in pairs


def test_unknown_symbol_is_definite_and_pairs_are_fetched_once(fake: FakeCoinbase, source: CoinbasePriceSource) -> None:
    with pytest.raises(UnknownSymbol, match="NOPE"):
        source.pair_for("nope")
    source.pair_for("ETH")
    assert fake.requests["products"] == 1


def test_history_walks_back_to_the_listing_in_300_day_windows(
    fake: FakeCoinbase, market: FakeMarket, source: CoinbasePriceSource
) -> None:
    rows = market.find("XXBTZUSD").rows_on("coinbase")  # type: ignore[union-attr]
    series = source.history(BTC)
    assert series.interval_minutes == DAILY_MINUTES
    assert [c.open_time for c in series.candles] == [datetime.fromtimestamp(r[0], UTC) for r in rows]
    assert series.candles[0].open_time == datetime(2014, 12, 1, tzinfo=UTC) >= OLDEST_CANDLES
    assert series.candles[-1].open_time == TODAY
    assert [c.close for c in series.candles[:3]] == pytest.approx([r[4] for r in rows[:3]], rel=1e-4)
    assert fake.requests["candles"] == _windows_back_to(OLDEST_CANDLES)


def test_the_walk_stops_after_a_run_of_empty_windows(fake: FakeCoinbase, source: CoinbasePriceSource) -> None:
    series = source.history(Pair("SOL", "SOL-USD"))
    listed = datetime(2021, 6, 24, tzinfo=UTC)
    assert series.candles[0].open_time == listed
    assert fake.requests["candles"] == _windows_back_to(listed) + EMPTY_WINDOWS_TO_STOP


def test_a_long_suspension_does_not_hide_the_listing(source: CoinbasePriceSource) -> None:
    first = source.first_day(source.pair_for("GAPPY"))
    assert first.day == datetime(2019, 2, 27, tzinfo=UTC)


def test_first_day_is_the_first_day_with_volume_priced_at_its_close(
    market: FakeMarket, source: CoinbasePriceSource
) -> None:
    rows = market.find("ZEROZUSD").rows_on("coinbase")  # type: ignore[union-attr]
    first = source.first_day(source.pair_for("ZERO"))
    assert first.day == datetime.fromtimestamp(rows[2][0], UTC)
    assert first.price_usd == pytest.approx(rows[2][4], rel=1e-4)
    assert first.volume_usd == pytest.approx(rows[2][4] * rows[2][6], rel=1e-4)
    assert first.price_is_vwap is False
    assert all(c.volume > 0 for c in source.daily(source.pair_for("ZERO")).candles)


def test_first_day_daily_and_history_share_one_walk(fake: FakeCoinbase, source: CoinbasePriceSource) -> None:
    pair = source.pair_for("ETH")
    source.first_day(pair)
    asked = fake.requests["candles"]
    assert source.history(pair) == source.daily(pair)
    assert fake.requests["candles"] == asked


def test_daily_since_asks_only_for_the_new_days(fake: FakeCoinbase, source: CoinbasePriceSource) -> None:
    since = TODAY - timedelta(days=10)
    series = source.daily(BTC, since)
    assert [c.open_time for c in series.candles] == [since + timedelta(days=d) for d in range(11)]
    assert fake.requests["candles"] == 1
    assert source.daily(BTC, TODAY + timedelta(days=1)).candles == ()


TRANSIENT = [
    (Fault.HTTP_429, RateLimited),
    (Fault.HTTP_500, ExchangeUnavailable),
    (Fault.HTTP_503, ExchangeUnavailable),
    (Fault.TRUNCATED_JSON, ExchangeUnavailable),
    (Fault.HTML, ExchangeUnavailable),
]


@pytest.mark.parametrize("fault", [f for f, _ in TRANSIENT])
def test_transient_faults_are_retried_until_they_pass(
    fake: FakeCoinbase, source: CoinbasePriceSource, clock: FakeClock, fault: Fault
) -> None:
    fake.inject(fault, times=2, path="candles")
    assert source.daily(BTC, TODAY - timedelta(days=2)).candles[-1].open_time == TODAY
    assert fake.requests["candles"] == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(("fault", "error"), TRANSIENT)
def test_transient_faults_that_persist_end_in_the_right_error(
    fake: FakeCoinbase, clock: FakeClock, fault: Fault, error: type[Exception]
) -> None:
    fake.inject(fault, times=10)
    with _source(fake.base_url, clock, max_retries=2) as coinbase, pytest.raises(error) as raised:
        coinbase.daily(BTC, TODAY)
    assert error is RateLimited or not isinstance(raised.value, RateLimited)
    assert fake.requests["candles"] == 3


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.NON_NUMERIC, BadPriceData), (Fault.NEGATIVE, BadPriceData), (Fault.VANISHED, UnknownSymbol)],
)
def test_permanent_faults_are_not_retried(
    fake: FakeCoinbase, source: CoinbasePriceSource, clock: FakeClock, fault: Fault, error: type[Exception]
) -> None:
    fake.inject(fault, path="candles", pair="BTC-USD")
    with pytest.raises(error):
        source.daily(BTC, TODAY - timedelta(days=5))
    assert fake.requests["candles"] == 1
    assert clock.sleeps == []


def test_empty_windows_throughout_mean_the_pair_never_traded(fake: FakeCoinbase, source: CoinbasePriceSource) -> None:
    fake.inject(Fault.EMPTY, times=100, pair="BTC-USD")
    with pytest.raises(BadPriceData, match="no candle with trades"):
        source.first_day(BTC)
    assert fake.requests["candles"] == EMPTY_WINDOWS_TO_STOP


def test_rows_in_another_order_read_the_same(fake: FakeCoinbase, source: CoinbasePriceSource) -> None:
    since = TODAY - timedelta(days=20)
    expected = source.daily(BTC, since)
    fake.inject(Fault.REORDERED, pair="BTC-USD")
    assert source.daily(BTC, since) == expected


def test_an_unknown_product_is_an_unknown_symbol(fake: FakeCoinbase, source: CoinbasePriceSource) -> None:
    with pytest.raises(UnknownSymbol, match="NotFound"):
        source.first_day(Pair("NOPE", "NOPE-USD"))
    assert fake.requests["candles"] == 1


@pytest.mark.parametrize(("retry_after", "expected"), [(7, 7.0), (999, 30.0)])
def test_retry_after_is_honoured_up_to_the_cap(
    fake: FakeCoinbase, clock: FakeClock, retry_after: int, expected: float
) -> None:
    fake.inject(Fault.HTTP_429, retry_after_s=retry_after)
    with CoinbasePriceSource(
        http_client(fake.base_url, 2.0),
        policy=RetryPolicy(request_interval_s=0.0, backoff_cap_s=30.0),
        now=lambda: NOW,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        rng=lambda: 0.0,
    ) as coinbase:
        coinbase.daily(BTC, TODAY)
    assert clock.sleeps == [expected]


@pytest.mark.timeout(20)
def test_a_hanging_exchange_is_cut_off_by_the_timeout(fake: FakeCoinbase, clock: FakeClock) -> None:
    fake.inject(Fault.HANG, times=5)
    started = time.monotonic()
    coinbase = _source(fake.base_url, clock, timeout_s=0.2, max_retries=1)
    with coinbase, pytest.raises(ExchangeUnavailable, match="no answer in time"):
        coinbase.daily(BTC, TODAY)
    assert time.monotonic() - started < 2.0
    assert fake.requests["candles"] == 2


def test_a_closed_port_is_exchange_unavailable(clock: FakeClock) -> None:
    # Bound, never listening, and held for the whole test: connections are refused, and no other
    # process can take the port meanwhile.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with _source(f"http://127.0.0.1:{port}", clock, max_retries=2) as coinbase, pytest.raises(ExchangeUnavailable):
            coinbase.pairs()
        assert len(clock.sleeps) == 2


@pytest.mark.timeout(20)
def test_the_published_interval_never_meets_the_enforced_limit(market: FakeMarket) -> None:
    limit = RateLimit(5, 0.5)  # the published 10/s, at a tenth of the burst, to keep the test short
    with FakeCoinbase(market, now=lambda: NOW, enforce_rate_limit=True, rate_limit=limit) as fake:
        with CoinbasePriceSource(
            http_client(fake.base_url, 2.0), policy=RetryPolicy(limit.interval_s, max_retries=0), now=lambda: NOW
        ) as coinbase:
            for days in range(1, 13):
                coinbase.daily(BTC, TODAY - timedelta(days=days))
        assert fake.window is not None and fake.window.refused == 0
        assert fake.requests["candles"] == 12


def test_the_fake_enforces_the_limit_in_coinbase_words(market: FakeMarket) -> None:
    with FakeCoinbase(market, enforce_rate_limit=True, rate_limit=RateLimit(2, 60.0)) as fake:
        answers = [httpx.get(f"{fake.base_url}/products") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].json() == {"message": "Public rate limit exceeded"}


def test_fake_speaks_coinbase_candles_format(fake: FakeCoinbase) -> None:
    params = {"granularity": "86400", "start": "2026-02-01T00:00:00Z", "end": "2026-03-04T00:00:00Z"}
    rows = httpx.get(f"{fake.base_url}/products/BTC-USD/candles", params=params).json()
    assert len(rows) == 32
    assert rows[0][0] == int(TODAY.timestamp()) and rows[0][0] - rows[1][0] == DAY_S  # newest first
    assert all(len(r) == 6 and all(isinstance(v, int | float) for v in r) for r in rows)
    time_s, low, high, open_, close, _volume = rows[0]
    assert low <= min(open_, close) <= max(open_, close) <= high


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/products/NOPE-USD/candles", {"granularity": "86400"}, 404, "NotFound"),
        ("/products/BTC-USD/candles", {"granularity": "86401"}, 400, "Unsupported granularity"),
        (
            "/products/BTC-USD/candles",
            {"granularity": "86400", "start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
            400,
            TOO_MANY,
        ),
    ],
)
def test_fake_refuses_like_coinbase(
    fake: FakeCoinbase, path: str, params: dict[str, str], status: int, message: str
) -> None:
    answer = httpx.get(f"{fake.base_url}{path}", params=params)
    assert (answer.status_code, answer.json()) == (status, {"message": message})


def test_fake_leaves_out_days_without_trades(market: FakeMarket) -> None:
    rows = _rows(TODAY - timedelta(days=9), 10)
    coin = FakeCoin(
        "QUIET",
        "QUIETZUSD",
        "QUIETUSD",
        None,
        "QUIET",
        "ZUSD",
        rows,
        venues={"coinbase": Venue(rows[0][0], quiet_every=3)},
    )
    market.add(coin)
    with FakeCoinbase(market, now=lambda: NOW) as fake:
        answer = httpx.get(f"{fake.base_url}/products/QUIET-USD/candles", params={"granularity": "86400"}).json()
    assert len(answer) == 10 - 3  # days 3, 6 and 9 after the listing saw no trade
