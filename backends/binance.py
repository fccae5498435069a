"""BinancePriceSource: Binance's keyless market data (exchangeInfo, daily klines) as a `PriceSource`.

Binance has no USD pairs, so coins are read in USDT (then USDC), taken at par
with USD and carried in `Pair.quote`. `startTime=0` returns the first klines of
a pair, so history pages forward from the listing, 1,000 days per call, and a
kline's quote volume over its base volume is that day's VWAP. The trading hosts
refuse some locations (HTTP 451): the market-data host is the default. Errors
are `{"code": ..., "msg": ...}` with an HTTP status, and are read in `decode` only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from backends.exchange_http import Answer
from backends.exchange_source import ExchangeSource
from backends.sources import market_pair, preferred_pairs
from common.candles import Candle, CandleSeries
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.exchanges import BASE_URLS
from common.ports import FirstDay, Pair

NAME = "binance"
# The market-data host, which the trading hosts' geo-block (HTTP 451) does not reach.
MARKET_DATA_HOST = BASE_URLS[NAME]
# Published limit: 6,000 request weight per minute per IP, a daily-klines call weighing 2. One call
# per 0.05 s spends at most 2,400 a minute: under half, leaving room for exchangeInfo (weight 20)
# and for a second worker on the same IP.
REQUEST_INTERVAL_S = 0.05
KLINES_PER_CALL = 1000
# Enough pages for 27 years of daily klines: a server that keeps answering full pages is wrong.
MAX_PAGES = 10
INVALID_SYMBOL = -1121


class GeoBlocked(ExchangeUnavailable):
    """The host refuses requests from this location (HTTP 451): retrying will not help, another host may."""


class IpBanned(RateLimited):
    """Binance banned this IP for ignoring 429s (HTTP 418), for `retry_after_s`: asking again lengthens it."""


class _Final(Exception):
    """Carries an error past ExchangeHttp's retries, which would retry every ExchangeUnavailable."""

    def __init__(self, error: ExchangeUnavailable) -> None:
        super().__init__(str(error))
        self.error = error


def decode(answer: Answer, what: str) -> Any:
    """The JSON of a 200 answer, or the domain error Binance's status and `{"code", "msg"}` stand for."""
    if answer.status == httpx.codes.OK:
        return answer.json()
    code, message = _error(answer)
    if answer.status == httpx.codes.UNAVAILABLE_FOR_LEGAL_REASONS:
        raise _Final(
            GeoBlocked(
                f"Binance {what}: HTTP 451, this host refuses requests from this location;"
                f" point DELOS_BINANCE_URL at the market-data host {MARKET_DATA_HOST}"
            )
        )
    if answer.status == httpx.codes.IM_A_TEAPOT:
        raise _Final(IpBanned(f"Binance {what}: HTTP 418, IP banned: {message}", answer.retry_after_s))
    if answer.status == httpx.codes.TOO_MANY_REQUESTS:
        raise RateLimited(f"Binance {what}: HTTP 429 {message}", retry_after_s=answer.retry_after_s)
    if answer.status >= httpx.codes.INTERNAL_SERVER_ERROR or answer.status == httpx.codes.FORBIDDEN:
        # 5xx: Binance's own trouble; 403: its web firewall. Both may pass.
        raise ExchangeUnavailable(f"Binance {what}: HTTP {answer.status} {message}")
    if code == INVALID_SYMBOL:
        raise UnknownSymbol(f"Binance has no symbol {what}: {message}")
    raise BadPriceData(f"Binance {what}: HTTP {answer.status} code {code} {message}")


def _error(answer: Answer) -> tuple[object, str]:
    try:
        body = answer.json()
    except ExchangeUnavailable:
        return None, "(no JSON)"
    if not isinstance(body, dict):
        return None, ""
    return body.get("code"), str(body.get("msg", ""))[:200]


def pairs_from(info: object) -> tuple[Pair, ...]:
    """The trading USD/USDT/USDC symbols of an exchangeInfo answer, one per coin."""
    symbols = info.get("symbols") if isinstance(info, dict) else None
    if not isinstance(symbols, list):
        raise BadPriceData("Binance exchangeInfo: answer has no symbols list")
    return preferred_pairs(
        market_pair(NAME, entry.get("baseAsset", ""), entry.get("quoteAsset", ""), entry.get("symbol"))
        for entry in symbols
        if isinstance(entry, dict) and entry.get("status") == "TRADING"
    )


def candle_from(row: object) -> Candle:
    """One kline `[openTime ms, open, high, low, close, volume, closeTime, quoteVolume, ...]`; VWAP from the volumes."""
    try:
        if not isinstance(row, list) or len(row) < 8:
            raise TypeError("not a kline")
        open_ms, open_, high, low, close, volume = (float(v) for v in row[:6])
        quote_volume = float(row[7])
        vwap = quote_volume / volume if volume > 0 else 0.0
        return Candle(datetime.fromtimestamp(open_ms / 1000, UTC), open_, high, low, close, vwap, volume)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise BadPriceData(f"Binance kline {row!r:.80} is not [openTime, open, high, low, close, volume, ...]") from exc


def klines_from(rows: object, what: str) -> list[Candle]:
    """The klines of one answer; a list, or BadPriceData."""
    if not isinstance(rows, list):
        raise BadPriceData(f"Binance klines of {what}: answer is not a list")
    return [candle_from(row) for row in rows]


def first_day_of(series: CandleSeries, what: str) -> FirstDay:
    """The first day of a traded-days series, priced at its VWAP (quote volume / base volume)."""
    if not series.candles:
        raise BadPriceData(f"{what}: the pair never traded")
    first = series.candles[0]
    return FirstDay(day=first.open_time, price_usd=first.vwap, volume_usd=first.vwap * first.volume, price_is_vwap=True)


class BinancePriceSource(ExchangeSource):
    """Prices from Binance's market-data API: daily klines paged forward from the listing."""

    name = NAME
    request_interval_s = REQUEST_INTERVAL_S

    def first_day(self, pair: Pair) -> FirstDay:
        """The first day with trades, from the very first klines, priced at its VWAP."""
        return first_day_of(self.history(pair), self._what(pair))

    def _daily_candles(self, pair: Pair, since: datetime | None) -> list[Candle]:
        """Page forward from `since` (from the first kline when None) until a page comes back short."""
        start_ms = 0 if since is None else int(since.timestamp() * 1000)
        candles: list[Candle] = []
        for _ in range(MAX_PAGES):
            params = {"symbol": pair.name, "interval": "1d", "startTime": str(start_ms), "limit": str(KLINES_PER_CALL)}
            page = klines_from(self._get("/api/v3/klines", params, pair.name), pair.name)
            candles.extend(page)
            newest_ms = max((int(c.open_time.timestamp() * 1000) for c in page), default=-1)
            if len(page) < KLINES_PER_CALL or newest_ms < start_ms:
                return candles
            start_ms = newest_ms + 1
        raise BadPriceData(f"Binance {pair.name}: more than {MAX_PAGES} full pages of daily klines")

    def _fetch_pairs(self) -> tuple[Pair, ...]:
        return pairs_from(self._get("/api/v3/exchangeInfo", {}, "exchangeInfo"))

    def _get(self, path: str, params: dict[str, str], what: str) -> Any:
        try:
            return self._http.get(path, params, what, decode)
        except _Final as final:
            raise final.error from None
