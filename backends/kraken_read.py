"""Kraken's answers read: its errors into domain errors (`decode`), AssetPairs into pairs, rows into numbers.

Kraken answers most failures with HTTP 200 and an `error` list, so errors are
classified by their text as well as by status code. Rows are checked once;
each refusal is a BadPriceData.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from backends.exchange_http import Answer
from backends.sources import our_symbol, preferred_pairs
from common.candles import Candle
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.ports import Pair

NAME = "kraken"


QUOTE_OF: Mapping[str, str] = {"ZUSD": "USD", "USD": "USD", "USDT": "USDT", "USDC": "USDC"}
UNKNOWN_PAIR = ("EQuery:Unknown asset pair",)
RATE_LIMIT_ERRORS = ("EAPI:Rate limit exceeded", "EGeneral:Too many requests", "EGeneral:Temporary lockout")
UNAVAILABLE_ERRORS = ("EService:Unavailable", "EService:Busy", "EGeneral:Internal error")


def _is(error: str, known: tuple[str, ...]) -> bool:
    # Kraken may append detail ("EGeneral:Invalid arguments:interval"), so match on the prefix.
    return any(error == k or error.startswith(k + ":") for k in known)


def decode(answer: Answer, what: str) -> Mapping[str, Any]:
    """The `result` of a Kraken answer, or the domain error it stands for."""
    if answer.status == httpx.codes.TOO_MANY_REQUESTS:
        raise RateLimited(f"Kraken {what}: HTTP 429", retry_after_s=answer.retry_after_s)
    if answer.status != httpx.codes.OK:
        # Kraken reports its own errors with HTTP 200; anything else comes from the CDN or a proxy.
        raise ExchangeUnavailable(f"Kraken {what}: HTTP {answer.status}")
    body = answer.json()
    if not isinstance(body, dict) or not isinstance(body.get("error", []), list):
        raise BadPriceData(f"Kraken {what}: answer is not Kraken's JSON envelope")
    errors = [e for e in body.get("error", []) if isinstance(e, str) and e.startswith("E")]  # W... are warnings
    if errors:
        first = errors[0]
        if _is(first, UNKNOWN_PAIR):
            raise UnknownSymbol(f"Kraken {what}: {first}")
        if _is(first, RATE_LIMIT_ERRORS):
            raise RateLimited(f"Kraken {what}: {first}", retry_after_s=answer.retry_after_s)
        if _is(first, UNAVAILABLE_ERRORS):
            raise ExchangeUnavailable(f"Kraken {what}: {first}")
        raise BadPriceData(f"Kraken {what}: {first}")
    result = body.get("result")
    if not isinstance(result, dict):
        raise BadPriceData(f"Kraken {what}: answer has no result")
    return result


def symbol_of(info: Mapping[str, Any]) -> str | None:
    """Our symbol for an AssetPairs entry (XBT/USD -> BTC), or None when it cannot be one."""
    wsname = info.get("wsname")
    if isinstance(wsname, str) and "/" in wsname:
        base = wsname.split("/", 1)[0]
    else:
        base = str(info.get("base", ""))
        # Legacy four-letter codes carry an X (crypto) or Z (fiat) class prefix: XXBT, XETH, XXRP.
        if len(base) == 4 and base[0] in "XZ":
            base = base[1:]
    return our_symbol(NAME, base)


def pairs_from(result: Mapping[str, Any]) -> tuple[Pair, ...]:
    """One online pair per symbol (USD, else USDT, else USDC), named by its AssetPairs key (OHLC's result key)."""
    candidates = []
    for name, info in result.items():
        if not isinstance(info, dict) or name.endswith(".d") or str(info.get("altname", "")).endswith(".d"):
            continue  # dark pools trade the same coin off-book
        quote = QUOTE_OF.get(str(info.get("quote")))
        if quote is None or info.get("status", "online") != "online":
            continue
        symbol = symbol_of(info)
        if symbol is not None:
            candidates.append(Pair(symbol=symbol, name=name, quote=quote))
    return preferred_pairs(candidates)


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
