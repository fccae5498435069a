"""FakeCoinbase: Coinbase Exchange's public `/products` and `/products/{id}/candles` on 127.0.0.1.

Candles are `[time, low, high, open, close, volume]` numbers, newest first, at
most 300 per call, and days without trades are left out, as Coinbase does.
Besides each coin's own product (`BTC-USD`), decoys a pair filter must skip
are listed: a EUR product, a USDT one beside the USD one, and a delisted one.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fake_exchange.faults import Fault
from fake_exchange.limits import RateLimit
from fake_exchange.market import FakeCoin
from fake_exchange.ohlc import DAY_S, Row
from fake_exchange.server import DATA_FAULTS, FakeExchange
from fake_exchange.wire import Reply, decimals, dumps, json_reply

__all__ = ["FakeCoinbase"]

GRANULARITIES = frozenset({60, 300, 900, 3600, 21600, 86400})
MAX_CANDLES = 300
TOO_MANY = "granularity too small for the requested time range. Count of aggregations requested exceeds 300"


def message(status: int, text: str) -> Reply:
    """Coinbase's error shape: an HTTP status and `{"message": ...}`."""
    return json_reply(dumps({"message": text}), status)


def product(product_id: str, base: str, quote: str, status: str = "online") -> dict[str, Any]:
    """One `/products` entry, with the fields the real one carries."""
    return {
        "id": product_id,
        "base_currency": base,
        "quote_currency": quote,
        "quote_increment": "0.00001",
        "base_increment": "0.00000001",
        "display_name": f"{base}/{quote}",
        "min_market_funds": "1",
        "margin_enabled": False,
        "post_only": False,
        "limit_only": False,
        "cancel_only": False,
        "status": status,
        "status_message": "",
        "trading_disabled": status != "online",
        "fx_stablecoin": False,
        "max_slippage_percentage": "0.03000000",
        "auction_mode": False,
        "high_bid_limit_percentage": "",
    }


def candle_rows(rows: Sequence[Row], places: int, fault: Fault | None) -> list[list[Any]]:
    """`[[time, low, high, open, close, volume], ...]` newest first; a data fault alters them."""
    out: list[list[Any]] = [
        [t, round(low, places), round(high, places), round(open_, places), round(close, places), round(volume, 8)]
        for t, open_, high, low, close, _vwap, volume, _count in reversed(rows)
    ]
    if fault is Fault.EMPTY:
        return []
    if out and fault is Fault.NON_NUMERIC:
        out[-1][4] = "n/a"
    if out and fault is Fault.NEGATIVE:
        out[0][4] = -out[0][4]
    if fault is Fault.REORDERED:
        out.reverse()
    return out


def parse_time(raw: str) -> int:
    """ISO 8601 (`2026-03-04T00:00:00Z`, with or without fraction) or unix seconds, as Coinbase accepts."""
    if raw.lstrip("-").isdigit():
        return int(raw)
    return int(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp())


class FakeCoinbase(FakeExchange):
    """A Coinbase Exchange look-alike serving the market's coins that trade on Coinbase."""

    exchange = "coinbase"
    # Public endpoints: 10 requests per second per IP, bursts up to 15 (Coinbase's rate-limit page):
    # 15 in any 1.5 s allows the burst and holds the sustained rate to 10 a second.
    published_limit = RateLimit(15, 1.5)
    faults = DATA_FAULTS

    def endpoint(self, path: str) -> str | None:
        parts = path.strip("/").split("/")
        if parts == ["products"]:
            return "products"
        if len(parts) == 3 and parts[0] == "products" and parts[2] == "candles":
            return "candles"
        return None

    def is_data(self, endpoint: str) -> bool:
        return endpoint == "candles"

    def pair_names(self, path: str, params: Mapping[str, str]) -> tuple[str, ...]:
        parts = path.strip("/").split("/")
        return (parts[1],) if len(parts) == 3 else ()

    def fault_reply(self, fault: Fault, retry_after_s: int) -> Reply | None:
        if fault is Fault.RATE_LIMIT:
            return self.rate_limited()
        if fault is Fault.SERVICE_UNAVAILABLE:
            return message(503, "Service Unavailable")
        if fault is Fault.INVALID_ARGUMENTS:
            return message(400, "Unsupported granularity")
        if fault is Fault.VANISHED:
            return message(404, "NotFound")
        return super().fault_reply(fault, retry_after_s)

    def rate_limited(self) -> Reply:
        return message(429, "Public rate limit exceeded")

    def not_found(self) -> Reply:
        return message(404, "route not found")

    def answer(self, endpoint: str, path: str, params: Mapping[str, str], fault: Fault | None) -> Reply:
        if endpoint == "products":
            return json_reply(self.cached(("products", self.market.version), self._products_body))
        return self._candles(path.strip("/").split("/")[1], params, fault)

    def _index(self) -> dict[str, FakeCoin]:
        """Product id -> coin, rebuilt when the market changes (benchmarks list thousands of coins)."""
        return self.per_version(
            "index", lambda: self.market.pairs_on(self.exchange, lambda base, quote: f"{base}-{quote}", ("EUR", "USDT"))
        )

    def _products_body(self) -> bytes:
        products = []
        for product_id in self._index():
            base, quote = product_id.split("-", 1)
            products.append(product(product_id, base, quote))
        products.append(product("LUNA-USD", "LUNA", "USD", status="delisted"))
        return dumps(products)

    def _candles(self, product_id: str, params: Mapping[str, str], fault: Fault | None) -> Reply:
        coin = self._index().get(product_id)
        if coin is None:
            return message(404, "NotFound")
        try:
            granularity = int(params.get("granularity", "60"))
            start = parse_time(params["start"]) if "start" in params else None
            end = parse_time(params["end"]) if "end" in params else None
        except (ValueError, OverflowError):
            return message(400, "Invalid start or end, or granularity")
        if granularity not in GRANULARITIES:
            return message(400, "Unsupported granularity")
        now = self.now_unix()
        if start is None or end is None:  # either one missing: both ignored, the range ends now
            start, end = now - (MAX_CANDLES - 1) * granularity, now
        if start > end:
            return message(400, "start must be before end")
        if (end - start) // granularity > MAX_CANDLES:
            return message(400, TOO_MANY)
        if granularity != DAY_S:
            return json_reply(b"[]")  # intraday trading is not modelled
        end = min(end, now)
        if fault is not None and fault is not Fault.TRUNCATED_JSON:
            return json_reply(self._daily_body(coin, start, end, fault))
        # Visible candles change only at day boundaries, so the day is part of the key, not the second.
        key = ("candles", self.market.version, product_id, start, end - end % DAY_S if end == now else end)
        return json_reply(self.cached(key, lambda: self._daily_body(coin, start, end, None)))

    def _daily_body(self, coin: FakeCoin, start: int, end: int, fault: Fault | None) -> bytes:
        rows = coin.rows_on(self.exchange)
        first = bisect.bisect_left(rows, start - start % DAY_S, key=lambda r: r[0])
        last = bisect.bisect_right(rows, end, key=lambda r: r[0])
        venue = coin.venue(self.exchange)
        shown = [r for r in rows[first:last] if venue is None or not venue.is_quiet(r[0])][-MAX_CANDLES:]
        return dumps(candle_rows(shown, decimals(r[3] for r in shown), fault))
