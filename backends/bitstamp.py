"""BitstampPriceSource: Bitstamp's keyless v2 REST API (markets, daily OHLC) as a `common.ports.PriceSource`.

Bitstamp has no "from the listing" query (a `start` before the first candle
answers `[]`), so the history is read by walking back from now with `end` and
`limit=1000`, stopping at the first short page. Days without trades come back
as flat zero-volume candles: they are dropped, so they are never a listing.
Values are strings; there is no VWAP at daily resolution, so a listing is
priced at its first day's close. `decode` is where Bitstamp's errors are read:
the v2 envelope `{"status":"error","reason":..,"code":..}` (code 400.002 is its
rate limit), the maintenance answer `{"error": ...}`, 429 and 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backends.exchange_http import Answer
from backends.exchange_source import ExchangeSource
from backends.sources import market_pair, preferred_pairs
from common.candles import Candle
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.ports import Pair

NAME = "bitstamp"
# ccxt's throttle (8,000 requests per 10 minutes); Bitstamp now publishes a looser limit.
REQUEST_INTERVAL_S = 0.075
STEP_S = 86_400
LIMIT = 1000
# 1000 days a page: 20 pages reach back 54 years, far beyond Bitstamp's 2011 start.
MAX_PAGES = 20
RATE_LIMIT_CODE = "400.002"


def decode(answer: Answer, what: str) -> Any:
    """The JSON of a usable answer, or the domain error Bitstamp's status and envelope stand for."""
    if answer.status == httpx.codes.TOO_MANY_REQUESTS:
        raise RateLimited(f"Bitstamp {what}: HTTP 429", retry_after_s=answer.retry_after_s)
    if answer.status == httpx.codes.NOT_FOUND:
        raise UnknownSymbol(f"Bitstamp has no {what}")
    body = answer.json()
    if isinstance(body, dict):
        if str(body.get("code", "")) == RATE_LIMIT_CODE:
            raise RateLimited(f"Bitstamp {what}: {body.get('reason')!s:.200}", retry_after_s=answer.retry_after_s)
        error = body.get("error")
        if isinstance(error, str) and "data" not in body:
            if "maintenance" in error.lower() or answer.status >= httpx.codes.INTERNAL_SERVER_ERROR:
                raise ExchangeUnavailable(f"Bitstamp {what}: {error:.200}")
            raise BadPriceData(f"Bitstamp {what}: {error:.200}")
        if body.get("status") == "error" and answer.status < httpx.codes.INTERNAL_SERVER_ERROR:
            raise BadPriceData(f"Bitstamp {what}: {body.get('reason')!s:.200}")
    if answer.status >= httpx.codes.INTERNAL_SERVER_ERROR:
        raise ExchangeUnavailable(f"Bitstamp {what}: HTTP {answer.status}")
    if answer.status != httpx.codes.OK:
        raise BadPriceData(f"Bitstamp {what}: HTTP {answer.status}")
    return body


def pairs_from(entries: object) -> tuple[Pair, ...]:
    """One enabled pair per symbol from /markets/ or the older /trading-pairs-info/ (field names differ)."""
    if not isinstance(entries, list):
        raise BadPriceData("Bitstamp markets: not a list")
    candidates = []
    for entry in entries:
        if not isinstance(entry, dict) or str(entry.get("trading", "Enabled")).lower() != "enabled":
            continue
        url_symbol = entry.get("market_symbol") or entry.get("url_symbol")
        base, quote = entry.get("base_currency"), entry.get("counter_currency")
        if not (isinstance(base, str) and isinstance(quote, str)):
            base, _, quote = str(entry.get("name", "")).partition("/")
        candidates.append(market_pair(NAME, base, quote, url_symbol))
    return preferred_pairs(candidates)


def candles_from(body: object, what: str) -> Iterator[Candle]:
    """`{"data":{"pair":..,"ohlc":[{"timestamp":"..","open":"..",..,"volume":".."}]}}` as candles (close as VWAP)."""
    data = body.get("data") if isinstance(body, dict) else None
    rows = data.get("ohlc") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise BadPriceData(f"Bitstamp {what}: answer has no data.ohlc list")
    for row in rows:
        try:
            close = float(row["close"])
            yield Candle(
                datetime.fromtimestamp(int(row["timestamp"]), UTC),
                float(row["open"]),
                float(row["high"]),
                float(row["low"]),
                close,
                close,
                float(row["volume"]),
            )
        except (TypeError, ValueError, KeyError, OverflowError, OSError) as exc:
            raise BadPriceData(f"Bitstamp {what}: candle {row!r:.120} is not numbers") from exc


class BitstampPriceSource(ExchangeSource):
    """Prices from Bitstamp over HTTPS: daily candles from the listing, walked back from now."""

    name = NAME
    request_interval_s = REQUEST_INTERVAL_S
    daily_from_held_history = True

    def _daily_candles(self, pair: Pair, since: datetime | None) -> list[Candle]:
        """Pages of 1000 days back from now until one is short or reaches `since`."""
        collected: list[Candle] = []
        end: int | None = None
        for _ in range(MAX_PAGES):
            params = {"step": str(STEP_S), "limit": str(LIMIT)}
            if end is not None:
                params["end"] = str(end)
            body = self._http.get(f"/api/v2/ohlc/{pair.name}/", params, f"pair {pair.name}", decode)
            page = list(candles_from(body, pair.name))
            collected.extend(page)
            if len(page) < LIMIT:
                break
            oldest = min(c.open_time for c in page)
            if since is not None and oldest <= since:
                break
            end = int((oldest - timedelta(seconds=STEP_S)).timestamp())
        return collected

    def _fetch_pairs(self) -> tuple[Pair, ...]:
        try:
            entries = self._http.get("/api/v2/markets/", {}, "markets", decode)
        except (UnknownSymbol, BadPriceData):  # an older deployment: the obsolete list still answers
            entries = self._http.get("/api/v2/trading-pairs-info/", {}, "trading pairs", decode)
        return pairs_from(entries)
