"""Kraken's rows read into numbers: OHLC candles and trades, checked once, each refusal a BadPriceData."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from common.candles import Candle
from common.errors import BadPriceData


def result_rows(result: Mapping[str, Any], what: str) -> tuple[list[Any], object]:
    """The one pair's rows, whatever its result key is called (XBTUSD asked, XXBTZUSD answered), and `last`."""
    keys = [k for k in result if k != "last"]
    if len(keys) != 1 or not isinstance(result[keys[0]], list):
        raise BadPriceData(f"{what}: expected one pair in the result, got {keys[:5]!r}")
    return result[keys[0]], result.get("last")


def candle_rows(rows: list[Any]) -> Iterator[Candle]:
    """[time, open, high, low, close, vwap, volume, count] rows as candles (prices arrive as strings)."""
    for row in rows:
        # Runs for every entry of every answer, so the checks ride on the conversions' own errors.
        try:
            if not isinstance(row, list):
                raise TypeError("not a list")
            time_s, open_, high, low, close, vwap, volume = map(float, row[:7])
            yield Candle(datetime.fromtimestamp(time_s, UTC), open_, high, low, close, vwap, volume)
        except (TypeError, ValueError, KeyError, OverflowError, OSError) as exc:
            raise BadPriceData(
                f"Kraken OHLC row {row!r:.80} is not [time, open, high, low, close, vwap, volume, ...] of numbers"
            ) from exc


def trade_rows(rows: list[Any], what: str) -> list[tuple[float, float, float]]:
    """["price", "volume", time, side, type, misc, id] rows as (price, volume, unix time)."""
    out = []
    for row in rows:
        try:
            if not isinstance(row, list):
                raise TypeError("not a list")
            price, volume, at = float(row[0]), float(row[1]), float(row[2])
        except (TypeError, ValueError, IndexError) as exc:
            raise BadPriceData(f"{what}: trade {row!r:.80} is not [price, volume, time, ...]") from exc
        if not (0 < price < math.inf and 0 <= volume < math.inf and 0 <= at < math.inf):
            raise BadPriceData(f"{what}: trade {row!r:.80} has a price, volume or time out of range")
        out.append((price, volume, at))
    return out
