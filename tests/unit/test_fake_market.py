"""The synthetic market behind offline mode, tests and benchmarks: deterministic, plausible, Kraken-shaped."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fake_exchange.market import FakeCoin, FakeMarket, day_start, sample_market, synthetic_market
from fake_exchange.ohlc import DAY_S, MAX_ENTRIES, Row, aggregate, ohlc_answer

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
NOW_S = int(NOW.timestamp())
TODAY = day_start(NOW)
WEEK_S = 10080 * 60

LISTINGS = {
    "BTC": ("XXBTZUSD", "2013-10-06"),
    "ETH": ("XETHZUSD", "2015-08-07"),
    "XRP": ("XXRPZUSD", "2017-05-18"),
    "LTC": ("XLTCZUSD", "2013-10-24"),
    "BCH": ("BCHUSD", "2017-08-01"),
    "ADA": ("ADAUSD", "2017-10-01"),
    "SOL": ("SOLUSD", "2021-06-01"),
    "DOT": ("DOTUSD", "2020-08-18"),
    "DOGE": ("XDGUSD", "2019-07-01"),
    "LINK": ("LINKUSD", "2019-06-26"),
    "XLM": ("XXLMZUSD", "2018-02-01"),
    "ATOM": ("ATOMUSD", "2019-04-22"),
}


def _row(day: int, close: float, volume: float = 1.0, count: int = 1) -> Row:
    return (day, close, close * 1.1, close * 0.9, close, close, volume, count)


def test_sample_market_lists_the_dozen_coins_from_their_listing_day_to_today():
    market = sample_market(NOW)
    assert {c.symbol: c.pair_name for c in market} == {s: pair for s, (pair, _) in LISTINGS.items()}
    for coin in market:
        listed = day_start(datetime.fromisoformat(LISTINGS[coin.symbol][1]).replace(tzinfo=UTC))
        assert coin.daily[0][0] == listed
        assert coin.daily[-1][0] == TODAY
        assert len(coin.daily) == (TODAY - listed) // DAY_S + 1


def test_sample_market_is_deterministic_per_seed():
    first, again, other = sample_market(NOW), sample_market(NOW), sample_market(NOW, seed=7)
    btc = first.by_symbol("BTC").daily
    assert list(btc) == list(again.by_symbol("BTC").daily)
    assert list(btc) != list(other.by_symbol("BTC").daily)


def test_doge_is_listed_under_kraken_legacy_names():
    doge = sample_market(NOW).by_symbol("DOGE")
    assert (doge.pair_name, doge.altname, doge.wsname, doge.base, doge.quote) == (
        "XDGUSD",
        "XDGUSD",
        "XDG/USD",
        "XXDG",
        "ZUSD",
    )


def test_bitcoin_starts_near_a_hundred_dollars_and_ends_in_the_tens_of_thousands():
    btc = sample_market(NOW).by_symbol("BTC").daily
    assert 50 < btc[0][4] < 300
    assert 10_000 < btc[-1][4] < 100_000


def test_every_sample_candle_is_a_consistent_positive_candle():
    for coin in sample_market(NOW):
        previous_close = None
        for _time, o, h, low, c, vwap, volume, count in coin.daily:
            assert all(math.isfinite(p) and p > 0 for p in (o, h, low, c, vwap))
            assert low <= min(o, c) <= max(o, c) <= h
            assert low <= vwap <= h
            assert volume > 0 and count >= 1
            if previous_close is not None:
                assert o == previous_close  # a continuous walk: each day opens at the last close
            previous_close = c


def test_weekly_candles_are_aligned_to_epoch_multiples_and_merge_their_days():
    monday = 1_772_409_600  # 2026-03-02, a Monday; Kraken's weeks start on Thursdays (epoch day 0)
    days = [_row(monday + i * DAY_S, 10.0 + i, volume=i + 1, count=2) for i in range(5)]
    weeks = aggregate(days, 10080)
    assert [w[0] % WEEK_S for w in weeks] == [0, 0]
    first, second = weeks
    assert first[0] == monday - monday % WEEK_S
    assert (first[1], first[4]) == (10.0, 12.0)  # Mon..Wed: open of Monday, close of Wednesday
    assert (second[1], second[4]) == (13.0, 14.0)
    assert first[2] == pytest.approx(12.0 * 1.1) and first[3] == pytest.approx(10.0 * 0.9)
    assert first[6] == 1 + 2 + 3 and first[7] == 6
    assert first[5] == pytest.approx((10 * 1 + 11 * 2 + 12 * 3) / 6)


@given(st.lists(st.floats(min_value=0.01, max_value=1e6), min_size=1, max_size=120), st.sampled_from([10080, 21600]))
def test_aggregation_keeps_volume_and_price_bounds(closes, interval):
    days = [_row(TODAY + i * DAY_S, c, volume=1.5) for i, c in enumerate(closes)]
    merged = aggregate(days, interval)
    assert sum(m[6] for m in merged) == pytest.approx(1.5 * len(closes))
    assert merged[0][1] == days[0][1] and merged[-1][4] == days[-1][4]
    assert max(m[2] for m in merged) == max(d[2] for d in days)
    assert all(m[3] <= m[5] <= m[2] for m in merged)


def test_ohlc_answer_holds_the_720_newest_candles_with_the_unfinished_one_last():
    btc = sample_market(NOW).by_symbol("BTC").daily
    answer = ohlc_answer(btc, 1440, NOW_S)
    assert len(answer.rows) == MAX_ENTRIES
    assert answer.rows[-1][0] == TODAY
    assert answer.last == TODAY - DAY_S == answer.rows[-2][0]


def test_ohlc_answer_hides_days_after_now_and_honours_since():
    btc = sample_market(NOW).by_symbol("BTC").daily
    earlier = ohlc_answer(btc, 1440, NOW_S - 10 * DAY_S)
    assert earlier.rows[-1][0] == TODAY - 10 * DAY_S
    recent = ohlc_answer(btc, 1440, NOW_S, since=TODAY - 3 * DAY_S)
    assert [r[0] for r in recent.rows] == [TODAY - 2 * DAY_S, TODAY - DAY_S, TODAY]


def test_ohlc_answer_reaches_back_to_listing_at_coarse_intervals():
    btc = sample_market(NOW).by_symbol("BTC").daily
    for interval in (10080, 21600):
        answer = ohlc_answer(btc, interval, NOW_S)
        assert len(answer.rows) < MAX_ENTRIES
        assert answer.rows[0][0] <= btc[0][0] < answer.rows[0][0] + interval * 60
        assert answer.rows[0][1] == btc[0][1]


def test_ohlc_answer_refuses_intervals_kraken_does_not_have():
    with pytest.raises(ValueError):
        ohlc_answer([], 120, NOW_S)
    assert ohlc_answer([], 60, NOW_S).rows == []


def test_a_thousand_synthetic_coins_build_fast_with_valid_symbols():
    started = time.perf_counter()
    market = synthetic_market(1000, NOW, days=800)
    assert time.perf_counter() - started < 1.0
    symbols = [c.symbol for c in market]
    assert len(set(symbols)) == 1000
    assert symbols[0] == "C0001" and symbols[-1] == "C1000"
    assert all(re.fullmatch(r"[A-Z0-9]{2,12}", s) for s in symbols)
    coin = market.by_symbol("C0042")
    assert len(coin.daily) == 800 and coin.daily[-1][0] == TODAY
    assert list(coin.daily) == list(synthetic_market(1000, NOW, days=800).by_symbol("C0042").daily)


def test_market_mutations_bump_the_version():
    market = sample_market(NOW)
    version = market.version
    market.append_day("XXBTZUSD", _row(TODAY + DAY_S, 70_000.0))
    assert market.by_symbol("BTC").daily[-1][0] == TODAY + DAY_S
    with pytest.raises(ValueError):
        market.append_day("XXBTZUSD", _row(TODAY, 1.0))
    market.set_status("SOLUSD", "cancel_only")
    market.remove("ADAUSD")
    market.add(FakeCoin("NEW", "NEWUSD", "NEWUSD", "NEW/USD", "NEW", "ZUSD", [_row(TODAY, 1.0)]))
    assert market.version == version + 4
    assert market.find("ADAUSD") is None
    assert market.find("NEWUSD") is not None
    assert market.by_symbol("SOL").status == "cancel_only"


def test_market_finds_pairs_by_altname_too():
    market = sample_market(NOW)
    assert market.find("XBTUSD") is market.find("XXBTZUSD") is not None
    assert FakeMarket().find("XBTUSD") is None


def test_day_start_needs_an_aware_time():
    with pytest.raises(ValueError):
        day_start(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    assert day_start(NOW + timedelta(hours=9)) == TODAY + DAY_S
