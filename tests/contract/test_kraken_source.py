"""KrakenPriceSource against FakeKraken over real HTTP on 127.0.0.1: Kraken's formats, Trades paging, every fault.

What every adapter promises alike is in test_price_sources.py."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backends.exchange_http import RetryPolicy, http_client
from backends.kraken import KrakenPriceSource
from common.candles import DAILY_MINUTES, FIFTEEN_DAY_MINUTES, MAX_ENTRIES_PER_ANSWER, WEEKLY_MINUTES, complete
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.ports import Pair, PriceSource
from fake_exchange import FakeCoin, FakeKraken, FakeMarket, Fault, sample_market
from fake_exchange.limits import RateLimit
from fake_exchange.market import day_start, random_walk
from fake_exchange.ohlc import DAY_S
from tests.contract.exchange_cases import TRANSIENT as SHARED_TRANSIENT
from tests.contract.exchange_cases import FakeClock, quick_source, standalone_fake

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
TODAY = datetime(2026, 3, 4, tzinfo=UTC)
BTC = Pair(symbol="BTC", name="XXBTZUSD")


def _oddities(market: FakeMarket) -> None:
    """Pairs a USD filter must skip or map, as the real AssetPairs answer has them."""
    rows = [(day_start(NOW), 1.0, 1.1, 0.9, 1.0, 1.0, 5.0, 3)]
    for coin in (
        FakeCoin("BTC", "XXBTZEUR", "XBTEUR", "XBT/EUR", "XXBT", "ZEUR", rows),
        FakeCoin("BTC", "XBTUSDT", "XBTUSDT", "XBT/USDT", "XXBT", "USDT", rows),
        FakeCoin("BTC", "XXBTZUSD.d", "XBTUSD.d", None, "XXBT", "ZUSD", rows),
        FakeCoin("LUNA", "LUNAUSD", "LUNAUSD", "LUNA/USD", "LUNA", "ZUSD", rows, status="cancel_only"),
        FakeCoin("MLN", "XMLNZUSD", "MLNUSD", None, "XMLN", "ZUSD", rows),
        FakeCoin("PEPE", "PEPEUSD", "PEPEUSD", "PEPE/USD", "PEPE", "USD", rows),
        FakeCoin("FOO", "FOOUSDC", "FOOUSDC", "FOO/USDC", "FOO", "USDC", rows),
        FakeCoin("FOO", "FOOUSDT", "FOOUSDT", "FOO/USDT", "FOO", "USDT", rows),
        FakeCoin("BAR", "BARUSDC", "BARUSDC", "BAR/USDC", "BAR", "USDC", rows),
    ):
        market.add(coin)


@pytest.fixture
def market() -> FakeMarket:
    m = sample_market(NOW)
    _oddities(m)
    return m


@pytest.fixture
def fake(market: FakeMarket) -> Iterator[FakeKraken]:
    with FakeKraken(market, now=lambda: NOW, hang_s=5.0) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _source(
    url: str, clock: FakeClock, *, timeout_s: float = 2.0, rng: float = 1.0, **policy: float
) -> KrakenPriceSource:
    return quick_source(KrakenPriceSource, url, clock, timeout_s=timeout_s, rng=rng, **policy)


@pytest.fixture
def source(fake: FakeKraken, clock: FakeClock) -> Iterator[KrakenPriceSource]:
    with _source(fake.base_url, clock) as kraken:
        yield kraken


def test_kraken_source_is_a_price_source(source: KrakenPriceSource) -> None:
    port: PriceSource = source
    assert port.pair_for("BTC") == BTC


@pytest.mark.parametrize(
    ("symbol", "name"),
    [("BTC", "XXBTZUSD"), ("DOGE", "XDGUSD"), ("ETH", "XETHZUSD"), ("XRP", "XXRPZUSD"), ("SOL", "SOLUSD")],
)
def test_symbols_map_to_kraken_pair_names(source: KrakenPriceSource, symbol: str, name: str) -> None:
    assert source.pair_for(symbol) == Pair(symbol=symbol, name=name)


def test_pairs_are_online_pairs_one_per_symbol_usd_first(source: KrakenPriceSource) -> None:
    pairs = {p.symbol: p for p in source.pairs()}
    assert pairs["BTC"] == BTC  # not the EUR, USDT or dark-pool pair
    assert pairs["MLN"].name == "XMLNZUSD"  # no wsname: legacy prefix stripped from XMLN
    assert pairs["PEPE"].name == "PEPEUSD"  # quote "USD" counts as USD too
    assert pairs["FOO"] == Pair("FOO", "FOOUSDT", "USDT")  # no USD pair: USDT before USDC
    assert pairs["BAR"] == Pair("BAR", "BARUSDC", "USDC")
    assert "LUNA" not in pairs  # cancel_only
    assert len(pairs) == 12 + 4


def test_unknown_symbol_says_which(source: KrakenPriceSource) -> None:
    with pytest.raises(UnknownSymbol, match="Kraken has no USD, USDT or USDC pair for DOGEX"):
        source.pair_for("dogex")


def test_asset_pairs_are_fetched_once_per_hour(fake: FakeKraken, source: KrakenPriceSource, clock: FakeClock) -> None:
    for symbol in ("BTC", "ETH", "SOL", "DOGE"):
        source.pair_for(symbol)
    assert fake.requests["AssetPairs"] == 1
    fake.market.remove("SOLUSD")
    clock.now += 3600
    with pytest.raises(UnknownSymbol):
        source.pair_for("SOL")
    assert fake.requests["AssetPairs"] == 2


def test_daily_candles_end_with_the_unfinished_day(source: KrakenPriceSource) -> None:
    series = source.candles(BTC, DAILY_MINUTES)
    assert series.interval_minutes == DAILY_MINUTES
    assert len(series.candles) == MAX_ENTRIES_PER_ANSWER
    assert series.candles[-1].open_time == TODAY
    assert series.last_committed == TODAY - timedelta(days=1)
    assert complete(series, NOW)[-1].open_time == TODAY - timedelta(days=1)
    assert all(c.open_time.tzinfo is not None and c.close > 0 for c in series.candles)


def test_coarse_candles_reach_back_to_listing(source: KrakenPriceSource) -> None:
    listed = datetime(2013, 10, 6, tzinfo=UTC)
    for interval in (WEEKLY_MINUTES, FIFTEEN_DAY_MINUTES):
        series = source.candles(BTC, interval)
        assert len(series.candles) < MAX_ENTRIES_PER_ANSWER
        first = series.candles[0]
        assert first.open_time <= listed < first.close_time(interval)
        assert 50 < first.open < 300


def test_the_odd_result_key_is_read_whatever_it_is_called(source: KrakenPriceSource) -> None:
    # Asked by altname, Kraken answers under its own key XXBTZUSD.
    by_altname = source.candles(Pair(symbol="BTC", name="XBTUSD"), DAILY_MINUTES)
    assert by_altname == source.candles(BTC, DAILY_MINUTES)


def test_a_new_day_appears_as_the_new_unfinished_candle(market: FakeMarket, clock: FakeClock) -> None:
    moment = [NOW]
    tomorrow = day_start(NOW) + DAY_S
    with FakeKraken(market, now=lambda: moment[0]) as fake, _source(fake.base_url, clock) as kraken:
        assert kraken.candles(BTC, DAILY_MINUTES).candles[-1].open_time == TODAY
        market.append_day("XXBTZUSD", (tomorrow, 64_000.0, 65_000.0, 63_000.0, 64_500.0, 64_200.0, 10.0, 99))
        moment[0] = NOW + timedelta(days=1)
        series = kraken.candles(BTC, DAILY_MINUTES)
    assert series.candles[-1].open_time == TODAY + timedelta(days=1)
    assert series.candles[-1].close == 64_500.0
    assert series.last_committed == TODAY


# The shared ones, and Kraken's own envelope errors for the same troubles.
TRANSIENT = [
    *SHARED_TRANSIENT,
    (Fault.TOO_MANY_REQUESTS, RateLimited),
    (Fault.LOCKOUT, RateLimited),
    (Fault.BUSY, ExchangeUnavailable),
    (Fault.INTERNAL_ERROR, ExchangeUnavailable),
]


@pytest.mark.parametrize("fault", [f for f, _ in TRANSIENT])
def test_transient_faults_are_retried_until_they_pass(
    fake: FakeKraken, source: KrakenPriceSource, clock: FakeClock, fault: Fault
) -> None:
    fake.inject(fault, times=2, path="OHLC")
    series = source.candles(BTC, DAILY_MINUTES)
    assert series.candles[-1].open_time == TODAY
    assert fake.requests["OHLC"] == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(("fault", "error"), TRANSIENT)
def test_transient_faults_that_persist_end_in_the_right_error(
    fake: FakeKraken, clock: FakeClock, fault: Fault, error: type[Exception]
) -> None:
    fake.inject(fault, times=10)
    with _source(fake.base_url, clock, max_retries=2) as kraken, pytest.raises(error) as raised:
        kraken.candles(BTC, DAILY_MINUTES)
    assert error is RateLimited or not isinstance(raised.value, RateLimited)
    assert fake.requests["OHLC"] == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.NON_NUMERIC, BadPriceData),
        (Fault.NEGATIVE, BadPriceData),
        (Fault.EMPTY, BadPriceData),
        (Fault.INVALID_ARGUMENTS, BadPriceData),
        (Fault.VANISHED, UnknownSymbol),
    ],
)
def test_permanent_faults_are_not_retried(
    fake: FakeKraken, source: KrakenPriceSource, clock: FakeClock, fault: Fault, error: type[Exception]
) -> None:
    fake.inject(fault, path="OHLC", pair="XXBTZUSD")
    with pytest.raises(error):
        source.candles(BTC, DAILY_MINUTES)
    assert fake.requests["OHLC"] == 1
    assert clock.sleeps == []


def test_faults_only_hit_the_pair_they_target(fake: FakeKraken, source: KrakenPriceSource) -> None:
    fake.inject(Fault.VANISHED, pair="XBTUSD")  # by altname
    assert source.candles(Pair("ETH", "XETHZUSD"), DAILY_MINUTES).candles
    with pytest.raises(UnknownSymbol):
        source.candles(BTC, DAILY_MINUTES)


def test_a_delisted_pair_is_an_unknown_symbol(fake: FakeKraken, source: KrakenPriceSource) -> None:
    fake.market.remove("XXBTZUSD")
    with pytest.raises(UnknownSymbol):
        source.candles(BTC, DAILY_MINUTES)
    assert fake.requests["OHLC"] == 1


@pytest.mark.parametrize(("retry_after", "expected"), [(7, 7.0), (999, 30.0)])
def test_retry_after_is_honoured_up_to_the_cap(
    fake: FakeKraken, clock: FakeClock, retry_after: int, expected: float
) -> None:
    fake.inject(Fault.HTTP_429, retry_after_s=retry_after)
    with _source(fake.base_url, clock, backoff_cap_s=30.0, rng=0.0) as kraken:
        kraken.candles(BTC, DAILY_MINUTES)
    assert clock.sleeps == [expected]


def test_backoff_is_exponential_with_full_jitter_and_capped(fake: FakeKraken, clock: FakeClock) -> None:
    for jitter, expected in ((1.0, [0.5, 1.0, 2.0, 2.0, 2.0]), (0.25, [0.125, 0.25, 0.5, 0.5, 0.5])):
        clock.sleeps.clear()
        with _source(fake.base_url, clock, max_retries=5, backoff_base_s=0.5, backoff_cap_s=2.0, rng=jitter) as kraken:
            fake.inject(Fault.HTTP_500, times=5)
            kraken.candles(BTC, DAILY_MINUTES)
        assert clock.sleeps == expected


def test_retries_are_logged_with_pair_and_reason(
    fake: FakeKraken, source: KrakenPriceSource, caplog: pytest.LogCaptureFixture
) -> None:
    fake.inject(Fault.RATE_LIMIT)
    with caplog.at_level(logging.WARNING, logger="backends.exchange_http"):
        source.candles(BTC, DAILY_MINUTES)
    assert len(caplog.records) == 1
    assert "XXBTZUSD" in caplog.text and "EAPI:Rate limit exceeded" in caplog.text


def test_requests_are_spaced_by_the_throttle(fake: FakeKraken, clock: FakeClock) -> None:
    with _source(fake.base_url, clock, request_interval_s=1.0) as kraken:
        for _ in range(3):
            kraken.candles(BTC, WEEKLY_MINUTES)
    assert clock.sleeps == [1.0, 1.0]
    assert fake.requests["OHLC"] == 3


@pytest.mark.timeout(20)
def test_the_throttle_holds_across_threads(fake: FakeKraken) -> None:
    interval, per_thread, threads = 0.05, 2, 4
    policy = RetryPolicy(request_interval_s=interval)
    with KrakenPriceSource(http_client(fake.base_url, 5.0), policy=policy) as kraken:
        started = time.monotonic()
        workers = [
            threading.Thread(target=lambda: [kraken.candles(BTC, WEEKLY_MINUTES) for _ in range(per_thread)])
            for _ in range(threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=10)
        elapsed = time.monotonic() - started
    assert fake.requests["OHLC"] == per_thread * threads
    assert elapsed >= interval * (per_thread * threads - 1) * 0.95


def test_fake_speaks_kraken_ohlc_format(fake: FakeKraken) -> None:
    body = httpx.get(f"{fake.base_url}/0/public/OHLC", params={"pair": "XBTUSD", "interval": 1440}).json()
    assert body["error"] == []
    assert sorted(body["result"]) == ["XXBTZUSD", "last"]
    rows = body["result"]["XXBTZUSD"]
    assert len(rows) == 720
    assert isinstance(rows[-1][0], int) and isinstance(rows[-1][7], int)
    assert all(isinstance(v, str) for v in rows[-1][1:7])
    assert body["result"]["last"] == rows[-2][0] == rows[-1][0] - DAY_S


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"pair": "XBTUSD", "interval": "120"}, "EGeneral:Invalid arguments"),
        ({"pair": "XBTUSD", "interval": "day"}, "EGeneral:Invalid arguments"),
        ({"interval": "1440"}, "EGeneral:Invalid arguments"),
        ({"pair": "NOPEUSD", "interval": "1440"}, "EQuery:Unknown asset pair"),
    ],
)
def test_fake_refuses_bad_ohlc_requests_like_kraken(fake: FakeKraken, params: dict[str, str], error: str) -> None:
    response = httpx.get(f"{fake.base_url}/0/public/OHLC", params=params)
    assert (response.status_code, response.json()) == (200, {"error": [error]})


def test_fake_filters_ohlc_by_since_and_asset_pairs_by_pair(fake: FakeKraken) -> None:
    since = int(TODAY.timestamp()) - 2 * DAY_S
    ohlc = httpx.get(f"{fake.base_url}/0/public/OHLC", params={"pair": "XDGUSD", "interval": 1440, "since": since})
    assert [r[0] for r in ohlc.json()["result"]["XDGUSD"]] == [since + DAY_S, since + 2 * DAY_S]
    pairs = httpx.get(f"{fake.base_url}/0/public/AssetPairs", params={"pair": "XXBTZUSD,XDGUSD"}).json()
    assert sorted(pairs["result"]) == ["XDGUSD", "XXBTZUSD"]
    assert pairs["result"]["XDGUSD"]["base"] == "XXDG"


@pytest.mark.timeout(20)
def test_fake_stop_interrupts_a_hang(market: FakeMarket) -> None:
    fake = FakeKraken(market, now=lambda: NOW, hang_s=30.0)
    url = fake.start()
    fake.inject(Fault.HANG)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(f"{url}/0/public/AssetPairs", timeout=25)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    client = threading.Thread(target=call, daemon=True)
    client.start()
    while fake.requests["AssetPairs"] == 0:
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    client.join(timeout=10)
    assert time.monotonic() - started < 5
    assert not client.is_alive()
    assert len(outcome) == 1  # the connection was cut, not answered


def test_a_stopped_fake_answers_no_request_read_after_the_stop_began(market: FakeMarket) -> None:
    # A kept-alive connection is still read until stop() cuts it: what it reads then must go unanswered,
    # or a "killed" exchange still completes a refresh that a fault scenario expects it to cut short.
    fake = FakeKraken(market, now=lambda: NOW)
    fake.start()
    assert fake.reply_to("/0/public/AssetPairs") is not None
    fake.stop()
    assert fake.reply_to("/0/public/AssetPairs") is None
    assert fake.reply_to("/0/public/OHLC?pair=XXBTZUSD&interval=1440") is None


@pytest.mark.timeout(60)
def test_fake_runs_standalone_until_sigterm() -> None:
    with standalone_fake("--coins", "3") as url:
        assert url.startswith("http://127.0.0.1:")
        pairs = httpx.get(f"{url}/0/public/AssetPairs", timeout=10).json()["result"]
        assert {"XXBTZUSD", "C0001USD", "C0003USD"} <= set(pairs)


def test_daily_is_the_newest_days_from_since_on(source: KrakenPriceSource) -> None:
    since = TODAY - timedelta(days=3)
    series = source.daily(BTC, since)
    assert [c.open_time for c in series.candles] == [since + timedelta(days=i) for i in range(4)]
    assert series.last_committed == TODAY - timedelta(days=1)
    assert source.daily(BTC, TODAY + timedelta(days=2)).candles == ()  # nothing new yet is not an error


def test_history_is_weekly_while_weekly_reaches_the_listing(source: KrakenPriceSource) -> None:
    history = source.history(BTC)
    assert history.interval_minutes == WEEKLY_MINUTES
    assert history.candles[0].open_time <= datetime(2013, 10, 6, tzinfo=UTC)


def test_history_is_daily_for_a_pair_younger_than_the_daily_window(
    market: FakeMarket, source: KrakenPriceSource
) -> None:
    first = day_start(NOW) - 300 * DAY_S
    rows = random_walk(random.Random(2), first, 301, 1.0, 3.0, 0.03)
    market.add(FakeCoin("NEWB", "NEWBUSD", "NEWBUSD", "NEWB/USD", "NEWB", "ZUSD", rows))
    history = source.history(Pair("NEWB", "NEWBUSD"))
    assert history.interval_minutes == DAILY_MINUTES
    assert history.candles[0].open_time == datetime.fromtimestamp(first, UTC)


def test_history_falls_back_to_fifteen_day_candles_when_weekly_is_cut_short(
    market: FakeMarket, source: KrakenPriceSource
) -> None:
    first = day_start(datetime(2010, 1, 1, tzinfo=UTC))
    rows = random_walk(random.Random(1), first, (day_start(NOW) - first) // DAY_S + 1, 1.0, 9.0, 0.03)
    market.add(FakeCoin("OLD", "OLDUSD", "OLDUSD", "OLD/USD", "OLD", "ZUSD", rows))
    history = source.history(Pair("OLD", "OLDUSD"))
    assert history.interval_minutes == FIFTEEN_DAY_MINUTES
    assert history.candles[0].open_time <= datetime(2010, 1, 1, tzinfo=UTC)


def test_first_day_is_the_vwap_of_the_first_days_trades(fake: FakeKraken, source: KrakenPriceSource) -> None:
    eth = fake.market.by_symbol("ETH")
    listed = eth.daily[0]
    first = source.first_day(Pair("ETH", "XETHZUSD"))
    assert first.day == datetime(2015, 8, 7, tzinfo=UTC)
    assert first.price_is_vwap
    assert first.price_usd == pytest.approx(listed[5], rel=1e-3)  # the fake's trades average to the day's VWAP
    assert first.volume_usd == pytest.approx(listed[5] * listed[6], rel=1e-3)


def test_first_day_pages_with_last_until_the_day_is_over(fake: FakeKraken, source: KrakenPriceSource) -> None:
    fake.trades_page = 300  # the listing day holds several pages of trades
    listed = fake.market.by_symbol("ETH").daily[0]
    first = source.first_day(Pair("ETH", "XETHZUSD"))
    assert fake.requests["Trades"] >= 2
    assert first.price_usd == pytest.approx(listed[5], rel=1e-3)
    assert first.volume_usd == pytest.approx(listed[5] * listed[6], rel=1e-3)


def test_first_day_reads_reordered_trades(fake: FakeKraken, source: KrakenPriceSource) -> None:
    fake.inject(Fault.REORDERED, path="Trades")
    assert source.first_day(BTC).day == datetime(2013, 10, 6, tzinfo=UTC)


def test_first_day_pages_are_bounded(fake: FakeKraken, source: KrakenPriceSource) -> None:
    fake.trades_page = 2
    first = source.first_day(BTC)
    assert fake.requests["Trades"] == 20
    assert first.day == datetime(2013, 10, 6, tzinfo=UTC) and first.price_usd > 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.NON_NUMERIC, BadPriceData), (Fault.NEGATIVE, BadPriceData), (Fault.VANISHED, UnknownSymbol)],
)
def test_bad_trades_are_refused(
    fake: FakeKraken, source: KrakenPriceSource, fault: Fault, error: type[Exception]
) -> None:
    fake.inject(fault, path="Trades")
    with pytest.raises(error):
        source.first_day(BTC)


def test_a_pair_without_trades_has_no_first_day(fake: FakeKraken, source: KrakenPriceSource) -> None:
    fake.inject(Fault.EMPTY, path="Trades")
    with pytest.raises(BadPriceData, match="never traded"):
        source.first_day(BTC)


def test_fake_speaks_kraken_trades_format(fake: FakeKraken) -> None:
    body = httpx.get(f"{fake.base_url}/0/public/Trades", params={"pair": "XBTUSD", "since": 0}).json()
    assert body["error"] == []
    assert sorted(body["result"]) == ["XXBTZUSD", "last"]
    trades = body["result"]["XXBTZUSD"]
    assert len(trades) == 1000
    price, volume, at, side, kind, misc, trade_id = trades[0]
    assert isinstance(price, str) and isinstance(volume, str) and isinstance(at, float)
    assert (side in "bs", kind, misc, isinstance(trade_id, int)) == (True, "l", "", True)
    last = body["result"]["last"]
    assert isinstance(last, str) and abs(int(last) / 1e9 - trades[-1][2]) < 1e-3  # nanoseconds
    following = httpx.get(f"{fake.base_url}/0/public/Trades", params={"pair": "XBTUSD", "since": last}).json()
    assert following["result"]["XXBTZUSD"][0][2] > trades[-1][2]


@pytest.mark.timeout(20)
def test_fake_enforces_kraken_rate_limit_when_asked(market: FakeMarket) -> None:
    with FakeKraken(market, now=lambda: NOW, enforce_rate_limit=True) as fake:
        answers = [httpx.get(f"{fake.base_url}/0/public/AssetPairs").json()["error"] for _ in range(3)]
    assert answers[0] == [] and answers[1] == answers[2] == ["EAPI:Rate limit exceeded"]


@pytest.mark.timeout(30)
def test_the_throttle_keeps_within_an_enforced_limit(market: FakeMarket) -> None:
    with FakeKraken(market, now=lambda: NOW, enforce_rate_limit=True, rate_limit=RateLimit(1, 0.2)) as fake:
        policy = RetryPolicy(request_interval_s=0.2, max_retries=0)
        with KrakenPriceSource(http_client(fake.base_url, 5.0), policy=policy) as kraken:
            for _ in range(4):
                kraken.candles(BTC, WEEKLY_MINUTES)
        assert fake.window is not None and fake.window.refused == 0
