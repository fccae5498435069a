"""FakeBinance: Binance's public `/api/v3/exchangeInfo` and `/api/v3/klines` on 127.0.0.1.

Klines are `[openTime ms, "open", "high", "low", "close", "volume", closeTime ms,
"quoteVolume", trades, "takerBase", "takerQuote", "0"]`, oldest first, at most
1,000 per call; `startTime=0` returns the first ones. Days without trades are
flat zero-volume klines. Errors are `{"code", "msg"}`; past its limit the fake
answers 429 with Retry-After, and a client that keeps asking gets a 418 ban.
`geo_blocked` makes every answer the 451 that restricted locations get.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Mapping
from typing import Any

from fake_exchange.binance_wire import GEO_BLOCK_MSG, SERVER_BUSY, TOO_MUCH_WEIGHT, error, klines, symbol_info
from fake_exchange.faults import Fault
from fake_exchange.limits import RateLimit
from fake_exchange.market import FakeCoin, FakeMarket
from fake_exchange.ohlc import DAY_S
from fake_exchange.server import DATA_FAULTS, FakeExchange
from fake_exchange.wire import Reply, dumps, json_reply

__all__ = ["FakeBinance"]

PREFIX = "/api/v3/"
INTERVALS = frozenset(
    {"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"}
)
DEFAULT_LIMIT, MAX_LIMIT = 500, 1000
WEIGHTS: Mapping[str, int] = {"klines": 2, "exchangeInfo": 20}
# 429s a client may ignore in a row before it is banned, and for how long (Binance: 2 minutes to 3 days).
BAN_AFTER = 5
BAN_S = 120


def _symbol(base: str, quote: str) -> str | None:
    """Binance's symbol for a base and quote (BTCUSDT); None for a coin quoted in itself."""
    return None if quote == base else f"{base}{quote}"


