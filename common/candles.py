"""Price candles as the domain sees them: validated, sorted, tz-aware, in USD."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from common.errors import BadPriceData

DAILY_MINUTES = 1440
WEEKLY_MINUTES = 10080
FIFTEEN_DAY_MINUTES = 21600
# Kraken's OHLC returns at most this many of the most recent entries.
MAX_ENTRIES_PER_ANSWER = 720


class Candle(NamedTuple):
    """One OHLC candle; `open_time` is the start of its interval (UTC).

    A NamedTuple rather than a frozen dataclass: a refresh builds thousands, and a
    tuple is several times cheaper to construct.
    """

    open_time: datetime
    open: float
    high: float
    low: float
    close: float
    vwap: float
    volume: float

    def close_time(self, interval_minutes: int) -> datetime:
        """End of the candle's interval: when it is complete."""
        return self.open_time + timedelta(minutes=interval_minutes)


@dataclass(frozen=True, slots=True)
class CandleSeries:
    """An exchange's answer for one pair and interval.

    `last_committed` is the open time of the newest committed candle when the
    exchange says so (Kraken's `last`); newer entries are still forming.
    """

    interval_minutes: int
    candles: tuple[Candle, ...]
    last_committed: datetime | None = None


def utc_from_unix(seconds: float) -> datetime:
    """A tz-aware UTC datetime from unix seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC)


_INF = math.inf


class ValidCandles(tuple[Candle, ...]):
    """A tuple that `validated` produced: validating it again costs nothing."""

    __slots__ = ()


def _check(candle: Candle) -> None:
    # Chained comparisons are False for NaN, so one test per field covers sign, zero, NaN and infinity.
    if candle.open_time.tzinfo is None:
        raise BadPriceData("candle time without a time zone")
    for what in ("open", "high", "low", "close"):
        value = getattr(candle, what)
        if not 0 < value < _INF:
            raise BadPriceData(f"{what} {value!r} at {candle.open_time.isoformat()} is not a positive finite price")
    for what in ("volume", "vwap"):
        value = getattr(candle, what)
        if not 0 <= value < _INF:
            raise BadPriceData(f"{what} {value!r} at {candle.open_time.isoformat()} is invalid")


def validated(candles: Iterable[Candle]) -> ValidCandles:
    """Sorted, de-duplicated candles whose prices are all positive and finite.

    Volume and VWAP may be zero (a candle without trades); prices may not.
    Already-validated input is returned as is: every step of a refresh may call this.
    """
    if isinstance(candles, ValidCandles):
        return candles
    by_time: dict[datetime, Candle] = {}
    for candle in candles:
        if not (
            0 < candle.open < _INF
            and 0 < candle.high < _INF
            and 0 < candle.low < _INF
            and 0 < candle.close < _INF
            and 0 <= candle.volume < _INF
            and 0 <= candle.vwap < _INF
            and candle.open_time.tzinfo is not None
        ):
            _check(candle)  # raises, saying which field is wrong
        by_time[candle.open_time] = candle
    if not by_time:
        raise BadPriceData("empty price history")
    return ValidCandles(by_time[t] for t in sorted(by_time))


def complete(series: CandleSeries, now: datetime) -> tuple[Candle, ...]:
    """The candles that have finished: closed before `now` and committed by the exchange.

    Kraken's last entry is always the current, unfinished candle; it must never count.
    """
    latest_open = now - timedelta(minutes=series.interval_minutes)
    if series.last_committed is not None:
        latest_open = min(latest_open, series.last_committed)
    return tuple(c for c in series.candles if c.open_time <= latest_open)
