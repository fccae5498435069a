"""FakeBitstamp: Bitstamp's public markets, trading-pairs-info and daily OHLC on 127.0.0.1, with its quirks.

Days without trades are flat zero-volume candles at the previous close, and a
pair's candles begin `FLAT_LEAD_DAYS` flat days before its first trade (a flat
candle is never a listing). A `start` before the first candle answers `[]`, as
the live API did; `end` with `limit` walks back. Unknown pairs answer 404 in
the v2 error envelope: what the real API says there is not documented.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fake_exchange import wire
from fake_exchange.faults import Fault
from fake_exchange.limits import RateLimit
from fake_exchange.market import FakeCoin
from fake_exchange.ohlc import DAY_S
from fake_exchange.server import DATA_FAULTS, FakeExchange
from fake_exchange.wire import Reply, dumps, json_reply

NAME = "bitstamp"
FLAT_LEAD_DAYS = 2
STEPS = frozenset({60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 259200})
MAINTENANCE = "Bitstamp.net is under scheduled maintenance. We'll be back soon."
_OHLC_PATH = re.compile(r"^/api/v2/ohlc/([a-z0-9]+)/?$")
_PATHS = {"/api/v2/markets/": "markets", "/api/v2/trading-pairs-info/": "trading-pairs-info"}
_NAMES = {"BTC": "Bitcoin", "ETH": "Ether"}


def _error(status: int, reason: object, code: str) -> Reply:
    return json_reply(dumps({"status": "error", "reason": reason, "code": code}), status)


def _url_symbol(base: str, quote: str) -> str:
    return f"{base}{quote}".lower()


class FakeBitstamp(FakeExchange):
    """A Bitstamp look-alike serving the market's coins that have a Bitstamp venue."""

    exchange = NAME
    # Third-party transcriptions of bitstamp.net/api (2025-26): 10,000 requests per 10 minutes.
    published_limit = RateLimit(10_000, 600.0)
    faults = DATA_FAULTS
    # False: /api/v2/markets/ answers 404, as before Bitstamp added it (clients fall back).
    markets_endpoint = True

    def endpoint(self, path: str) -> str | None:
        if path in _PATHS:
            return _PATHS[path] if self.markets_endpoint or path != "/api/v2/markets/" else None
        return "ohlc" if _OHLC_PATH.match(path) else None

    def is_data(self, endpoint: str) -> bool:
        return endpoint == "ohlc"

    def pair_names(self, path: str, params: Mapping[str, str]) -> tuple[str, ...]:
        match = _OHLC_PATH.match(path)
        return (match.group(1),) if match else ()

    def not_found(self) -> Reply:
        return _error(404, "Not found", "404.001")

    def rate_limited(self) -> Reply:
        return _error(400, "Rate limit exceeded. Please try again later.", "400.002")

    def fault_reply(self, fault: Fault, retry_after_s: int) -> Reply | None:
        if fault is Fault.RATE_LIMIT:
            return self.rate_limited()
        if fault is Fault.SERVICE_UNAVAILABLE:
            return json_reply(dumps({"error": MAINTENANCE}))
        if fault is Fault.INVALID_ARGUMENTS:
            return _error(400, {"step": ["Not a valid choice."]}, "400.001")
        if fault is Fault.VANISHED:
            return self.not_found()
        return wire.http_fault(fault, retry_after_s)

    def _listed(self) -> dict[str, FakeCoin]:
        """url symbol (btcusd) -> coin, for the coins on Bitstamp; rebuilt when the market changes."""
        return self.per_version("listed", lambda: self.market.pairs_on(NAME, _url_symbol))

    def answer(self, endpoint: str, path: str, params: Mapping[str, str], fault: Fault | None) -> Reply:
        if endpoint != "ohlc":
            key = (endpoint, self.market.version)
            return json_reply(self.cached(key, lambda: dumps(self._markets(legacy=endpoint != "markets"))))
        match = _OHLC_PATH.match(path)
        coin = self._listed().get(match.group(1)) if match else None
        if coin is None:
            return self.not_found()
        return self._ohlc(coin, params, fault)

    def _markets(self, *, legacy: bool) -> list[dict[str, Any]]:
        entries = []
        for url_symbol, coin in self._listed().items():
            quote = url_symbol.removeprefix(coin.symbol.lower()).upper()
            entry: dict[str, Any] = {"name": f"{coin.symbol}/{quote}"}
            if legacy:
                entry["url_symbol"] = url_symbol
            else:
                entry.update(market_symbol=url_symbol, base_currency=coin.symbol, counter_currency=quote)
            entry.update(
                base_decimals=8,
                counter_decimals=5,
                instant_order_counter_decimals=5,
                minimum_order=f"10.00000 {quote}",
                trading="Enabled",
                instant_and_market_orders="Enabled",
                description=f"{_NAMES.get(coin.symbol, coin.symbol)} / {quote}",
            )
            entries.append(entry)
            if not legacy and coin.symbol in _NAMES:  # a EUR market, which a USD reader must skip
                entries.append({**entry, "name": f"{coin.symbol}/EUR", "market_symbol": f"{coin.symbol.lower()}eur",
                                "counter_currency": "EUR", "trading": "Disabled"})  # fmt: skip
        return entries

    def _candles(self, coin: FakeCoin) -> list[list[float]]:
        """[time, open, high, low, close, volume] per day up to now: flat before the first trade and on quiet days."""
        venue = coin.venue(NAME)
        rows = coin.rows_on(NAME)
        now = self.now_unix()
        if venue is None or not rows:
            return []
        out = [
            [rows[0][0] - d * DAY_S, rows[0][1], rows[0][1], rows[0][1], rows[0][1], 0.0]
            for d in range(FLAT_LEAD_DAYS, 0, -1)
        ]
        for row in rows:
            if row[0] > now:
                break
            if venue.is_quiet(row[0]):
                last = out[-1][4]
                out.append([row[0], last, last, last, last, 0.0])
            else:
                out.append([row[0], row[1], row[2], row[3], row[4], row[6]])
        return out

    def _ohlc(self, coin: FakeCoin, params: Mapping[str, str], fault: Fault | None) -> Reply:
        try:
            step, limit = int(params["step"]), int(params["limit"])
            start = int(params["start"]) if "start" in params else None
            end = int(params["end"]) if "end" in params else None
        except KeyError as exc:
            return _error(400, {str(exc.args[0]): ["Missing data for required field."]}, "400.001")
        except ValueError:
            return _error(400, {"step": ["Not a valid choice."]}, "400.001")
        if step not in STEPS or step != DAY_S:  # only daily candles are modelled
            return _error(400, {"step": ["Not a valid choice."]}, "400.001")
        if not 1 <= limit <= 1000:
            return _error(400, {"limit": ["Must be between 1 and 1000."]}, "400.001")
        candles = self._candles(coin)
        if end is not None:  # "If both start and end timestamps are posted, end timestamp will be used."
            chosen = [c for c in candles if c[0] <= end][-limit:]
        elif start is not None:
            chosen = [] if not candles or start < candles[0][0] else [c for c in candles if c[0] >= start][:limit]
        else:
            chosen = candles[-limit:]
        return json_reply(self._body(coin, chosen, fault))

    def _body(self, coin: FakeCoin, chosen: list[list[float]], fault: Fault | None) -> bytes:
        places = wire.decimals(c[3] for c in chosen)
        ohlc: list[dict[str, str]] = [
            {
                "timestamp": str(int(c[0])),
                "open": f"{c[1]:.{places}f}",
                "high": f"{c[2]:.{places}f}",
                "low": f"{c[3]:.{places}f}",
                "close": f"{c[4]:.{places}f}",
                "volume": f"{c[5]:.8f}",
            }
            for c in chosen
        ]
        if fault is Fault.EMPTY:
            ohlc = []
        if ohlc and fault is Fault.NON_NUMERIC:
            ohlc[0]["close"] = "n/a"
        if ohlc and fault is Fault.NEGATIVE:
            ohlc[-1]["close"] = "-" + ohlc[-1]["close"]
        venue = coin.venue(NAME)
        pair = f"{coin.symbol}/{venue.quote if venue is not None else 'USD'}"
        if fault is Fault.REORDERED:  # newest first, and the keys the other way round
            return dumps({"data": {"ohlc": [dict(reversed(c.items())) for c in reversed(ohlc)], "pair": pair}})
        return dumps({"data": {"pair": pair, "ohlc": ohlc}})