class FakeBinance(FakeExchange):
    """A Binance market-data look-alike serving the market's coins that trade on Binance."""

    exchange = "binance"
    # 6,000 request weight a minute per IP (klines weigh 2, a full exchangeInfo 20).
    published_limit = RateLimit(6000, 60.0)
    faults = DATA_FAULTS

    def __init__(self, market: FakeMarket, **options: Any) -> None:
        super().__init__(market, **options)
        self.geo_blocked = False  # set to answer 451, as Binance's trading hosts do in restricted locations
        self._state_lock = threading.Lock()
        self._ignored_429s = 0
        self._banned_until = -math.inf

    def request_weight(self, endpoint: str, params: Mapping[str, str]) -> int:
        return WEIGHTS.get(endpoint, 1)

    def endpoint(self, path: str) -> str | None:
        name = path.removeprefix(PREFIX)
        return name if path.startswith(PREFIX) and name in ("exchangeInfo", "klines") else None

    def is_data(self, endpoint: str) -> bool:
        return endpoint == "klines"

    def pair_names(self, path: str, params: Mapping[str, str]) -> tuple[str, ...]:
        return (params.get("symbol", ""),)

    def fault_reply(self, fault: Fault, retry_after_s: int) -> Reply | None:
        if fault is Fault.RATE_LIMIT:  # Binance's own 429, not a proxy's; it does not count toward a ban
            return error(429, -1003, TOO_MUCH_WEIGHT, {"Retry-After": str(retry_after_s)})
        if fault is Fault.SERVICE_UNAVAILABLE:
            return error(503, -1008, SERVER_BUSY)
        if fault is Fault.INVALID_ARGUMENTS:
            return error(400, -1120, "Invalid interval.")
        if fault is Fault.VANISHED:
            return error(400, -1121, "Invalid symbol.")
        return super().fault_reply(fault, retry_after_s)

    def rate_limited(self) -> Reply:
        """429 with Retry-After; a client that ignores BAN_AFTER of them in a row is banned (418)."""
        now = self._monotonic()
        with self._state_lock:
            self._ignored_429s += 1
            if self._ignored_429s > BAN_AFTER and now >= self._banned_until:
                self._banned_until = now + BAN_S
        banned = self._ban()
        if banned is not None:
            return banned
        per_s = self.window.limit.per_s if self.window is not None else 60.0
        retry_after = max(1, math.ceil(per_s - now % per_s))
        return error(429, -1003, TOO_MUCH_WEIGHT, {"Retry-After": str(retry_after)})

    def ban(self, seconds: float = BAN_S) -> None:
        """Ban this client's IP for `seconds`, as Binance does after ignored 429s."""
        with self._state_lock:
            self._banned_until = self._monotonic() + seconds

    def not_found(self) -> Reply:
        return error(404, -1, "Not Found")

    def answer(self, endpoint: str, path: str, params: Mapping[str, str], fault: Fault | None) -> Reply:
        if self.geo_blocked:
            return error(451, 0, GEO_BLOCK_MSG)
        banned = self._ban()
        if banned is not None:
            return banned
        with self._state_lock:
            self._ignored_429s = 0
        if endpoint == "exchangeInfo":
            return json_reply(self.cached(("exchangeInfo", self.market.version), self._exchange_info_body))
        return self._klines(params, fault)

    def _ban(self) -> Reply | None:
        now = self._monotonic()
        with self._state_lock:
            left = self._banned_until - now
        if left <= 0:
            return None
        until_ms = int((self.now_unix() + left) * 1000)
        msg = f"Way too much request weight used; IP banned until {until_ms}. Please use WebSocket Streams."
        return error(418, -1003, msg, {"Retry-After": str(math.ceil(left))})

    def _index(self) -> dict[str, FakeCoin]:
        """Symbol -> coin (BTCUSDT, and the BTCUSDC and ETHBTC decoys), rebuilt when the market changes."""
        return self.per_version("index", lambda: self.market.pairs_on(self.exchange, _symbol, ("USDC", "BTC")))

    def _exchange_info_body(self) -> bytes:
        symbols = [
            symbol_info(name, coin.symbol, name.removeprefix(coin.symbol)) for name, coin in self._index().items()
        ]
        symbols.append(symbol_info("LUNAUSDT", "LUNA", "USDT", status="BREAK"))
        limits = [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
        ]
        body = {"timezone": "UTC", "serverTime": self.now_unix() * 1000, "rateLimits": limits, "exchangeFilters": []}
        return dumps(body | {"symbols": symbols})

    def _klines(self, params: Mapping[str, str], fault: Fault | None) -> Reply:
        if not params.get("symbol"):
            return error(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        coin = self._index().get(params["symbol"])
        if coin is None:
            return error(400, -1121, "Invalid symbol.")
        if params.get("interval") not in INTERVALS:
            return error(400, -1120, "Invalid interval.")
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
            start_ms = int(params["startTime"]) if "startTime" in params else None
            end_ms = int(params["endTime"]) if "endTime" in params else None
        except ValueError:
            return error(400, -1100, "Illegal characters found in a parameter.")
        if not 1 <= limit <= MAX_LIMIT:
            return error(400, -1130, "Data sent for parameter 'limit' is not valid.")
        if params["interval"] != "1d":
            return json_reply(b"[]")  # intraday trading is not modelled
        if fault is not None and fault is not Fault.TRUNCATED_JSON:
            return json_reply(self._daily_body(coin, start_ms, end_ms, limit, fault))
        # Visible klines change only at day boundaries, so the day is part of the key, not the second.
        today = self.now_unix() // DAY_S
        key = ("klines", self.market.version, params["symbol"], start_ms, end_ms, limit, today)
        return json_reply(self.cached(key, lambda: self._daily_body(coin, start_ms, end_ms, limit, None)))

    def _daily_body(
        self, coin: FakeCoin, start_ms: int | None, end_ms: int | None, limit: int, fault: Fault | None
    ) -> bytes:
        rows = coin.rows_on(self.exchange)
        now_ms = self.now_unix() * 1000
        last = bisect.bisect_right(
            rows, min(now_ms, end_ms if end_ms is not None else now_ms), key=lambda r: r[0] * 1000
        )
        if start_ms is None:
            first = max(0, last - limit)
        else:
            first = bisect.bisect_left(rows, start_ms, key=lambda r: r[0] * 1000)
            last = min(last, first + limit)
        shown = rows[first:last]
        venue = coin.venue(self.exchange)
        quiet = [venue is not None and venue.is_quiet(r[0]) for r in shown]
        previous_close = rows[first - 1][4] if first > 0 else (shown[0][1] if shown else 0.0)
        return dumps(klines(shown, quiet, previous_close, fault))
