"""KrakenPriceSource: Kraken's keyless REST API (AssetPairs, OHLC, Trades) as a `common.ports.PriceSource`.

OHLC gives only the newest 720 entries of an interval, so the listing day
comes from Trades (`since=0` returns the pair's very first trades): its price
is the VWAP of that day's trades. Kraken's answers and errors are read in
backends/kraken_read.py (`decode` is the one place its errors are translated).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from backends.exchange_source import ExchangeSource
from backends.kraken_read import candle_rows, decode, pairs_from, result_rows, trade_rows
from backends.sources import traded
from common.candles import (
    DAILY_MINUTES,
    FIFTEEN_DAY_MINUTES,
    MAX_ENTRIES_PER_ANSWER,
    WEEKLY_MINUTES,
    CandleSeries,
    utc_from_unix,
)
from common.errors import BadPriceData
from common.ports import FirstDay, Pair

log = logging.getLogger(__name__)

NAME = "kraken"
# "1 call per second for public methods" (Kraken support; ccxt throttles the same).
REQUEST_INTERVAL_S = 1.0
# Trades come 1000 per call; a listing day is cut after this many pages (see first_day).
MAX_TRADE_PAGES = 20


class KrakenPriceSource(ExchangeSource):
    """Prices from Kraken over HTTPS: OHLC for candles, Trades for the listing day."""

    name = NAME
    request_interval_s = REQUEST_INTERVAL_S

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
        """The finest candles that reach the listing: daily for a pair younger than 720 days, else weekly
        (about 13.8 years), else 15-day ones when the 720 weekly entries no longer reach it.

        Weekly is asked first: it says how old the pair is, and old pairs need no more.
        """
        weekly = self.candles(pair, WEEKLY_MINUTES)
        if len(weekly.candles) >= MAX_ENTRIES_PER_ANSWER:
            return self.candles(pair, FIFTEEN_DAY_MINUTES)
        # The first week opens up to six days before the listing: a week's margin keeps the test safe.
        daily_reach = timedelta(days=MAX_ENTRIES_PER_ANSWER - 1) - timedelta(weeks=1)
        if weekly.candles and weekly.candles[-1].open_time - weekly.candles[0].open_time < daily_reach:
            return self.candles(pair, DAILY_MINUTES)
        return weekly

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
            cursor = str(last) if isinstance(last, str | int) and not isinstance(last, bool) else since
            if trades[-1][2] >= end or cursor == since:  # the day is over, or Kraken gave no way on
                break
            since = cursor
        else:
            log.warning(
                "Kraken %s: listing day has more than %d pages of trades; priced from those", pair.name, MAX_TRADE_PAGES
            )
        if day is None or volume <= 0:
            raise BadPriceData(f"Kraken Trades {pair.name}: the pair never traded")
        return FirstDay(day=day, price_usd=cost / volume, volume_usd=cost, price_is_vwap=True)

    def _fetch_pairs(self) -> tuple[Pair, ...]:
        return pairs_from(self._get("AssetPairs", {}, "all pairs"))

    def _get(self, endpoint: str, params: Mapping[str, str], what: str) -> Mapping[str, Any]:
        result: Mapping[str, Any] = self._http.get(f"/0/public/{endpoint}", params, f"{endpoint} {what}", decode)
        return result
