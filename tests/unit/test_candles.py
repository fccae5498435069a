"""Candles: validation, ordering and which candles count as finished."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from common.candles import (
    DAILY_MINUTES,
    WEEKLY_MINUTES,
    Candle,
    CandleSeries,
    complete,
    utc_from_unix,
    validated,
)
from common.errors import BadPriceData

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def candle(open_time: datetime, close: float = 10.0, *, vwap: float = 10.0, volume: float = 5.0) -> Candle:
    return Candle(open_time, open=close, high=close, low=close, close=close, vwap=vwap, volume=volume)


def test_close_time_is_open_time_plus_the_interval() -> None:
    assert candle(T0).close_time(DAILY_MINUTES) == datetime(2026, 1, 2, tzinfo=UTC)
    assert candle(T0).close_time(WEEKLY_MINUTES) == datetime(2026, 1, 8, tzinfo=UTC)


def test_utc_from_unix_gives_an_aware_utc_datetime() -> None:
    assert utc_from_unix(1_767_225_600) == T0
    assert utc_from_unix(1_767_225_600).tzinfo is UTC


def test_validated_candles_come_back_sorted_by_open_time() -> None:
    shuffled = [candle(T0 + 2 * DAY, 3.0), candle(T0, 1.0), candle(T0 + DAY, 2.0)]

    assert [c.close for c in validated(shuffled)] == [1.0, 2.0, 3.0]


def test_a_repeated_open_time_keeps_only_the_last_candle_given() -> None:
    result = validated([candle(T0, 1.0), candle(T0, 2.0)])

    assert result == (candle(T0, 2.0),)


def test_an_empty_history_is_bad_price_data() -> None:
    with pytest.raises(BadPriceData, match="empty"):
        validated([])


@pytest.mark.parametrize("price", [0.0, -1.0, math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("field", ["open", "high", "low", "close"])
def test_a_non_positive_or_non_finite_price_is_bad_price_data(field: str, price: float) -> None:
    values = {"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, field: price}
    bad = Candle(T0, vwap=1.0, volume=1.0, **values)

    with pytest.raises(BadPriceData, match=field):
        validated([candle(T0 - DAY), bad])


@pytest.mark.parametrize("field", ["vwap", "volume"])
@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_a_negative_or_non_finite_vwap_or_volume_is_bad_price_data(field: str, value: float) -> None:
    bad = candle(T0, **{field: value})

    with pytest.raises(BadPriceData, match=field):
        validated([bad])


def test_a_candle_without_trades_may_have_zero_volume_and_zero_vwap() -> None:
    quiet = candle(T0, 4.0, vwap=0.0, volume=0.0)

    assert validated([quiet]) == (quiet,)


def test_a_candle_time_without_a_time_zone_is_bad_price_data() -> None:
    with pytest.raises(BadPriceData, match="time zone"):
        validated([candle(datetime(2026, 1, 1))])  # naive on purpose


def test_complete_excludes_a_candle_whose_close_time_is_after_now() -> None:
    series = CandleSeries(DAILY_MINUTES, (candle(T0), candle(T0 + DAY)))

    assert complete(series, now=T0 + DAY + timedelta(hours=5)) == (candle(T0),)


def test_complete_keeps_a_candle_that_closes_exactly_now() -> None:
    series = CandleSeries(DAILY_MINUTES, (candle(T0), candle(T0 + DAY)))

    assert complete(series, now=T0 + 2 * DAY) == (candle(T0), candle(T0 + DAY))


def test_complete_excludes_candles_opened_after_the_last_committed_one() -> None:
    series = CandleSeries(DAILY_MINUTES, (candle(T0), candle(T0 + DAY)), last_committed=T0)

    assert complete(series, now=T0 + 10 * DAY) == (candle(T0),)
