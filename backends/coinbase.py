"""CoinbasePriceSource: Coinbase Exchange's keyless REST API (products, daily candles) as a `PriceSource`.

Coinbase answers at most 300 candles per call and has no "from the listing"
query, so history is read by walking back from today in 300-day windows.
Rows are `[time, low, high, open, close, volume]` (low and high first),
newest first, and days without trades are left out; its candles carry no
VWAP, so a listing is priced at its first day's close. Errors come as
`{"message": ...}` with an HTTP status, and are read in `decode` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack
from urllib.parse import quote

import httpx

from backends.exchange_http import Answer
from backends.exchange_source import ExchangeSource, SourceOptions
from backends.sources import market_pair, preferred_pairs
from common.candles import Candle
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.ports import Pair

NAME = "coinbase"
# Published public limit: 10 requests per second per IP (bursts of 15), so one request per 0.1 s.
REQUEST_INTERVAL_S = 0.1
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
GRANULARITY_S = 86_400
# At most 300 candles per call: a window is 300 days, less a second.
WINDOW = timedelta(days=300)
# No Coinbase Exchange candle is older than this (it opened in early 2015; BTC-USD starts in
# December 2014): the walk back never asks for earlier windows.
OLDEST_CANDLES = datetime(2014, 12, 1, tzinfo=UTC)
# A pair may go years without candles (XRP-USD was suspended 2021-01 to 2023-07, about 900 days),
# so only this many empty windows in a row end the walk before OLDEST_CANDLES.
EMPTY_WINDOWS_TO_STOP = 4


def decode(answer: Answer, what: str) -> Any:
    """The JSON of a 200 answer, or the domain error Coinbase's status and `{"message"}` stand for."""
    if answer.status == httpx.codes.OK:
        return answer.json()
    message = _message(answer)
    if answer.status == httpx.codes.TOO_MANY_REQUESTS:
        raise RateLimited(f"Coinbase {what}: HTTP 429 {message}", retry_after_s=answer.retry_after_s)
    if answer.status >= httpx.codes.INTERNAL_SERVER_ERROR or answer.status == httpx.codes.FORBIDDEN:
        # 403 comes from the CDN's firewall, not from Coinbase's API: worth trying again later.
        raise ExchangeUnavailable(f"Coinbase {what}: HTTP {answer.status} {message}")
    if answer.status == httpx.codes.NOT_FOUND:
        raise UnknownSymbol(f"Coinbase has no product {what}: {message}")
    raise BadPriceData(f"Coinbase {what}: HTTP {answer.status} {message}")


def _message(answer: Answer) -> str:
    try:
        body = answer.json()
    except ExchangeUnavailable:
        return "(no JSON)"
    return str(body.get("message", ""))[:200] if isinstance(body, dict) else ""


def pairs_from(products: object) -> tuple[Pair, ...]:
    """The tradable USD/USDT/USDC products of a `/products` answer, one per symbol."""
    if not isinstance(products, list):
        raise BadPriceData("Coinbase products: answer is not a list")
    return preferred_pairs(
        market_pair(NAME, product.get("base_currency", ""), product.get("quote_currency", ""), product.get("id"))
        for product in products
        if isinstance(product, dict) and product.get("status") == "online" and not product.get("trading_disabled")
    )


def candle_from(row: object) -> Candle:
    """One `[time, low, high, open, close, volume]` row; no VWAP (0.0 says so)."""
    try:
        if not isinstance(row, list) or len(row) < 6:
            raise TypeError("not a list of six")
        time_s, low, high, open_, close, volume = (float(v) for v in row[:6])
        return Candle(datetime.fromtimestamp(time_s, UTC), open_, high, low, close, 0.0, volume)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise BadPriceData(f"Coinbase candle {row!r:.80} is not [time, low, high, open, close, volume]") from exc


def candles_from(rows: object, what: str) -> list[Candle]:
    """The candles of one answer, in whatever order they came."""
    if not isinstance(rows, list):
        raise BadPriceData(f"Coinbase candles of {what}: answer is not a list")
    return [candle_from(row) for row in rows]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class CoinbasePriceSource(ExchangeSource):
    """Prices from Coinbase Exchange: daily candles walked back from today, 300 days a call."""

    name = NAME
    request_interval_s = REQUEST_INTERVAL_S

    def __init__(
        self,
        client: httpx.Client,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **options: Unpack[SourceOptions],
    ) -> None:
        super().__init__(client, **options)
        self._now = now

    def _daily_candles(self, pair: Pair, since: datetime | None) -> list[Candle]:
        return self._fetch_back(pair, OLDEST_CANDLES if since is None else max(_day_of(since), OLDEST_CANDLES))

    def _fetch_back(self, pair: Pair, oldest: datetime) -> list[Candle]:
        """Walk back from today in 300-day windows until `oldest`, or until the pair has long been silent.

        Each window asks for the days opening in [start, top): `end` stops one second short of `top`
        (or at now), so no day is asked twice or missed whether Coinbase reads `end` as inclusive or not.
        """
        now = self._now()
        top = _day_of(now) + DAY
        candles: list[Candle] = []
        empty_run = 0
        while top > oldest:
            start = max(top - WINDOW, oldest)
            page = candles_from(self._page(pair, start, min(top - SECOND, now)), pair.name)
            candles.extend(page)
            empty_run = 0 if any(c.volume > 0 for c in page) else empty_run + 1
            if empty_run >= EMPTY_WINDOWS_TO_STOP:
                break
            top = start
        return candles

    def _fetch_pairs(self) -> tuple[Pair, ...]:
        return pairs_from(self._http.get("/products", {}, "products", decode))

    def _page(self, pair: Pair, start: datetime, end: datetime) -> object:
        params: Mapping[str, str] = {"granularity": str(GRANULARITY_S), "start": _iso(start), "end": _iso(end)}
        return self._http.get(f"/products/{quote(pair.name, safe='')}/candles", params, pair.name, decode)
