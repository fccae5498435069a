"""What every PriceSource promises, run over each adapter against its loopback fake (tests/contract/exchange_cases.py).

An exchange joins by adding its Case; the contracts here are the ones the
listing rules rely on: unknown means UnknownSymbol, days without trades are
never candles, the listing is the first day with volume, transient failures
are retried (never sooner than Retry-After) and bad data is refused at once.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from backends.exchange_http import RetryPolicy, http_client
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.exchanges import LIVE_EXCHANGES, QUOTES
from common.ports import Pair, PriceSource
from fake_exchange import FakeMarket, Fault, sample_market
from fake_exchange.limits import RateLimit
from fake_exchange.memory import InMemoryPriceSource
from fake_exchange.server import FakeExchange
from tests.contract.exchange_cases import CASES, NOW, TRANSIENT, Case, FakeClock, quick_source

TODAY = datetime(2026, 3, 4, tzinfo=UTC)
RECENT = TODAY - timedelta(days=5)


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


@pytest.fixture(scope="module")
def market() -> FakeMarket:
    return sample_market(NOW)


@pytest.fixture
def fake(case: Case, market: FakeMarket) -> Iterator[FakeExchange]:
    with case.fake(market, now=lambda: NOW, hang_s=5.0) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _source(
    case: Case, url: str, clock: FakeClock, *, timeout_s: float = 2.0, max_retries: int = 3, rng: float = 1.0
) -> PriceSource:
    return quick_source(case.build, url, clock, timeout_s=timeout_s, rng=rng, max_retries=max_retries)


@pytest.fixture
def source(case: Case, fake: FakeExchange, clock: FakeClock) -> Iterator[PriceSource]:
    adapter = _source(case, fake.base_url, clock)
    yield adapter
    adapter.close()


def test_every_live_exchange_has_a_name_from_the_one_list(case: Case, source: PriceSource) -> None:
    assert source.name == case.name in LIVE_EXCHANGES


@dataclass(frozen=True)
class Listed:
    """A PriceSource under test and what the shared market says about its exchange."""

    name: str
    absent: str
    unknown_pair: str
    btc_quote: str
    source: PriceSource


@pytest.fixture(params=[*sorted(CASES), "in-memory"])
def listed(request: pytest.FixtureRequest, market: FakeMarket, clock: FakeClock) -> Iterator[Listed]:
    """Every adapter against its fake, and the in-memory twin (Bitstamp's listings) beside them."""
    if request.param == "in-memory":
        yield Listed("bitstamp", "ATOM", "NOPE-USD", "USD", InMemoryPriceSource(market, "bitstamp", lambda: NOW))
        return
    case = CASES[request.param]
    with case.fake(market, now=lambda: NOW, hang_s=5.0) as server:
        adapter = _source(case, server.base_url, clock)
        yield Listed(case.name, case.absent, case.unknown_pair, case.btc_quote, adapter)
        adapter.close()


def test_pairs_are_one_per_symbol_in_a_quote_delos_takes(listed: Listed) -> None:
    source = listed.source
    pairs = source.pairs()
    assert len({p.symbol for p in pairs}) == len(pairs) > 0
    assert all(p.quote in QUOTES for p in pairs)
    assert source.pair_for("btc") == next(p for p in pairs if p.symbol == "BTC")
    assert source.pair_for("BTC").quote == listed.btc_quote


def test_an_unknown_symbol_raises_unknown_symbol(listed: Listed) -> None:
    with pytest.raises(UnknownSymbol):
        listed.source.pair_for("NOPE")


def test_a_coin_the_exchange_does_not_list_is_an_unknown_symbol(listed: Listed) -> None:
    with pytest.raises(UnknownSymbol):
        listed.source.pair_for(listed.absent)


def test_an_unknown_pair_name_raises_unknown_symbol(listed: Listed) -> None:
    with pytest.raises(UnknownSymbol):
        listed.source.daily(Pair("NOPE", listed.unknown_pair))


@pytest.mark.parametrize("symbol", ["BTC", "ETH", "DOGE"])
def test_first_day_is_the_first_day_with_volume(listed: Listed, market: FakeMarket, symbol: str) -> None:
    coin = market.by_symbol(symbol)
    venue = coin.venue(listed.name)
    assert venue is not None
    first = listed.source.first_day(listed.source.pair_for(symbol))
    row = coin.rows_on(listed.name)[0]
    assert first.day == datetime.fromtimestamp(venue.listed, UTC)
    expected = row[5] if first.price_is_vwap else row[4]  # that day's VWAP where given, else its close
    assert first.price_usd == pytest.approx(expected, rel=1e-3)
    assert first.volume_usd > 0


def test_daily_never_returns_zero_volume_candles(listed: Listed) -> None:
    series = listed.source.daily(listed.source.pair_for("BTC"))
    times = [c.open_time for c in series.candles]
    assert all(c.volume > 0 for c in series.candles)
    assert times == sorted(set(times))
    assert all(t.tzinfo is not None and t == t.replace(hour=0, minute=0, second=0, microsecond=0) for t in times)
    assert times[-1] == TODAY  # today's candle, unfinished, comes last


def test_daily_since_starts_there(listed: Listed) -> None:
    source = listed.source
    series = source.daily(source.pair_for("ETH"), RECENT)
    assert series.candles and series.candles[0].open_time >= RECENT
    assert series.candles[-1].open_time == TODAY
    assert source.daily(source.pair_for("ETH"), TODAY + timedelta(days=3)).candles == ()


def test_history_reaches_back_to_the_listing(listed: Listed) -> None:
    pair = listed.source.pair_for("LTC")
    history = listed.source.history(pair)
    first = listed.source.first_day(pair)
    assert history.candles[0].open_time <= first.day
    assert all(c.volume > 0 for c in history.candles)


@pytest.mark.parametrize("fault", [f for f, _ in TRANSIENT])
def test_transient_faults_are_retried_until_they_pass(
    case: Case, fake: FakeExchange, source: PriceSource, clock: FakeClock, fault: Fault
) -> None:
    pair = source.pair_for("BTC")
    fake.inject(fault, times=2, path=case.candles_endpoint)
    assert source.daily(pair, RECENT).candles[-1].open_time == TODAY
    assert fake.requests[case.candles_endpoint] == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(("fault", "error"), TRANSIENT)
def test_transient_faults_that_persist_end_in_their_error(
    case: Case, fake: FakeExchange, clock: FakeClock, fault: Fault, error: type[Exception]
) -> None:
    adapter = _source(case, fake.base_url, clock, max_retries=2)
    pair = adapter.pair_for("BTC")
    fake.inject(fault, times=10, path=case.candles_endpoint)
    with pytest.raises(error) as raised:
        adapter.daily(pair, RECENT)
    adapter.close()
    assert error is RateLimited or not isinstance(raised.value, RateLimited)
    assert fake.requests[case.candles_endpoint] == 3


@pytest.mark.parametrize("fault", [f for f, _ in TRANSIENT])
def test_the_pair_list_is_retried_too(fake: FakeExchange, source: PriceSource, clock: FakeClock, fault: Fault) -> None:
    fake.inject(fault, times=2)  # the first requests are the pair list's
    assert source.pair_for("BTC").symbol == "BTC"
    assert sum(fake.requests.values()) == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(("retry_after", "expected"), [(7, 7.0), (999, 30.0)])
def test_retry_after_is_honoured_up_to_the_cap(
    case: Case, fake: FakeExchange, clock: FakeClock, retry_after: int, expected: float
) -> None:
    adapter = _source(case, fake.base_url, clock, rng=0.0)
    pair = adapter.pair_for("BTC")
    fake.inject(Fault.HTTP_429, path=case.candles_endpoint, retry_after_s=retry_after)
    adapter.daily(pair, RECENT)
    adapter.close()
    assert clock.sleeps == [expected]


@pytest.mark.parametrize("fault", [Fault.NON_NUMERIC, Fault.NEGATIVE, Fault.INVALID_ARGUMENTS])
def test_bad_prices_and_refused_arguments_are_bad_price_data_at_once(
    case: Case, fake: FakeExchange, source: PriceSource, clock: FakeClock, fault: Fault
) -> None:
    pair = source.pair_for("BTC")
    fake.inject(fault, path=case.candles_endpoint)
    with pytest.raises(BadPriceData):
        source.daily(pair, RECENT)
    assert fake.requests[case.candles_endpoint] == 1
    assert clock.sleeps == []


def test_empty_answers_are_never_a_listing(case: Case, fake: FakeExchange, source: PriceSource) -> None:
    pair = source.pair_for("ETH")
    fake.inject(Fault.EMPTY, times=50)  # every candle or trade answer comes back empty
    with pytest.raises((UnknownSymbol, BadPriceData)):
        source.first_day(pair)
    assert source.daily(pair, RECENT).candles == ()  # nothing new is not an error


def test_reordered_answers_read_the_same(case: Case, fake: FakeExchange, source: PriceSource) -> None:
    pair = source.pair_for("ETH")
    fake.inject(Fault.REORDERED, path=case.candles_endpoint)
    reordered = source.daily(pair, RECENT)
    assert reordered == source.daily(pair, RECENT)


@pytest.mark.timeout(20)
def test_a_hanging_exchange_is_cut_off_by_the_timeout(case: Case, fake: FakeExchange, clock: FakeClock) -> None:
    adapter = _source(case, fake.base_url, clock, timeout_s=0.2, max_retries=1)
    pair = adapter.pair_for("BTC")
    fake.inject(Fault.HANG, times=5, path=case.candles_endpoint)
    started = time.monotonic()
    with pytest.raises(ExchangeUnavailable, match="no answer in time"):
        adapter.daily(pair, RECENT)
    adapter.close()
    assert time.monotonic() - started < 2.0
    assert fake.requests[case.candles_endpoint] == 2


@pytest.mark.timeout(20)
def test_a_hang_that_passes_is_retried(case: Case, fake: FakeExchange, clock: FakeClock) -> None:
    adapter = _source(case, fake.base_url, clock, timeout_s=0.2)
    pair = adapter.pair_for("BTC")
    fake.inject(Fault.HANG, path=case.candles_endpoint)
    assert adapter.daily(pair, RECENT).candles
    adapter.close()
    assert fake.requests[case.candles_endpoint] == 2


def test_a_closed_port_is_exchange_unavailable(case: Case, clock: FakeClock) -> None:
    # Bound, never listening, and held for the whole test: connections are refused, and no other
    # process can take the port meanwhile.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        adapter = _source(case, f"http://127.0.0.1:{port}", clock, max_retries=2)
        with pytest.raises(ExchangeUnavailable):
            adapter.pairs()
        adapter.close()
        assert len(clock.sleeps) == 2


def test_the_exchanges_own_rate_limit_answer_is_rate_limited(case: Case, market: FakeMarket, clock: FakeClock) -> None:
    with case.fake(
        market, now=lambda: NOW, enforce_rate_limit=True, rate_limit=RateLimit(case.pairs_weight, 60.0)
    ) as fake:
        adapter = _source(case, fake.base_url, clock, max_retries=0)
        adapter.pairs()
        with pytest.raises(RateLimited):
            adapter.daily(Pair("BTC", case.unknown_pair), RECENT)
        adapter.close()


@pytest.mark.timeout(30)
def test_the_default_spacing_keeps_within_the_published_limit(case: Case, market: FakeMarket) -> None:
    assert case.request_interval_s >= case.fake.published_limit.interval_s * case.candle_weight
    # The same rule at a tenth of a second, so the test is quick; the pair list may take the whole budget.
    scaled = RateLimit(case.pairs_weight, 0.1)
    with case.fake(market, now=lambda: NOW, enforce_rate_limit=True, rate_limit=scaled) as fake:
        policy = RetryPolicy(request_interval_s=scaled.interval_s * case.candle_weight, max_retries=0)
        adapter = case.build(http_client(fake.base_url, 5.0), policy=policy)
        pair = adapter.pair_for("ETH")
        time.sleep(scaled.per_s)  # bounded: lets the pair list's weight leave the window
        for _ in range(3):
            adapter.daily(pair, RECENT)
        adapter.close()
        assert fake.window is not None and fake.window.refused == 0
