"""The listing rules: earliest wins, ties, provisional, zero-volume days, USDT, price exchange, composite history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.candles import DAILY_MINUTES, WEEKLY_MINUTES, Candle, CandleSeries
from common.errors import BadPriceData
from common.exchanges import ALL_SOURCES, LIVE_EXCHANGES
from common.history import composite, preference, spliced
from common.listings import ExchangeListing, earliest, from_first_day, is_final, price_exchange, sorted_listings
from common.ports import FirstDay
from common.sources import SourceAnswer, decide_document
from tests.unit.fakes import NOW, daily_candles

DAY = timedelta(days=1)
TODAY = NOW.replace(hour=0)
ORDER = ALL_SOURCES  # bitcoinmarket, mtgox (archived), kraken, coinbase, bitstamp, bitfinex, binance


def listing(exchange: str, day: datetime, price: float = 1.0, quote: str = "USD") -> ExchangeListing:
    source = "archive" if exchange in ("bitcoinmarket", "mtgox") else "api"
    return ExchangeListing(exchange, f"{exchange}-pair", quote, source, day, price, 10.0)


def test_the_earliest_listing_wins() -> None:
    found = earliest([listing("kraken", TODAY - 10 * DAY), listing("binance", TODAY - 20 * DAY)], ORDER)
    assert found.exchange == "binance"


def test_a_tie_goes_to_the_archive_then_the_exchange_order() -> None:
    day = TODAY - 5 * DAY
    tied = [listing("binance", day), listing("bitstamp", day), listing("mtgox", day)]
    assert earliest(tied, ORDER).exchange == "mtgox"
    assert earliest(tied[:2], ORDER).exchange == "bitstamp"
    assert earliest(tied[:2], ("mtgox", "binance", "bitstamp")).exchange == "binance"


def test_no_listing_anywhere_is_bad_price_data() -> None:
    with pytest.raises(BadPriceData):
        earliest([], ORDER)


def test_a_listing_is_final_only_when_every_source_answered() -> None:
    asked = ("kraken", "bitstamp", "binance")
    assert is_final(asked, listed=("kraken",), no_pair=("bitstamp", "binance")) is True
    assert is_final(asked, listed=("kraken",), no_pair=("bitstamp",)) is False


def test_a_first_day_without_trades_is_not_a_listing() -> None:
    with pytest.raises(BadPriceData, match="without trades"):
        from_first_day("bitstamp", "btcusd", "USD", FirstDay(TODAY, 5.97, 0.0, price_is_vwap=False))


def test_a_usdt_first_day_is_taken_at_par_and_keeps_its_quote() -> None:
    found = from_first_day("binance", "SOLUSDT", "USDT", FirstDay(TODAY, 3.3, 1e6, price_is_vwap=True))
    assert (found.quote, found.listing_price_usd, found.source) == ("USDT", 3.3, "api")


def test_a_first_day_is_the_utc_day_it_falls_in() -> None:
    found = from_first_day("archive", "BTCUSD", "USD", FirstDay(TODAY + timedelta(hours=13), 0.05, 0.99, True))
    assert found.listing_date == TODAY and found.source == "archive"


def test_a_listing_price_must_be_positive() -> None:
    with pytest.raises(BadPriceData):
        listing("kraken", TODAY, price=0.0)


def daily(last: datetime, days: int = 40, price: float = 1.0, volume: float = 5.0) -> CandleSeries:
    return CandleSeries(DAILY_MINUTES, daily_candles(last - (days - 1) * DAY, last, lambda i: price, lambda i: volume))


def test_the_price_exchange_is_the_first_fresh_one_in_order() -> None:
    answers = {"binance": daily(TODAY), "coinbase": daily(TODAY), "archive": daily(TODAY)}
    assert price_exchange(answers, ORDER, NOW).exchange == "coinbase"
    assert price_exchange(answers, ORDER, NOW).stale is False


def test_failing_fresh_ones_the_newest_prices_and_the_answer_is_stale() -> None:
    answers = {"kraken": daily(TODAY - 9 * DAY), "coinbase": daily(TODAY - 6 * DAY), "binance": daily(TODAY - 6 * DAY)}
    choice = price_exchange(answers, ORDER, NOW)
    assert (choice.exchange, choice.stale) == ("coinbase", True)


def test_the_archive_never_prices_even_when_alone() -> None:
    with pytest.raises(BadPriceData):
        price_exchange({"archive": daily(TODAY)}, ORDER, NOW)


def test_zero_volume_days_do_not_make_an_exchange_fresh() -> None:
    flat = CandleSeries(
        DAILY_MINUTES,
        daily(TODAY - 10 * DAY).candles + daily_candles(TODAY - 9 * DAY, TODAY, lambda i: 1.0, lambda i: 0),
    )
    answers = {"kraken": flat, "bitstamp": daily(TODAY - 2 * DAY)}
    assert price_exchange(answers, ORDER, NOW).exchange == "bitstamp"


def test_composite_prefers_earlier_layers_and_skips_zero_volume_days() -> None:
    first = CandleSeries(DAILY_MINUTES, daily_candles(TODAY - 3 * DAY, TODAY, lambda i: 1.0, lambda i: i % 2))
    second = CandleSeries(DAILY_MINUTES, daily_candles(TODAY - 3 * DAY, TODAY, lambda i: 2.0))
    times, closes = composite([first, second], TODAY - 3 * DAY, TODAY, NOW)
    assert closes == [2.0, 1.0, 2.0]  # day 0 and 2 had no trade on the first layer
    assert times == [int((TODAY - k * DAY).timestamp()) for k in (3, 2, 1)]


def test_composite_uses_weekly_closes_only_where_no_daily_close_exists() -> None:
    start = TODAY - 70 * DAY
    weekly = CandleSeries(
        WEEKLY_MINUTES,
        tuple(Candle(start + 7 * k * DAY, 9.0, 9.0, 9.0, 9.0, 9.0, 1.0) for k in range(10)),
    )
    recent = CandleSeries(DAILY_MINUTES, daily_candles(TODAY - 20 * DAY, TODAY, lambda i: 1.0))
    times, closes = composite([weekly, recent], start, TODAY, NOW)
    daily_from = int((TODAY - 20 * DAY).timestamp())
    assert all(c == 9.0 for t, c in zip(times, closes, strict=True) if t < daily_from)
    assert all(c == 1.0 for t, c in zip(times, closes, strict=True) if t >= daily_from)
    assert sum(1 for c in closes if c == 1.0) == 20


def test_spliced_keeps_past_days_and_takes_new_ones() -> None:
    times, closes = spliced([1, 2, 3], [1.0, 2.0, 3.0], [3, 4], [30.0, 40.0], datetime.fromtimestamp(3, UTC))
    assert (times, closes) == ([1, 2, 3, 4], [1.0, 2.0, 30.0, 40.0])


def test_preference_is_price_exchange_then_listing_exchange_then_order() -> None:
    assert preference("coinbase", "mtgox", ORDER) == (
        "coinbase",
        "mtgox",
        "bitcoinmarket",
        "kraken",
        "bitstamp",
        "bitfinex",
        "binance",
    )


def test_a_document_from_answers_carries_the_listing_quote_and_every_listing() -> None:
    def answer(name: str, first: datetime, quote: str = "USD") -> SourceAnswer:
        candles = CandleSeries(DAILY_MINUTES, daily_candles(first, TODAY, lambda i: 1.0 + i))
        return SourceAnswer(name, f"{name}-pair", listing(name, first, quote=quote), series=(candles,), daily=candles)

    answers = [
        answer("kraken", TODAY - 100 * DAY),
        SourceAnswer("coinbase", failure="ExchangeUnavailable: HTTP 503"),
        SourceAnswer("bitstamp", no_pair=True),
        answer("binance", TODAY - 300 * DAY, quote="USDT"),
    ]
    doc = decide_document("SOL", answers, None, NOW, history_since=None)
    assert (doc.exchange, doc.listing_quote, doc.price_exchange) == ("binance", "USDT", "kraken")
    assert doc.listing_complete is False and doc.pending == ("coinbase",)
    assert [x.exchange for x in doc.listings] == ["binance", "kraken"]


listing_days = st.integers(min_value=0, max_value=5000).map(lambda d: TODAY - d * DAY)
listing_sets = st.lists(
    st.tuples(st.sampled_from(ALL_SOURCES), listing_days),
    min_size=1,
    max_size=len(ALL_SOURCES),
    unique_by=lambda x: x[0],
)


@given(listing_sets, st.randoms())
def test_the_listing_is_the_earliest_whatever_order_the_answers_come_in(
    found: list[tuple[str, datetime]], shuffle: object
) -> None:
    listings = [listing(name, day) for name, day in found]
    chosen = earliest(listings, ORDER)
    shuffled = list(listings)
    shuffle.shuffle(shuffled)  # type: ignore[attr-defined]
    assert earliest(shuffled, ORDER) == chosen
    assert chosen.listing_date == min(day for _, day in found)
    tied = [name for name, day in found if day == chosen.listing_date]
    assert chosen.exchange == min(tied, key=ORDER.index)
    assert sorted_listings(shuffled, ORDER)[0] == chosen


@given(st.lists(st.tuples(st.sampled_from(ALL_SOURCES), st.integers(0, 10)), min_size=1, unique_by=lambda x: x[0]))
def test_the_price_exchange_is_never_the_archive_and_fresh_when_any_is(lags: list[tuple[str, int]]) -> None:
    answers = {name: daily(TODAY - lag * DAY) for name, lag in lags}
    live = [(name, lag) for name, lag in lags if name in LIVE_EXCHANGES]
    if not live:
        with pytest.raises(BadPriceData):
            price_exchange(answers, ORDER, NOW)
        return
    choice = price_exchange(answers, ORDER, NOW)
    assert choice.exchange != "archive"
    # At noon, today's candle is unfinished: a series ending `lag` days ago last closed max(lag, 1) - 1 days ago.
    closed_days_ago = {name: max(lag, 1) - 1 for name, lag in live}
    fresh = [name for name, ago in closed_days_ago.items() if ago + 0.5 <= 3]
    if fresh:
        assert choice.exchange == min(fresh, key=ORDER.index) and not choice.stale
    else:
        newest = min(closed_days_ago.values())
        tied = (n for n, ago in closed_days_ago.items() if ago == newest)
        assert choice.exchange == min(tied, key=ORDER.index) and choice.stale


@given(st.lists(st.booleans(), min_size=1, max_size=60))
def test_the_composite_never_charts_a_day_without_trades(traded_days: list[bool]) -> None:
    candles = daily_candles(
        TODAY - len(traded_days) * DAY, TODAY - DAY, lambda i: 1.0 + i, lambda i: float(traded_days[i])
    )
    times, closes = composite([CandleSeries(DAILY_MINUTES, candles)], TODAY - 400 * DAY, TODAY, NOW)
    assert closes == [c.close for c in candles if c.volume > 0]
    assert times == sorted(set(times))


day_sets = st.lists(st.sets(st.integers(min_value=1, max_value=30), max_size=30), min_size=1, max_size=4)


@given(day_sets)
def test_each_day_of_the_composite_comes_from_the_most_preferred_source_that_traded(traded_by: list[set[int]]) -> None:
    """Layer k closes at k + 1 on the days in traded_by[k] (days ago), and has flat zero-volume days elsewhere."""

    def layer(k: int, days: set[int]) -> CandleSeries:
        return CandleSeries(
            DAILY_MINUTES,
            daily_candles(TODAY - 30 * DAY, TODAY - DAY, lambda i: k + 1.0, lambda i: float(30 - i in days)),
        )

    layers = [layer(k, days) for k, days in enumerate(traded_by)]
    times, closes = composite(layers, TODAY - 30 * DAY, TODAY, NOW)
    for t, close in zip(times, closes, strict=True):
        ago = (TODAY - datetime.fromtimestamp(t, UTC)).days
        assert close == 1.0 + next(k for k, days in enumerate(traded_by) if ago in days)
    assert len(times) == len(set().union(*traded_by))


@given(st.lists(st.sampled_from(("listed", "no pair", "failed")), min_size=1, max_size=len(ALL_SOURCES)))
def test_a_listing_is_final_exactly_when_no_source_failed(states: list[str]) -> None:
    names = ALL_SOURCES[: len(states)]
    listed = [n for n, s in zip(names, states, strict=False) if s == "listed"]
    no_pair = [n for n, s in zip(names, states, strict=False) if s == "no pair"]
    assert is_final(names, listed, no_pair) is ("failed" not in states)
