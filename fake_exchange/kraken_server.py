"""FakeKraken: Kraken's public AssetPairs, OHLC and Trades endpoints on 127.0.0.1, with injectable faults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from fake_exchange import kraken_wire
from fake_exchange.faults import Fault
from fake_exchange.limits import RateLimit
from fake_exchange.market import FakeCoin
from fake_exchange.ohlc import DAILY_MINUTES, DAY_S, KRAKEN_INTERVALS, ohlc_answer
from fake_exchange.server import FakeExchange
from fake_exchange.trades import NS, trades_since
from fake_exchange.wire import Reply, decimals, json_reply

__all__ = ["FakeKraken", "Fault"]

PREFIX = "/0/public/"
ENDPOINTS = ("AssetPairs", "OHLC", "Trades")
# Read by cached(): benchmarks raise it to hold every coin's answer.
CACHE_ENTRIES = 512
# Seconds or nanoseconds: Kraken's `since` for Trades takes either; below this it is seconds.
_NS_CUTOFF = 10**12


class FakeKraken(FakeExchange):
    """A Kraken look-alike serving the market's coins that trade on Kraken."""

    exchange = "kraken"
    # "1 call per second for public methods" (Kraken support, 2017; ccxt throttles the same).
    published_limit = RateLimit(1, 1.0)
    faults: ClassVar[frozenset[Fault]] = frozenset(Fault)
    trades_page = 1000

    def endpoint(self, path: str) -> str | None:
        name = path.removeprefix(PREFIX)
        return name if path.startswith(PREFIX) and name in ENDPOINTS else None

    def is_data(self, endpoint: str) -> bool:
        return endpoint in ("OHLC", "Trades")

    def pair_names(self, path: str, params: Mapping[str, str]) -> tuple[str, ...]:
        coin = self._find(params.get("pair", ""))
        return (params.get("pair", ""),) + ((coin.pair_name, coin.altname) if coin else ())

    def fault_reply(self, fault: Fault, retry_after_s: int) -> Reply | None:
        return kraken_wire.fault_reply(fault, retry_after_s)

    def rate_limited(self) -> Reply:
        return kraken_wire.kraken_error(200, "EAPI:Rate limit exceeded")

    def not_found(self) -> Reply:
        return kraken_wire.kraken_error(404, "EGeneral:Unknown method")

    def cache_entries(self) -> int:
        return CACHE_ENTRIES

    def answer(self, endpoint: str, path: str, params: Mapping[str, str], fault: Fault | None) -> Reply:
        if endpoint == "AssetPairs":
            return self._asset_pairs(params)
        if endpoint == "Trades":
            return self._trades(params, fault)
        return self._ohlc(params, fault)

    def _find(self, name: str) -> FakeCoin | None:
        coin = self.market.find(name)
        return coin if coin is not None and coin.venue("kraken") is not None else None

    def _asset_pairs(self, params: Mapping[str, str]) -> Reply:
        wanted = [name for name in params.get("pair", "").split(",") if name]
        found = [self._find(name) for name in wanted]
        if any(coin is None for coin in found):
            return kraken_wire.kraken_error(200, "EQuery:Unknown asset pair")
        coins = [c for c in found if c is not None] if wanted else [c for c in self.market if c.venue("kraken")]
        key = ("AssetPairs", self.market.version, tuple(wanted))
        return json_reply(self.cached(key, lambda: kraken_wire.asset_pairs_body(coins)))

    def _ohlc(self, params: Mapping[str, str], fault: Fault | None) -> Reply:
        try:
            interval = int(params.get("interval", "1"))
            since = int(params["since"]) if "since" in params else None
        except ValueError:
            return kraken_wire.kraken_error(200, "EGeneral:Invalid arguments")
        if "pair" not in params or interval not in KRAKEN_INTERVALS:
            return kraken_wire.kraken_error(200, "EGeneral:Invalid arguments")
        coin = self._find(params["pair"])
        if coin is None:
            return kraken_wire.kraken_error(200, "EQuery:Unknown asset pair")
        now_unix = self.now_unix()

        def build() -> bytes:
            rows = coin.rows_on("kraken")
            places = self.per_version(f"places:{coin.pair_name}", lambda: decimals(r[3] for r in rows))
            answer = ohlc_answer(rows, interval, now_unix, since)
            return kraken_wire.ohlc_body(coin.pair_name, answer, fault, places)

        if (fault is not None and fault is not Fault.TRUNCATED_JSON) or interval < DAILY_MINUTES:
            return json_reply(build())
        # Visible candles change only at day boundaries, so the day is part of the key, not the second.
        key = ("OHLC", self.market.version, coin.pair_name, interval, since, now_unix - now_unix % DAY_S)
        return json_reply(self.cached(key, build))

    def _trades(self, params: Mapping[str, str], fault: Fault | None) -> Reply:
        try:
            since = int(params.get("since", "0"))
        except ValueError:
            return kraken_wire.kraken_error(200, "EGeneral:Invalid arguments")
        coin = self._find(params.get("pair", ""))
        if coin is None:
            return kraken_wire.kraken_error(200, "EQuery:Unknown asset pair")
        since_ns = since if since >= _NS_CUTOFF else since * NS
        trades, last = trades_since(coin.rows_on("kraken"), since_ns, self.now_unix() * NS, self.trades_page)
        return json_reply(kraken_wire.trades_body(coin.pair_name, trades, last, fault))
