"""Binance's JSON on the wire: `{"code", "msg"}` errors, exchangeInfo entries and klines.

Prices and volumes go out as strings with eight decimals and times as integer
milliseconds, as Binance sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fake_exchange.faults import Fault
from fake_exchange.ohlc import DAY_S, Row
from fake_exchange.wire import Reply, dumps, json_reply

DAY_MS = DAY_S * 1000
# Binance's own wording, except that its terms page's address is left out: nothing here names a real host.
GEO_BLOCK_MSG = (
    "Service unavailable from a restricted location according to 'b. Eligibility' in "
    "the terms of use. Please contact customer service if you believe you received this "
    "message in error."
)
SERVER_BUSY = "Server is currently overloaded with other requests. Please try again in a few minutes."
TOO_MUCH_WEIGHT = (
    "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)


def error(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> Reply:
    """Binance's error shape: an HTTP status and `{"code": ..., "msg": ...}`."""
    return json_reply(dumps({"code": code, "msg": msg}), status, headers)


def symbol_info(name: str, base: str, quote: str, status: str = "TRADING") -> dict[str, Any]:
    """One exchangeInfo `symbols` entry, with the fields the real one carries (filters left out)."""
    return {
        "symbol": name,
        "status": status,
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
    }


def kline(row: Row, quiet: bool, previous_close: float) -> list[Any]:
    """One kline of a daily row; a quiet day is flat at the previous close with zero volume."""
    t, open_, high, low, close, vwap, volume, count = row
    if quiet:
        open_ = high = low = close = previous_close
        vwap, volume, count = 0.0, 0.0, 0
    prices = [f"{p:.8f}" for p in (open_, high, low, close)]
    quote_volume = vwap * volume
    return [
        t * 1000,
        *prices,
        f"{volume:.8f}",
        t * 1000 + DAY_MS - 1,
        f"{quote_volume:.8f}",
        count,
        f"{volume / 2:.8f}",
        f"{quote_volume / 2:.8f}",
        "0",
    ]


def klines(rows: Sequence[Row], quiet: Sequence[bool], previous_close: float, fault: Fault | None) -> list[list[Any]]:
    """Klines oldest first; a data fault alters them."""
    out = []
    for row, is_quiet in zip(rows, quiet, strict=True):
        out.append(kline(row, is_quiet, previous_close))
        previous_close = float(out[-1][4])
    if fault is Fault.EMPTY:
        return []
    if out and fault is Fault.NON_NUMERIC:
        out[0][4] = "n/a"
    if out and fault is Fault.NEGATIVE:
        out[-1][4] = "-" + out[-1][4]
    if fault is Fault.REORDERED:
        out.reverse()
    return out
