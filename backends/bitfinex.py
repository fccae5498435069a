"""BitfinexPriceSource: Bitfinex's keyless v2 REST API (pair list, daily candles) as a `common.ports.PriceSource`.

`/v2/candles/trade:1D:{tPAIR}/hist?sort=1&limit=10000` answers from the listing
day on, so one call holds a whole history; a full page is followed with
`start`. Rows are `[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]` numbers (close before
high and low), days without trades are left out, and an unknown symbol
answers `[]`. Bitfinex's currency codes differ (UST is USDT, DOG is MDOGE):
the renames are common.exchanges'. `decode` is where its errors are read:
`["error", code, message]` (20060 maintenance, 10020 bad arguments),
`{"error":"ERR_RATE_LIMIT"}`, 429 and 5xx. Its published limit is 30 calls a
minute, hence one request every two seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from backends.exchange_http import Answer
from backends.exchange_source import ExchangeSource
from backends.sources import market_pair, preferred_pairs
from common.candles import Candle
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.exchanges import common_symbol
from common.ports import Pair

NAME = "bitfinex"
REQUEST_INTERVAL_S = 2.0
LIMIT = 10_000
# 10,000 days a page: three pages are 82 years.
MAX_PAGES = 3
MAINTENANCE_CODE = 20060
RATE_LIMIT_CODE = 11010


def decode(answer: Answer, what: str) -> Any:
    """The JSON of a usable answer, or the domain error Bitfinex's status and body stand for."""
    if answer.status == httpx.codes.TOO_MANY_REQUESTS:
        raise RateLimited(f"Bitfinex {what}: HTTP 429", retry_after_s=answer.retry_after_s)
    body = answer.json()
    if isinstance(body, dict) and "error" in body:
        message = str(body["error"])
        if "rate" in message.lower():
            raise RateLimited(f"Bitfinex {what}: {message:.200}", retry_after_s=answer.retry_after_s)
        raise ExchangeUnavailable(f"Bitfinex {what}: {message:.200}")
    if isinstance(body, list) and len(body) >= 2 and body[0] == "error":
        code, message = body[1], str(body[2] if len(body) > 2 else "")
        if code == RATE_LIMIT_CODE or "ratelimit" in message.lower():
            raise RateLimited(f"Bitfinex {what}: {code} {message:.200}", retry_after_s=answer.retry_after_s)
        if code == MAINTENANCE_CODE or "maintenance" in message.lower():
            raise ExchangeUnavailable(f"Bitfinex {what}: {code} {message:.200}")
        raise BadPriceData(f"Bitfinex {what}: {code} {message:.200}")
    if answer.status >= httpx.codes.INTERNAL_SERVER_ERROR:
        raise ExchangeUnavailable(f"Bitfinex {what}: HTTP {answer.status}")
    if answer.status != httpx.codes.OK:
        raise BadPriceData(f"Bitfinex {what}: HTTP {answer.status}")
    return body


def split_pair(raw: str) -> tuple[str, str] | None:
    """BTCUSD -> (BTC, USD); DOGE:USD -> (DOGE, USD); None for anything else."""
    if ":" in raw:
        base, _, quote = raw.partition(":")
        return (base, quote) if base and quote else None
    return (raw[:3], raw[3:]) if len(raw) == 6 else None


def pairs_from(body: object) -> tuple[Pair, ...]:
    """One pair per symbol from `[["BTCUSD", "DOGE:USD", ...]]`, named `tBTCUSD`, with Bitfinex's codes renamed."""
    if not (isinstance(body, list) and body and isinstance(body[0], list)):
        raise BadPriceData("Bitfinex pair list: not a nested list")
    candidates = []
    for raw in body[0]:
        parts = split_pair(raw) if isinstance(raw, str) else None
        if parts is not None:
            candidates.append(market_pair(NAME, parts[0], common_symbol(NAME, parts[1]), f"t{raw}"))
    return preferred_pairs(candidates)


def candles_from(body: object, what: str) -> Iterator[Candle]:
    """[[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME], ...] as candles (close as VWAP: none is given)."""
    if not isinstance(body, list):
        raise BadPriceData(f"Bitfinex {what}: candles are not a list")
    for row in body:
        try:
            if not isinstance(row, list) or any(isinstance(v, bool) for v in row):
                raise TypeError("not a row of numbers")
            mts, open_, close, high, low, volume = (float(v) for v in row[:6])
            yield Candle(datetime.fromtimestamp(mts / 1000, UTC), open_, high, low, close, close, volume)
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            raise BadPriceData(f"Bitfinex {what}: candle {row!r:.120} is not [MTS, O, C, H, L, V]") from exc


class BitfinexPriceSource(ExchangeSource):
    """Prices from Bitfinex over HTTPS: one call holds the daily candles of any pair younger than 27 years."""

    name = NAME
    request_interval_s = REQUEST_INTERVAL_S
    daily_from_held_history = True

    def _daily_candles(self, pair: Pair, since: datetime | None) -> list[Candle]:
        """Candles oldest first from `since` (the listing when None), paging forward with `start`."""
        collected: list[Candle] = []
        start = int(since.timestamp() * 1000) if since is not None else None
        for _ in range(MAX_PAGES):
            params = {"sort": "1", "limit": str(LIMIT)}
            if start is not None:
                params["start"] = str(start)
            path = f"/v2/candles/trade:1D:{pair.name}/hist"
            page = list(candles_from(self._http.get(path, params, f"candles {pair.name}", decode), pair.name))
            if not page and since is None and not collected:
                raise UnknownSymbol(f"Bitfinex has no candles for {pair.name}")  # its answer for an unknown symbol
            collected.extend(page)
            if len(page) < LIMIT:
                break
            start = int(max(c.open_time for c in page).timestamp() * 1000) + 1
        return collected

    def _fetch_pairs(self) -> tuple[Pair, ...]:
        return pairs_from(self._http.get("/v2/conf/pub:list:pair:exchange", {}, "pair list", decode))
