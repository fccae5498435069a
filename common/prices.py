"""Listing price and last-month prices: the two facts every answer rests on.

Definitions (also in the README):
- listing: which exchange's first day it is, and when it is final, is decided in
  common.listings; `listing_from` reads one off a single exchange's earliest
  candle (weekly or 15-day when that is all an exchange gives), kept for
  single-exchange documents such as the benchmark's.
- last month: the complete daily candles whose open time t satisfies
  end - 30 days <= t < end, where end is the close time of the latest complete
  daily candle. as_of = end.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from common.candles import (
    DAILY_MINUTES,
    MAX_ENTRIES_PER_ANSWER,
    Candle,
    CandleSeries,
    complete,
    validated,
)
from common.errors import BadPriceData

LAST_MONTH = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Listing:
    """When and at what price the coin first traded in USD on the exchange."""

    date: datetime
    price_usd: float
    interval_minutes: int
    may_be_truncated: bool


@dataclass(frozen=True, slots=True)
class LastMonth:
    """Daily closes of the 30 days before `end`; `end` is the answer's as_of.

    `close_times[i]` is the day of `closes[i]`: the open time of its daily candle.
    """

    start: datetime
    end: datetime
    close_times: tuple[datetime, ...]
    closes: tuple[float, ...]

    @property
    def candles(self) -> int:
        return len(self.closes)

    @property
    def missing_days(self) -> int:
        """Days of the window without a candle (gaps are allowed, and counted)."""
        return max(0, LAST_MONTH.days - len(self.closes))

    @property
    def mean_close(self) -> float:
        # Clamped: rounding can put the float mean of equal closes a hair above the best close.
        return min(max(statistics.fmean(self.closes), self.worst_close), self.best_close)

    @property
    def best_close(self) -> float:
        return max(self.closes)

    @property
    def worst_close(self) -> float:
        return min(self.closes)

    @property
    def latest_close(self) -> float:
        return self.closes[-1]


def is_possibly_truncated(series: CandleSeries) -> bool:
    """True when the exchange returned as many entries as it ever does: older ones may exist."""
    return len(series.candles) >= MAX_ENTRIES_PER_ANSWER


def listing_from(series: CandleSeries) -> Listing:
    """The listing read off the earliest candle of `series`."""
    first = validated(series.candles)[0]
    price = first.vwap if first.volume > 0 and first.vwap > 0 else first.close
    return Listing(
        date=first.open_time,
        price_usd=price,
        interval_minutes=series.interval_minutes,
        may_be_truncated=is_possibly_truncated(series),
    )


def last_month_from(daily: CandleSeries, now: datetime) -> LastMonth:
    """The last 30 days of complete daily candles, ending at the latest complete one."""
    if daily.interval_minutes != DAILY_MINUTES:
        raise ValueError(f"last month needs daily candles, got {daily.interval_minutes} minutes")
    finished = complete(CandleSeries(daily.interval_minutes, validated(daily.candles), daily.last_committed), now)
    if not finished:
        raise BadPriceData("no complete daily candle yet")
    end = finished[-1].close_time(DAILY_MINUTES)
    start = end - LAST_MONTH
    window: Sequence[Candle] = [c for c in finished if start <= c.open_time < end]
    return LastMonth(
        start=start,
        end=end,
        close_times=tuple(c.open_time for c in window),
        closes=tuple(c.close for c in window),
    )
