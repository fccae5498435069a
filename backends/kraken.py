"""KrakenPriceSource: Kraken's keyless REST API (AssetPairs, OHLC, Trades) as a `common.ports.PriceSource`.

Kraken answers most failures with HTTP 200 and an `error` list, so `decode`
classifies them by their text as well as by status code: the one place where
Kraken's errors become domain errors. OHLC gives only the newest 720 entries
of an interval, so the listing day comes from Trades (`since=0` returns the
pair's very first trades): its price is the VWAP of that day's trades.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx

from backends.exchange_http import Answer, ExchangeHttp, RetryPolicy
from backends.kraken_rows import candle_rows, result_rows, trade_rows
from backends.sources import PAIRS_TTL_S, CachedPairs, our_symbol, preferred_pairs, traded
from common.candles import (
    DAILY_MINUTES,
    FIFTEEN_DAY_MINUTES,
    MAX_ENTRIES_PER_ANSWER,
    WEEKLY_MINUTES,
    CandleSeries,
    utc_from_unix,
)
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited, UnknownSymbol
from common.ports import FirstDay, Pair

log = logging.getLogger(__name__)

NAME = "kraken"
# "1 call per second for public methods" (Kraken support; ccxt throttles the same).
REQUEST_INTERVAL_S = 1.0
# Trades come 1000 per call; a listing day is cut after this many pages (see first_day).
MAX_TRADE_PAGES = 20
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


class KrakenPriceSource:
    """Prices from Kraken over HTTPS; one instance may be shared by threads."""

    name = NAME

    def __init__(
        self,
        client: httpx.Client,
        *,
        policy: RetryPolicy | None = None,
        pairs_ttl_s: float = PAIRS_TTL_S,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._http = ExchangeHttp(
            NAME, client, policy or RetryPolicy(REQUEST_INTERVAL_S), sleep=sleep, monotonic=monotonic, rng=rng
        )
        self._pairs = CachedPairs(NAME, self._fetch_pairs, monotonic, pairs_ttl_s)

    @property
    def requests(self) -> int:
        """Answers received so far (benchmarks divide wall time by it)."""
        return self._http.requests

    def pairs(self) -> Sequence[Pair]:
        """Every online pair, one per symbol; AssetPairs is fetched at most once per `pairs_ttl_s`."""
        return self._pairs.all()

    def pair_for(self, symbol: str) -> Pair:
        return self._pairs.find(symbol)

    def candles(self, pair: Pair, interval_minutes: int, since: datetime | None = None) -> CandleSeries:
        """The (at most 720) newest candles with trades, opened at or after `since`; the last may be unfinished."""
        params = {"pair": pair.name, "interval": str(interval_minutes)}
        if since is not None:
            # Kraken's `since` is exclusive on some endpoints; ask from a second earlier and filter here.
            params["since"] = str(int(since.timestamp()) - 1)
        result = self._get("OHLC", params, pair.name)
        rows, last = result_rows(result, f"Kraken OHLC {pair.name}")
        committed = utc_from_unix(last) if isinstance(last, int | float) and not isinstance(last, bool) else None
        return traded(
            candle_rows(rows), interval_minutes, f"Kraken OHLC {pair.name}", since=since, last_committed=committed
        )

    def daily(self, pair: Pair, since: datetime | None = None) -> CandleSeries:
        """Daily candles: only the newest 720 days exist at this interval (history() reaches further)."""
        return self.candles(pair, DAILY_MINUTES, since)

    def history(self, pair: Pair) -> CandleSeries:
        """Weekly candles (about 13.8 years), or 15-day ones when the 720 weekly entries no longer reach the listing."""
        weekly = self.candles(pair, WEEKLY_MINUTES)
        if len(weekly.candles) < MAX_ENTRIES_PER_ANSWER:
            return weekly
        return self.candles(pair, FIFTEEN_DAY_MINUTES)

    def first_day(self, pair: Pair) -> FirstDay:
        """The first UTC day with trades, priced at the VWAP of that day's trades.

        Trades are paged with `last` until one falls after the day; a day of more than
        MAX_TRADE_PAGES pages is priced from the trades of those pages (logged).
        """
        since = "0"
        day: datetime | None = None
        cost = volume = 0.0
        for _ in range(MAX_TRADE_PAGES):
            result = self._get("Trades", {"pair": pair.name, "since": since}, pair.name)
            rows, last = result_rows(result, f"Kraken Trades {pair.name}")
            trades = sorted(trade_rows(rows, f"Kraken Trades {pair.name}"), key=lambda t: t[2])
            if not trades:
                break
            if day is None:
                first = datetime.fromtimestamp(trades[0][2], UTC)
                day = first.replace(hour=0, minute=0, second=0, microsecond=0)
            end = (day + timedelta(days=1)).timestamp()
            for price, size, at in trades:
                if at < end:
                    cost, volume = cost + price * size, volume + size
            if trades[-1][2] >= end or not isinstance(last, str) or last == since:
                break
            since = last
        else:
            log.warning(
                "Kraken %s: listing day has more than %d pages of trades; priced from those", pair.name, MAX_TRADE_PAGES
            )
        if day is None or volume <= 0:
            raise BadPriceData(f"Kraken Trades {pair.name}: the pair never traded")
        return FirstDay(day=day, price_usd=cost / volume, volume_usd=cost, price_is_vwap=True)

    def close(self) -> None:
        """Close the pooled connections of the client bootstrap gave us."""
        self._http.close()

    def __enter__(self) -> KrakenPriceSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _fetch_pairs(self) -> tuple[Pair, ...]:
        return pairs_from(self._get("AssetPairs", {}, "all pairs"))

    def _get(self, endpoint: str, params: Mapping[str, str], what: str) -> Mapping[str, Any]:
        result: Mapping[str, Any] = self._http.get(f"/0/public/{endpoint}", params, f"{endpoint} {what}", decode)
        return result
