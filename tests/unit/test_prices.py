"""Listing and last month: the two facts every answer rests on, with hand-computed expectations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from common.candles import (
    DAILY_MINUTES,
    FIFTEEN_DAY_MINUTES,
    MAX_ENTRIES_PER_ANSWER,
    WEEKLY_MINUTES,
    Candle,
    CandleSeries,
)
from common.coin import build_document, needs_coarser_history
from common.errors import BadPriceData
from common.prices import LastMonth, is_possibly_truncated, last_month_from, listing_from

DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)
LISTED = datetime(2020, 1, 6, tzinfo=UTC)
# Latest complete daily candle opens 2026-11-19 and closes at END; the one opened at END is unfinished at NOW.
END = datetime(2026, 11, 20, tzinfo=UTC)
NOW = END + timedelta(hours=12)
START = datetime(2026, 10, 21, tzinfo=UTC)  # END - 30 days


def candle(open_time: datetime, close: float = 10.0, *, vwap: float | None = None, volume: float = 5.0) -> Candle:
    return Candle(open_time, close, close, close, close, close if vwap is None else vwap, volume)


def daily(*candles: Candle, last_committed: datetime | None = None) -> CandleSeries:
    return CandleSeries(DAILY_MINUTES, candles, last_committed)


def weekly_from(first: Candle, count: int) -> CandleSeries:
    """`count` weekly candles, the first one given, the rest at price 1."""
    rest = tuple(candle(first.open_time + WEEK * i, 1.0) for i in range(1, count))
    return CandleSeries(WEEKLY_MINUTES, (first, *rest))


# --- listing -----------------------------------------------------------------------------------


def test_the_listing_is_the_open_time_and_vwap_of_the_earliest_weekly_candle() -> None:
    weekly = CandleSeries(
        WEEKLY_MINUTES,
        (candle(LISTED + WEEK, 0.9, vwap=0.8), candle(LISTED, 0.6, vwap=0.5), candle(LISTED + 2 * WEEK, 1.2)),
    )

    listing = listing_from(weekly)

    assert listing.date == LISTED
    assert listing.price_usd == 0.5
    assert listing.interval_minutes == WEEKLY_MINUTES
    assert listing.may_be_truncated is False


def test_a_listing_candle_without_volume_is_priced_at_its_close() -> None:
    weekly = weekly_from(candle(LISTED, 0.6, vwap=0.0, volume=0.0), 3)

    assert listing_from(weekly).price_usd == 0.6


def test_a_weekly_answer_one_short_of_the_cap_is_not_flagged_as_truncated() -> None:
    weekly = weekly_from(candle(LISTED, 0.6), MAX_ENTRIES_PER_ANSWER - 1)

    assert is_possibly_truncated(weekly) is False
    assert listing_from(weekly).may_be_truncated is False


def test_a_weekly_answer_of_720_entries_is_flagged_as_possibly_truncated() -> None:
    weekly = weekly_from(candle(LISTED, 0.6), 720)

    assert is_possibly_truncated(weekly) is True
    assert listing_from(weekly).may_be_truncated is True


def test_a_full_weekly_answer_needs_the_coarser_history_unless_the_listing_is_known() -> None:
    full = weekly_from(candle(LISTED, 0.6), 720)
    short = weekly_from(candle(LISTED, 0.6), 10)
    known = listing_from(short)

    assert needs_coarser_history(full, known_listing=None) is True
    assert needs_coarser_history(full, known_listing=known) is False
    assert needs_coarser_history(short, known_listing=None) is False


def full_weekly() -> CandleSeries:
    """720 weekly candles from 2013-01-07 (the oldest at price 7) to 2026-10-19, before END."""
    first_open = datetime(2013, 1, 7, tzinfo=UTC)
    return weekly_from(candle(first_open, 7.0), 720)


def coarse_from(first: Candle, count: int) -> CandleSeries:
    step = timedelta(minutes=FIFTEEN_DAY_MINUTES)
    rest = tuple(candle(first.open_time + step * i, 1.0) for i in range(1, count))
    return CandleSeries(FIFTEEN_DAY_MINUTES, (first, *rest))


def a_month_of_daily_candles() -> CandleSeries:
    return daily(*(candle(START + DAY * i, 100.0) for i in range(31)))


def test_a_full_weekly_answer_takes_the_listing_from_the_15_day_series() -> None:
    coarse_listing = datetime(2012, 6, 1, tzinfo=UTC)
    coarse = coarse_from(candle(coarse_listing, 0.03, vwap=0.02), 100)

    doc = build_document(
        symbol="BTC",
        exchange="kraken",
        pair="XXBTZUSD",
        weekly=full_weekly(),
        daily=a_month_of_daily_candles(),
        now=NOW,
        coarse=coarse,
    )

    assert doc.listing.date == coarse_listing
    assert doc.listing.price_usd == 0.02
    assert doc.listing.interval_minutes == FIFTEEN_DAY_MINUTES
    assert doc.listing.may_be_truncated is False


def test_a_full_15_day_answer_flags_the_listing_as_possibly_truncated() -> None:
    coarse = coarse_from(candle(datetime(2000, 1, 1, tzinfo=UTC), 0.03, vwap=0.02), 720)

    doc = build_document(
        symbol="BTC",
        exchange="kraken",
        pair="XXBTZUSD",
        weekly=full_weekly(),
        daily=a_month_of_daily_candles(),
        now=NOW,
        coarse=coarse,
    )

    assert doc.listing.interval_minutes == FIFTEEN_DAY_MINUTES
    assert doc.listing.may_be_truncated is True


def test_a_full_weekly_answer_without_a_15_day_series_keeps_the_weekly_listing_flagged() -> None:
    doc = build_document(
        symbol="BTC",
        exchange="kraken",
        pair="XXBTZUSD",
        weekly=full_weekly(),
        daily=a_month_of_daily_candles(),
        now=NOW,
    )

    assert doc.listing.date == datetime(2013, 1, 7, tzinfo=UTC)
    assert doc.listing.price_usd == 7.0
    assert doc.listing.interval_minutes == WEEKLY_MINUTES
    assert doc.listing.may_be_truncated is True


def test_a_listing_from_an_empty_series_is_bad_price_data() -> None:
    with pytest.raises(BadPriceData):
        listing_from(CandleSeries(WEEKLY_MINUTES, ()))


# --- last month --------------------------------------------------------------------------------


def test_the_unfinished_last_candle_is_excluded_by_its_close_time() -> None:
    series = daily(candle(END - 2 * DAY, 1.0), candle(END - DAY, 2.0), candle(END, 999.0))

    month = last_month_from(series, now=NOW)

    assert month.end == END
    assert month.closes == (1.0, 2.0)


def test_the_unfinished_last_candle_is_excluded_by_last_committed() -> None:
    series = daily(candle(END - 2 * DAY, 1.0), candle(END - DAY, 2.0), candle(END, 999.0), last_committed=END - DAY)

    month = last_month_from(series, now=END + 3 * DAY)

    assert month.end == END
    assert month.closes == (1.0, 2.0)


def test_a_candle_opening_exactly_30_days_before_the_end_is_in_the_month() -> None:
    series = daily(candle(START - DAY, 111.0), candle(START, 1.0), candle(END - DAY, 2.0), candle(END, 999.0))

    month = last_month_from(series, now=NOW)

    assert month.start == START
    assert month.close_times == (START, END - DAY)
    assert month.closes == (1.0, 2.0)


def test_a_candle_opening_one_second_before_the_window_is_not_in_the_month() -> None:
    series = daily(candle(START - timedelta(seconds=1), 111.0), candle(END - DAY, 2.0))

    month = last_month_from(series, now=NOW)

    assert month.closes == (2.0,)


def test_the_candle_opening_exactly_at_the_end_is_not_in_the_month() -> None:
    series = daily(candle(END - DAY, 2.0), candle(END, 999.0))

    month = last_month_from(series, now=NOW)

    assert END not in month.close_times
    assert month.closes == (2.0,)


def test_a_full_month_has_thirty_candles_and_no_missing_day() -> None:
    series = daily(*(candle(START - 5 * DAY + DAY * i, float(i + 1)) for i in range(36)))

    month = last_month_from(series, now=NOW)

    # Opens START-5d..END inclusive: i = 5..34 are the window, i = 35 opens at END and is unfinished.
    assert month.candles == 30
    assert month.missing_days == 0
    assert month.closes[0] == 6.0
    assert month.closes[-1] == 35.0


def test_gaps_in_the_month_are_allowed_and_counted_as_missing_days() -> None:
    days = [START + DAY * i for i in range(30) if i not in (3, 10, 11)]
    series = daily(*(candle(t, 5.0) for t in days))

    month = last_month_from(series, now=NOW)

    assert month.candles == 27
    assert month.missing_days == 3


def test_mean_best_worst_and_latest_closes_of_the_month() -> None:
    series = daily(candle(END - 3 * DAY, 2.0), candle(END - 2 * DAY, 8.0), candle(END - DAY, 5.0))

    month = last_month_from(series, now=NOW)

    assert month.mean_close == 5.0
    assert month.best_close == 8.0
    assert month.worst_close == 2.0
    assert month.latest_close == 5.0


def test_daily_candles_given_out_of_order_are_read_in_time_order() -> None:
    series = daily(candle(END - DAY, 5.0), candle(END - 3 * DAY, 2.0), candle(END - 2 * DAY, 8.0))

    month = last_month_from(series, now=NOW)

    assert month.closes == (2.0, 8.0, 5.0)
    assert month.latest_close == 5.0


def test_a_coin_without_recent_candles_still_has_a_month_ending_at_its_last_close() -> None:
    old_end = datetime(2024, 3, 1, tzinfo=UTC)
    series = daily(candle(old_end - 2 * DAY, 3.0), candle(old_end - DAY, 4.0))

    month = last_month_from(series, now=NOW)

    assert month.end == old_end
    assert month.closes == (3.0, 4.0)
    assert month.missing_days == 28


def test_with_a_frozen_clock_the_candle_of_today_is_not_yet_complete() -> None:
    series = daily(candle(END - DAY, 2.0), candle(END, 999.0))

    with freeze_time("2026-11-20 23:59:59"):
        month = last_month_from(series, now=datetime.now(UTC))

    assert month.end == END
    assert month.closes == (2.0,)


def test_only_an_unfinished_candle_is_bad_price_data() -> None:
    with pytest.raises(BadPriceData, match="no complete daily candle"):
        last_month_from(daily(candle(END, 1.0)), now=NOW)


def test_an_empty_daily_history_is_bad_price_data() -> None:
    with pytest.raises(BadPriceData):
        last_month_from(daily(), now=NOW)


def test_a_bad_daily_price_is_bad_price_data() -> None:
    with pytest.raises(BadPriceData):
        last_month_from(daily(candle(END - 2 * DAY, 1.0), candle(END - DAY, -3.0)), now=NOW)


def test_the_last_month_must_be_read_from_daily_candles() -> None:
    with pytest.raises(ValueError, match="daily"):
        last_month_from(CandleSeries(WEEKLY_MINUTES, (candle(END - WEEK),)), now=NOW)


def test_missing_days_never_go_below_zero() -> None:
    crowded = LastMonth(start=START, end=END, close_times=(), closes=tuple(1.0 for _ in range(31)))

    assert crowded.missing_days == 0
