"""Kraken's JSON on the wire: AssetPairs and OHLC bodies, error answers and fault replies.

Prices go out as strings with a fixed number of decimals per answer, as Kraken
sends them, so clients must parse them the way they would parse the real thing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from fake_exchange.faults import Fault
from fake_exchange.market import FakeCoin
from fake_exchange.ohlc import OhlcAnswer, Row

JSON = "application/json; charset=utf-8"
Reply = tuple[int, bytes, str, dict[str, str]]

_PROXY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


def dumps(payload: object) -> bytes:
    """Compact JSON, as Kraken sends it."""
    return json.dumps(payload, separators=(",", ":")).encode()


def json_reply(body: bytes, status: int = 200) -> Reply:
    return status, body, JSON, {}


def kraken_error(status: int, error: str) -> Reply:
    """Kraken's error envelope: HTTP 200 (usually) and an `error` list."""
    return json_reply(dumps({"error": [error]}), status)


def fault_reply(fault: Fault, retry_after_s: int) -> Reply | None:
    """The whole answer for faults that replace it; None for faults that alter the data instead."""
    if fault.kraken_error is not None and fault not in (Fault.VANISHED,):
        return kraken_error(200, fault.kraken_error)
    if fault is Fault.HTTP_429:
        return 429, b"Too Many Requests", "text/plain", {"Retry-After": str(retry_after_s)}
    if fault is Fault.HTTP_500:
        return 500, b"<html><body>Internal Server Error</body></html>", "text/html", {}
    if fault is Fault.HTTP_503:
        return 503, b"<html><body>Service Unavailable</body></html>", "text/html", {}
    if fault is Fault.HTML:
        return 200, _PROXY_PAGE, "text/html", {}
    return None


def _decimals(rows: Iterable[Row]) -> int:
    """Enough decimals for five significant digits of the smallest price, like Kraken's pair_decimals."""
    lowest = min((r[3] for r in rows if r[3] > 0), default=1.0)
    return min(12, max(1, 5 - math.floor(math.log10(lowest))))


def _ohlc_row(row: Row, places: int) -> list[Any]:
    time, open_, high, low, close, vwap, volume, count = row
    prices = [f"{p:.{places}f}" for p in (open_, high, low, close, vwap)]
    return [time, *prices, f"{volume:.8f}", count]


def ohlc_body(pair_name: str, answer: OhlcAnswer, fault: Fault | None = None) -> bytes:
    """`{"error":[],"result":{"<PAIR>":[[time,"o","h","l","c","vwap","vol",count],...],"last":<int>}}`."""
    if fault is Fault.VANISHED:
        return dumps({"error": ["EQuery:Unknown asset pair"]})
    places = _decimals(answer.rows)
    rows = [] if fault is Fault.EMPTY else [_ohlc_row(r, places) for r in answer.rows]
    if rows and fault is Fault.NON_NUMERIC:
        rows[0][4] = "n/a"
    if rows and fault is Fault.NEGATIVE:
        rows[-1][4] = "-" + str(rows[-1][4])
    return dumps({"error": [], "result": {pair_name: rows, "last": answer.last}})


def _pair_info(coin: FakeCoin) -> dict[str, Any]:
    info: dict[str, Any] = {"altname": coin.altname}
    if coin.wsname is not None:
        info["wsname"] = coin.wsname
    info.update(
        aclass_base="currency",
        base=coin.base,
        aclass_quote="currency",
        quote=coin.quote,
        lot="unit",
        cost_decimals=5,
        pair_decimals=5,
        lot_decimals=8,
        lot_multiplier=1,
        leverage_buy=[],
        leverage_sell=[],
        fees=[[0, 0.4], [10000, 0.35]],
        fees_maker=[[0, 0.25], [10000, 0.2]],
        fee_volume_currency="ZUSD",
        margin_call=80,
        margin_stop=40,
        ordermin="0.0001",
        costmin="0.5",
        tick_size="0.00001",
        status=coin.status,
    )
    return info


def asset_pairs_body(coins: Iterable[FakeCoin]) -> bytes:
    """`{"error":[],"result":{"XXBTZUSD":{"altname":"XBTUSD","wsname":"XBT/USD",...},...}}`."""
    return dumps({"error": [], "result": {c.pair_name: _pair_info(c) for c in coins}})
