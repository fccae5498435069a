"""FakeBitfinex: Bitfinex's public pair list and daily candles on 127.0.0.1, with its quirks.

Candles are `[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]` numbers (close before
high and low), days without trades are left out, an unknown symbol answers
`[]`, and codes longer than three letters take a colon (`tDOGE:USD`). Its own
currency codes apply (UST is USDT; DOG is MDOGE, listed here as a trap for
readers that would take it for DOGE).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from common.exchanges import exchange_code
from fake_exchange import wire
from fake_exchange.faults import Fault
from fake_exchange.limits import RateLimit
from fake_exchange.market import FakeCoin
from fake_exchange.server import DATA_FAULTS, FakeExchange
from fake_exchange.wire import Reply, dumps, json_reply

NAME = "bitfinex"
MAX_LIMIT = 10_000
_CANDLES = re.compile(r"^/v2/candles/trade:([0-9A-Za-z]+):t([A-Z0-9:]+)/(hist|last)$")
_CONF = "/v2/conf/pub:list:pair:exchange"
MS = 1000


def bitfinex_pair(symbol: str, quote: str) -> str:
    """The bare pair Bitfinex lists for our symbol and quote: BTCUSD, DOGE:USD, BTCUST."""
    base, counter = exchange_code(NAME, symbol), exchange_code(NAME, quote)
    return f"{base}:{counter}" if len(base) > 3 or len(counter) > 3 else base + counter


def _error(status: int, code: int, message: str) -> Reply:
    return json_reply(dumps(["error", code, message]), status)


class FakeBitfinex(FakeExchange):
    """A Bitfinex look-alike serving the market's coins that have a Bitfinex venue."""

    exchange = NAME
    # The candles documentation: 30 requests a minute (an older crawl said 90).
    published_limit = RateLimit(30, 60.0)
    # "An IP that exceeds the limit is blocked for 60 s."
    penalty_s = 60.0
    faults = DATA_FAULTS

    def endpoint(self, path: str) -> str | None:
        if path == _CONF:
            return "conf"
        return "candles" if _CANDLES.match(path) else None

    def is_data(self, endpoint: str) -> bool:
        return endpoint == "candles"

    def pair_names(self, path: str, params: Mapping[str, str]) -> tuple[str, ...]:
        match = _CANDLES.match(path)
        return (match.group(2), f"t{match.group(2)}") if match else ()

    def not_found(self) -> Reply:
        return _error(404, 10020, "not found")

    def rate_limited(self) -> Reply:
        return json_reply(dumps({"error": "ERR_RATE_LIMIT"}), 429)

    def fault_reply(self, fault: Fault, retry_after_s: int) -> Reply | None:
        if fault is Fault.RATE_LIMIT:
            return self.rate_limited()
        if fault is Fault.SERVICE_UNAVAILABLE:
            return _error(500, 20060, "maintenance")
        if fault is Fault.INVALID_ARGUMENTS:
            return _error(500, 10020, "limit: invalid")
        if fault is Fault.VANISHED:
            return json_reply(b"[]")
        return wire.http_fault(fault, retry_after_s)

    def _listed(self) -> dict[str, FakeCoin]:
        return self.per_version("listed", self._index)

    def _index(self) -> dict[str, FakeCoin]:
        """bare pair (BTCUSD, DOGE:USD) -> coin, for the coins on Bitfinex, with a few other quotes beside."""
        out = {}
        for coin in self.market:
            venue = coin.venue(NAME)
            if venue is None:
                continue
            out[bitfinex_pair(coin.symbol, venue.quote)] = coin
            if coin.symbol in ("BTC", "ETH"):  # pairs a USD reader must not prefer
                out[bitfinex_pair(coin.symbol, "USDT")] = coin
                out[bitfinex_pair(coin.symbol, "EUR")] = coin
        return out

    def answer(self, endpoint: str, path: str, params: Mapping[str, str], fault: Fault | None) -> Reply:
        if endpoint == "conf":
            # DOG is Bitfinex's MDOGE: listed, never traded here.
            return json_reply(dumps([[*self._listed(), "DOGUSD"]]))
        match = _CANDLES.match(path)
        if match is None:
            return self.not_found()
        if match.group(1) != "1D":  # only daily candles are modelled
            return _error(500, 10020, "time_frame: invalid")
        try:
            limit = int(params.get("limit", "100"))
            start = int(params["start"]) if "start" in params else None
            end = int(params["end"]) if "end" in params else None
            ascending = int(params.get("sort", "-1")) == 1
        except ValueError:
            return _error(500, 10020, "limit: invalid")
        if not 1 <= limit <= MAX_LIMIT:
            return _error(500, 10020, "limit: invalid")
        coin = self._listed().get(match.group(2))
        rows = self._rows(coin, start, end) if coin is not None else []
        rows = rows[:limit] if ascending else rows[::-1][:limit]
        return json_reply(dumps(self._altered(rows, fault)))

    def _rows(self, coin: FakeCoin, start: int | None, end: int | None) -> list[list[float]]:
        venue = coin.venue(NAME)
        now_ms = self.now_unix() * MS
        return [
            [row[0] * MS, row[1], row[4], row[2], row[3], row[6]]
            for row in coin.rows_on(NAME)
            if venue is not None
            and not venue.is_quiet(row[0])
            and row[0] * MS <= now_ms
            and (start is None or row[0] * MS >= start)
            and (end is None or row[0] * MS <= end)
        ]

    @staticmethod
    def _altered(rows: list[list[float]], fault: Fault | None) -> list[list[float | str]]:
        out: list[list[float | str]] = [list(r) for r in rows]
        if fault is Fault.EMPTY:
            return []
        if out and fault is Fault.NON_NUMERIC:
            out[0][2] = "n/a"
        if out and fault is Fault.NEGATIVE:
            out[-1][2] = -float(out[-1][2])
        if fault is Fault.REORDERED:
            out.reverse()
        return out
