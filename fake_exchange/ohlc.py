"""Kraken's OHLC rules as pure functions over daily rows: aggregation, the 720 cap and `last`.

Only daily candles are stored; weekly and 15-day candles are aggregated from
them on demand, so every interval tells the same story.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# (open_time_unix, open, high, low, close, vwap, volume, count), as in Kraken's OHLC rows.
Row = tuple[int, float, float, float, float, float, float, int]

DAY_S = 86_400
DAILY_MINUTES = 1440
# Kraken's OHLC intervals (minutes); anything else is `EGeneral:Invalid arguments`.
KRAKEN_INTERVALS = frozenset({1, 5, 15, 30, 60, 240, 1440, 10080, 21600})
MAX_ENTRIES = 720


@dataclass(frozen=True, slots=True)
class OhlcAnswer:
    """What Kraken's OHLC endpoint says for one pair and interval at one moment."""

    rows: list[Row]
    last: int


def aggregate(daily: Iterable[Row], interval_minutes: int) -> list[Row]:
    """Daily rows merged into buckets aligned to unix-epoch multiples of the interval, as Kraken aligns them."""
    width = interval_minutes * 60
    out: list[Row] = []
    bucket: list[Row] = []
    bucket_open = 0
    for row in daily:
        row_bucket = row[0] - row[0] % width
        if bucket and row_bucket != bucket_open:
            out.append(_merge(bucket, bucket_open))
            bucket = []
        if not bucket:
            bucket_open = row_bucket
        bucket.append(row)
    if bucket:
        out.append(_merge(bucket, bucket_open))
    return out


def _merge(rows: list[Row], open_time: int) -> Row:
    volume = sum(r[6] for r in rows)
    # Volume-weighted VWAP; a bucket without trades falls back to the mean close.
    vwap = sum(r[5] * r[6] for r in rows) / volume if volume > 0 else sum(r[4] for r in rows) / len(rows)
    return (
        open_time,
        rows[0][1],
        max(r[2] for r in rows),
        min(r[3] for r in rows),
        rows[-1][4],
        vwap,
        volume,
        sum(r[7] for r in rows),
    )


def ohlc_answer(daily: Sequence[Row], interval_minutes: int, now_unix: int, since: int | None = None) -> OhlcAnswer:
    """The 720 newest candles up to `now` (the last one unfinished) and `last`, the newest committed open time."""
    if interval_minutes not in KRAKEN_INTERVALS:
        raise ValueError(f"interval {interval_minutes} is not one of Kraken's")
    width = interval_minutes * 60
    current_open = now_unix - now_unix % width
    if interval_minutes < DAILY_MINUTES:
        # Intraday trading is not modelled: such intervals exist but have no candles.
        return OhlcAnswer(rows=[], last=current_open - width)
    visible = daily[: bisect.bisect_right(daily, now_unix, key=lambda r: r[0])]
    rows = list(visible) if interval_minutes == DAILY_MINUTES else aggregate(visible, interval_minutes)
    if since is not None:
        rows = [r for r in rows if r[0] > since]
    rows = rows[-MAX_ENTRIES:]
    committed = [r[0] for r in rows[-2:] if r[0] + width <= now_unix]
    return OhlcAnswer(rows=rows, last=committed[-1] if committed else current_open - width)
