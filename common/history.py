"""One composite close history per coin, from its listing to as_of, built from several exchanges.

Each day's close comes from the most preferred source that has a daily candle
that day (the price exchange, then the listing's exchange, then the others in
order). A coarser candle (Kraken's weekly or 15-day) is used only for a span
where no source has a daily candle, so the chart is daily wherever it can be.
Past days never change: a refresh recomputes only the days from a cut-off on.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta

from common.candles import DAILY_MINUTES, CandleSeries, complete
from common.listings import traded


def preference(price_exchange: str, listing_exchange: str, order: Sequence[str]) -> tuple[str, ...]:
    """Sources in the order their closes are preferred on a day several of them have."""
    return tuple(dict.fromkeys((price_exchange, listing_exchange, *order)))


def composite(
    layers: Sequence[CandleSeries], start: datetime, end: datetime, now: datetime
) -> tuple[list[int], list[float]]:
    """Unix open times and closes of [start, end): `layers` most preferred first, daily and coarser mixed.

    Only finished candles with trades count; a coarse candle is dropped when any daily
    candle falls inside its interval.
    """
    points: dict[int, float] = {}
    for series in layers:
        if series.interval_minutes != DAILY_MINUTES:
            continue
        for candle in complete(traded(series), now):
            if start <= candle.open_time < end:
                points.setdefault(int(candle.open_time.timestamp()), candle.close)
    days = sorted(points)
    first = int(start.timestamp())
    for series in layers:
        if series.interval_minutes <= DAILY_MINUTES:
            continue
        span = int(timedelta(minutes=series.interval_minutes).total_seconds())
        for candle in complete(traded(series), now):
            opened = int(candle.open_time.timestamp())
            if opened + span <= first or candle.open_time >= end:
                continue
            at = max(opened, first)  # the week the coin listed in starts on its listing day
            inside = bisect.bisect_left(days, at)
            if inside < len(days) and days[inside] < opened + span:
                continue  # a daily close covers part of this interval: keep the daily ones
            points.setdefault(at, candle.close)
    times = sorted(points)
    return times, [points[t] for t in times]


def spliced(
    kept_times: Sequence[int],
    kept_closes: Sequence[float],
    fresh_times: Sequence[int],
    fresh_closes: Sequence[float],
    cutoff: datetime,
) -> tuple[list[int], list[float]]:
    """The stored history before `cutoff` followed by the freshly computed one from `cutoff` on."""
    edge = int(cutoff.timestamp())
    old = bisect.bisect_left(list(kept_times), edge)
    new = bisect.bisect_left(list(fresh_times), edge)
    return (
        [*kept_times[:old], *fresh_times[new:]],
        [*kept_closes[:old], *fresh_closes[new:]],
    )
