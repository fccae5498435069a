"""Building a coin's document from the exchange's candles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.candles import DAILY_MINUTES, FIFTEEN_DAY_MINUTES, WEEKLY_MINUTES, Candle, CandleSeries
from common.coin import build_document
from common.document import CoinDocument
from common.errors import BadPriceData
from common.prices import Listing

DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)
END = datetime(2026, 11, 20, tzinfo=UTC)  # close time of the latest complete daily candle
NOW = END + timedelta(hours=12)
START = END - 30 * DAY
FIRST_WEEK = datetime(2026, 9, 2, tzinfo=UTC)


def candle(open_time: datetime, close: float, *, vwap: float | None = None) -> Candle:
    return Candle(open_time, close, close, close, close, close if vwap is None else vwap, 3.0)


def weekly() -> CandleSeries:
    """Twelve weeks from FIRST_WEEK, closes 1..12; the twelfth (opened 2026-11-18) is still forming at NOW."""
    return CandleSeries(WEEKLY_MINUTES, tuple(candle(FIRST_WEEK + WEEK * i, float(i + 1)) for i in range(12)))


def daily() -> CandleSeries:
    """Daily candles START..END, closes 100..130; the one opened at END is still forming at NOW."""
    return CandleSeries(DAILY_MINUTES, tuple(candle(START + DAY * i, 100.0 + i) for i in range(31)))


def build(**overrides: object) -> CoinDocument:
    arguments: dict[str, object] = {
        "symbol": "ETH",
        "exchange": "kraken",
        "pair": "XETHZUSD",
        "weekly": weekly(),
        "daily": daily(),
        "now": NOW,
    }
    arguments.update(overrides)
    return build_document(**arguments)  # type: ignore[arg-type]


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def test_a_document_carries_the_coin_the_listing_and_the_last_month() -> None:
    doc = build()

    assert (doc.symbol, doc.exchange, doc.pair) == ("ETH", "kraken", "XETHZUSD")
    assert doc.listing == Listing(FIRST_WEEK, 1.0, WEEKLY_MINUTES, may_be_truncated=False)
    assert doc.as_of == END
    assert doc.last_month.candles == 30
    assert doc.last_month.closes[0] == 100.0
    assert doc.last_month.closes[-1] == 129.0
    assert doc.computed_at == NOW
    assert doc.sample_data is False


def test_the_history_holds_the_complete_weekly_closes_and_ends_on_the_latest_daily_close() -> None:
    doc = build()

    weeks = [unix(FIRST_WEEK + WEEK * i) for i in range(11)]
    assert list(doc.history_times) == [*weeks, unix(END - DAY)]
    assert list(doc.history_closes) == [float(i + 1) for i in range(11)] + [129.0]


def test_the_forming_weekly_candle_is_not_in_the_history() -> None:
    doc = build()

    assert 12.0 not in doc.history_closes
    assert unix(FIRST_WEEK + 11 * WEEK) not in doc.history_times


def test_a_known_listing_is_kept_as_it_is() -> None:
    known = Listing(datetime(2015, 8, 7, tzinfo=UTC), 2.77, FIFTEEN_DAY_MINUTES, may_be_truncated=True)

    doc = build(known_listing=known)

    assert doc.listing == known


def test_a_known_listing_is_kept_even_when_a_15_day_series_is_given() -> None:
    known = Listing(datetime(2015, 8, 7, tzinfo=UTC), 2.77, WEEKLY_MINUTES, may_be_truncated=False)
    coarse = CandleSeries(FIFTEEN_DAY_MINUTES, (candle(datetime(2014, 1, 1, tzinfo=UTC), 0.5),))

    doc = build(known_listing=known, coarse=coarse)

    assert doc.listing == known


def test_a_known_listing_after_the_latest_daily_close_is_rejected() -> None:
    later = Listing(END + timedelta(seconds=1), 1.0, WEEKLY_MINUTES, may_be_truncated=False)

    with pytest.raises(BadPriceData, match="listing date is after"):
        build(known_listing=later)


def test_a_listing_exactly_at_the_latest_daily_close_is_accepted() -> None:
    same = Listing(END, 1.0, WEEKLY_MINUTES, may_be_truncated=False)

    assert build(known_listing=same).listing == same


def test_a_weekly_listing_newer_than_stale_daily_candles_is_rejected() -> None:
    stale_daily = CandleSeries(DAILY_MINUTES, (candle(FIRST_WEEK - 10 * DAY, 5.0),))

    with pytest.raises(BadPriceData, match="listing date is after"):
        build(daily=stale_daily)


def test_sample_data_is_marked_on_the_document() -> None:
    assert build(sample_data=True).sample_data is True


def test_history_must_be_read_from_weekly_candles() -> None:
    with pytest.raises(ValueError, match="weekly"):
        build(weekly=daily())


def test_daily_candles_with_a_bad_price_make_no_document() -> None:
    bad = CandleSeries(DAILY_MINUTES, (*daily().candles[:-1], candle(END - DAY, 1.0), candle(END, 0.0)))

    with pytest.raises(BadPriceData):
        build(daily=bad)


def test_a_coin_listed_this_week_has_a_history_of_only_its_latest_daily_close() -> None:
    listed = END - 3 * DAY
    young_weekly = CandleSeries(WEEKLY_MINUTES, (candle(listed, 4.0, vwap=3.5),))
    young_daily = CandleSeries(DAILY_MINUTES, tuple(candle(listed + DAY * i, 4.0 + i) for i in range(4)))

    doc = build(weekly=young_weekly, daily=young_daily)

    assert doc.listing.date == listed
    assert doc.listing.price_usd == 3.5
    assert list(doc.history_times) == [unix(END - DAY)]
    assert list(doc.history_closes) == [6.0]
    assert doc.last_month.missing_days == 27
