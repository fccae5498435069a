"""Raw trades aggregated to UTC days: VWAP, OHLC and volumes, whatever the row order or repeats."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from common.trades import DAY_S, Trade, daily_bars

DAY0 = int(datetime(2010, 4, 25, tzinfo=UTC).timestamp())


def test_a_day_of_trades_opens_at_its_first_and_closes_at_its_last_trade_with_its_vwap() -> None:
    trades = [Trade(DAY0 + 600, 0.004, 500.0), Trade(DAY0 + 60, 0.003, 1000.0), Trade(DAY0 + 300, 0.005, 100.0)]

    (bar,) = daily_bars(trades)

    candle = bar.candle
    assert candle.open_time == datetime(2010, 4, 25, tzinfo=UTC)
    assert (candle.open, candle.high, candle.low, candle.close) == (0.003, 0.005, 0.003, 0.004)
    assert candle.volume == 1600.0
    assert bar.volume_quote == math.fsum([0.003 * 1000.0, 0.005 * 100.0, 0.004 * 500.0])
    assert candle.vwap == bar.volume_quote / 1600.0


def test_days_are_split_at_utc_midnight_and_days_without_trades_have_no_bar() -> None:
    trades = [Trade(DAY0 + DAY_S - 1, 1.0, 1.0), Trade(DAY0 + DAY_S, 2.0, 1.0), Trade(DAY0 + 3 * DAY_S, 3.0, 1.0)]

    bars = daily_bars(trades)

    assert [b.candle.open_time.day for b in bars] == [25, 26, 28]
    assert [b.candle.close for b in bars] == [1.0, 2.0, 3.0]


def test_exact_duplicates_count_once_but_different_trades_in_the_same_second_both_count() -> None:
    same_second = [Trade(DAY0, 2.0, 1.0), Trade(DAY0, 2.0, 1.0), Trade(DAY0, 2.0, 3.0)]

    (bar,) = daily_bars(same_second)

    assert bar.candle.volume == 4.0
    assert bar.volume_quote == 8.0


def test_zero_negative_and_non_finite_trades_are_not_trades() -> None:
    junk = [
        Trade(DAY0, 0.0, 1.0),
        Trade(DAY0, -1.0, 1.0),
        Trade(DAY0, 1.0, 0.0),
        Trade(DAY0, math.nan, 1.0),
        Trade(DAY0, 1.0, math.inf),
        Trade(math.nan, 1.0, 1.0),
        Trade(1e300, 1.0, 1.0),
    ]

    assert daily_bars(junk) == ()
    assert daily_bars([*junk, Trade(DAY0 + 5, 7.0, 2.0)])[0].candle.close == 7.0


trades_strategy = st.lists(
    st.builds(
        Trade,
        st.integers(DAY0, DAY0 + 5 * DAY_S),
        st.floats(0.001, 100.0, allow_nan=False),
        st.floats(0.01, 1000.0, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


@given(trades_strategy, st.randoms(use_true_random=False))
def test_row_order_and_repeated_rows_never_change_the_bars(trades: list[Trade], rng: random.Random) -> None:
    messy = trades + rng.sample(trades, k=len(trades) // 2)
    rng.shuffle(messy)

    assert daily_bars(messy) == daily_bars(trades)


@given(trades_strategy)
def test_each_bar_is_consistent_with_its_trades(trades: list[Trade]) -> None:
    bars = daily_bars(trades)
    distinct = set(trades)

    assert [b.candle.open_time for b in bars] == sorted({b.candle.open_time for b in bars})
    assert math.isclose(math.fsum(b.candle.volume for b in bars), math.fsum(t.amount for t in distinct))
    for bar in bars:
        c = bar.candle
        assert c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high
        assert c.low <= c.vwap <= c.high
        assert c.open_time.timestamp() % DAY_S == 0
        day = [t for t in distinct if c.open_time.timestamp() <= t.unix_s < c.open_time.timestamp() + DAY_S]
        assert math.isclose(bar.volume_quote, math.fsum(t.price * t.amount for t in day))
