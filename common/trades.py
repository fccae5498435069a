"""Raw trades aggregated to UTC days: what an archived trade record says about each day.

Old exchanges survive as trade lists, not candles. A day's candle is built from
that day's trades alone: open and close are its first and last trade, the VWAP is
sum(price x amount) / sum(amount), and the quote volume sum(price x amount) is kept
exactly, because a listing reports what changed hands on its first day.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from common.candles import Candle, utc_from_unix

DAY_S = 86_400
# 10000-01-01: a later time is not a date at all (datetime cannot hold it).
MAX_UNIX_S = 253_402_300_800


class Trade(NamedTuple):
    """One trade: when (unix seconds), at what price (quote per coin), how many coins."""

    unix_s: float
    price: float
    amount: float


class DayBar(NamedTuple):
    """A day's candle (volume in coins) and what traded that day in the quote currency."""

    candle: Candle
    volume_quote: float


def is_real(trade: Trade) -> bool:
    """A trade that happened: positive, finite price and amount, a time a date can hold."""
    return 0 < trade.price < math.inf and 0 < trade.amount < math.inf and 0 <= trade.unix_s < MAX_UNIX_S


def daily_bars(trades: Iterable[Trade]) -> tuple[DayBar, ...]:
    """One bar per UTC day with at least one real trade, oldest first.

    Exact duplicates (same second, price and amount) count once, and anything that is
    not a real trade is left out. The record has one-second resolution, so trades of
    the same second have no known order: they are ordered by price, then amount,
    which makes the result independent of the order of the rows.
    """
    ordered = sorted({trade for trade in trades if is_real(trade)})
    bars: list[DayBar] = []
    start = 0
    while start < len(ordered):
        day_s = ordered[start].unix_s - ordered[start].unix_s % DAY_S
        end = start
        while end < len(ordered) and ordered[end].unix_s < day_s + DAY_S:
            end += 1
        bars.append(_bar(day_s, ordered[start:end]))
        start = end
    return tuple(bars)


def _bar(day_s: float, day: list[Trade]) -> DayBar:
    volume = math.fsum(t.amount for t in day)
    volume_quote = math.fsum(t.price * t.amount for t in day)
    high = max(t.price for t in day)
    low = min(t.price for t in day)
    # A mean of prices lies within them; clamping only undoes the last bit of rounding.
    vwap = min(max(volume_quote / volume, low), high)
    candle = Candle(utc_from_unix(day_s), day[0].price, high, low, day[-1].price, vwap, volume)
    return DayBar(candle, volume_quote)
