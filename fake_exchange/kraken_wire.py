"""Kraken's JSON on the wire: AssetPairs, OHLC and Trades bodies, error answers and fault replies.

Prices go out as strings with a fixed number of decimals per answer, as Kraken
sends them, so clients must parse them the way they would parse the real thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fake_exchange.faults import Fault
from fake_exchange.market import FakeCoin
from fake_exchange.ohlc import OhlcAnswer, Row
from fake_exchange.trades import NS, Trade
from fake_exchange.wire import Reply, decimals, dumps, http_fault, json_reply


def kraken_error(status: int, error: str) -> Reply:
    """Kraken's error envelope: HTTP 200 (usually) and an `error` list."""
    return json_reply(dumps({"error": [error]}), status)


def fault_reply(fault: Fault, retry_after_s: int) -> Reply | None:
    """The whole answer for faults that replace it; None for faults that alter the data instead."""
    if fault.kraken_error is not None and fault is not Fault.VANISHED:
        return kraken_error(200, fault.kraken_error)
    return http_fault(fault, retry_after_s)


def _altered(rows: list[list[Any]], fault: Fault | None, price_at: int) -> list[list[Any]]:
    """Rows as a data fault leaves them."""
    if fault is Fault.EMPTY:
        return []
    if rows and fault is Fault.NON_NUMERIC:
        rows[0][price_at] = "n/a"
    if rows and fault is Fault.NEGATIVE:
        rows[-1][price_at] = "-" + str(rows[-1][price_at])
    if fault is Fault.REORDERED:
        rows.reverse()
    return rows


def _ohlc_row(row: Row, places: int) -> list[Any]:
    time, open_, high, low, close, vwap, volume, count = row
    prices = [f"{p:.{places}f}" for p in (open_, high, low, close, vwap)]
    return [time, *prices, f"{volume:.8f}", count]


def ohlc_body(pair_name: str, answer: OhlcAnswer, fault: Fault | None = None, places: int | None = None) -> bytes:
    """`{"error":[],"result":{"<PAIR>":[[time,"o","h","l","c","vwap","vol",count],...],"last":<int>}}`.

    `places`: the pair's price decimals (Kraken's pair_decimals, fixed per pair, so that a day reads the
    same in every answer); None: enough for the answer's own lowest price.
    """
    if fault is Fault.VANISHED:
        return dumps({"error": ["EQuery:Unknown asset pair"]})
    if places is None:
        places = decimals(r[3] for r in answer.rows)
    rows = _altered([_ohlc_row(r, places) for r in answer.rows], fault, 4)
    if fault is Fault.REORDERED:  # `last` first: a reader must not rely on key order
        return dumps({"result": {"last": answer.last, pair_name: rows}, "error": []})
    return dumps({"error": [], "result": {pair_name: rows, "last": answer.last}})


def trades_body(pair_name: str, trades: list[Trade], last_ns: int, fault: Fault | None = None) -> bytes:
    """`{"error":[],"result":{"<PAIR>":[["price","volume",time,"b","l","",id],...],"last":"<ns>"}}`."""
    if fault is Fault.VANISHED:
        return dumps({"error": ["EQuery:Unknown asset pair"]})
    places = decimals(t.price for t in trades)
    rows: list[list[Any]] = [
        [f"{t.price:.{places}f}", f"{t.volume:.8f}", round(t.time_ns / NS, 4), "bs"[t.trade_id % 2], "l", "", tid]
        for t in trades
        for tid in (t.trade_id,)
    ]
    return dumps({"error": [], "result": {pair_name: _altered(rows, fault, 0), "last": str(last_ns)}})


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
