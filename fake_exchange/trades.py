"""Kraken's Trades endpoint over the synthetic market: each day's trades made up from its daily row.

A day's trades come in pairs placed symmetrically around the row's VWAP with
equal volumes, so their VWAP is the row's VWAP and their volume its volume;
they are spread evenly through the day. Only the days a request reaches are
generated, so `since=0` on a coin with ten years of history costs one day.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from fake_exchange.ohlc import DAY_S, Row

# Kraken returns at most this many trades per call.
PAGE = 1000
# Trades per day are the row's count, capped so that a day never needs more than a few pages.
MAX_TRADES_PER_DAY = 2400
NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Trade:
    price: float
    volume: float
    time_ns: int
    trade_id: int


def day_trades(row: Row, day_index: int) -> list[Trade]:
    """The trades of one day, oldest first, whose VWAP and volume are the row's."""
    open_time, _open, high, low, _close, vwap, volume, count = row
    n = 2 * max(1, min(count, MAX_TRADES_PER_DAY) // 2)
    spread = min(high / vwap - 1.0, 1.0 - low / vwap) * 0.9
    each = volume / n
    trades = []
    for i in range(n):
        u = ((i // 2) * 7919 % 997 + 1) / 997  # fixed, well spread in (0, 1]
        price = vwap * (1.0 + spread * u) if i % 2 == 0 else vwap * (1.0 - spread * u)
        time_ns = open_time * NS + (2 * i + 1) * (DAY_S * NS // (2 * n))
        trades.append(Trade(price, each, time_ns, day_index * 10_000 + i + 1))
    return trades


def trades_since(rows: Sequence[Row], since_ns: int, now_ns: int, page: int = PAGE) -> tuple[list[Trade], int]:
    """Up to `page` trades after `since_ns` (exclusive) and before `now_ns`, and the `last` cursor to page on."""
    out: list[Trade] = []
    day = max(0, bisect.bisect_right(rows, since_ns // NS, key=lambda r: r[0]) - 1)
    while day < len(rows) and len(out) < page and rows[day][0] * NS < now_ns:
        out.extend(t for t in day_trades(rows[day], day) if since_ns < t.time_ns < now_ns)
        day += 1
    out = out[:page]
    return out, (out[-1].time_ns if out else since_ns)
