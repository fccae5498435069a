"""The adapters and fakes that every PriceSource contract runs over: one entry per exchange.

Each entry says how to build the adapter around a client and a fake clock, which
fake speaks its exchange, and the few names the shared contracts need (the
candle endpoint a data fault targets, a coin the exchange lacks).
"""

from __future__ import annotations

import contextlib
import functools
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from backends.binance import BinancePriceSource
from backends.bitfinex import BitfinexPriceSource
from backends.bitstamp import BitstampPriceSource
from backends.coinbase import CoinbasePriceSource
from backends.exchange_http import RetryPolicy, http_client
from backends.kraken import KrakenPriceSource
from common.errors import DelosError, ExchangeUnavailable, RateLimited
from common.ports import PriceSource
from fake_exchange.binance_server import FakeBinance
from fake_exchange.bitfinex_server import FakeBitfinex
from fake_exchange.bitstamp_server import FakeBitstamp
from fake_exchange.coinbase_server import FakeCoinbase
from fake_exchange.faults import Fault
from fake_exchange.kraken_server import FakeKraken
from fake_exchange.market import FakeCoin, Venue
from fake_exchange.ohlc import Row
from fake_exchange.server import FakeExchange

REPO = Path(__file__).resolve().parents[2]
# The moment the shared suite's fakes are frozen at; Coinbase walks back from it.
NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)


class FakeClock:
    """monotonic() and sleep() that never wait: sleeping only moves the clock and is recorded."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Build = Callable[..., PriceSource]
S = TypeVar("S", bound=PriceSource)

# Failures every exchange's fake can give and every adapter retries, with the error each ends in.
TRANSIENT: list[tuple[Fault, type[DelosError]]] = [
    (Fault.RATE_LIMIT, RateLimited),
    (Fault.HTTP_429, RateLimited),
    (Fault.SERVICE_UNAVAILABLE, ExchangeUnavailable),
    (Fault.HTTP_500, ExchangeUnavailable),
    (Fault.HTTP_503, ExchangeUnavailable),
    (Fault.TRUNCATED_JSON, ExchangeUnavailable),
    (Fault.HTML, ExchangeUnavailable),
]


@contextlib.contextmanager
def standalone_fake(*args: str) -> Iterator[str]:
    """`python -m fake_exchange` on a free port with `args`: yields its URL, then it must stop cleanly on SIGTERM."""
    command = [sys.executable, "-m", "fake_exchange", "--port", "0", *args]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            yield process.stdout.readline().strip()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def quick_source(
    build: Callable[..., S], url: str, clock: FakeClock, *, timeout_s: float = 2.0, rng: float = 1.0, **policy: float
) -> S:
    """An adapter at `url` that never waits: no spacing, three retries unless `policy` says otherwise."""
    options = {"request_interval_s": 0.0, "max_retries": 3} | policy
    return build(
        http_client(url, timeout_s),
        policy=RetryPolicy(**options),  # type: ignore[arg-type]
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        rng=functools.partial(float, rng),
    )


def venue_coin(exchange: str, symbol: str, rows: list[Row], quote: str = "USD", quiet_every: int = 0) -> FakeCoin:
    """A coin traded on `exchange` (pair `{symbol}ZUSD` in the market) from its first row, in `quote`."""
    venues = {exchange: Venue(rows[0][0], quote, quiet_every)}
    return FakeCoin(symbol, f"{symbol}ZUSD", f"{symbol}USD", None, symbol, "ZUSD", rows, venues=venues)


@dataclass(frozen=True)
class Case:
    """One exchange in the shared contract suite."""

    name: str
    fake: type[FakeExchange]
    build: Build  # (client, *, policy, sleep, monotonic, rng) -> the adapter
    candles_endpoint: str  # what FakeExchange.requests calls the daily-candle endpoint
    absent: str  # a sample coin this exchange does not list
    unknown_pair: str  # a pair name in the exchange's spelling that it does not have
    request_interval_s: float  # the adapter's default spacing
    btc_quote: str = "USD"  # what BTC is quoted in there (Binance has no USD pairs)
    pairs_weight: int = 1  # what the pair list costs against the fake's limit (Binance weighs requests)
    candle_weight: int = 1  # what one candle request costs


CASES: dict[str, Case] = {
    "kraken": Case("kraken", FakeKraken, KrakenPriceSource, "OHLC", "NOPE", "NOPEUSD", 1.0),
    "bitstamp": Case("bitstamp", FakeBitstamp, BitstampPriceSource, "ohlc", "ATOM", "nopeusd", 0.075),
    "bitfinex": Case("bitfinex", FakeBitfinex, BitfinexPriceSource, "candles", "ADA", "tNOPEUSD", 2.0),
    "coinbase": Case(
        "coinbase",
        FakeCoinbase,
        functools.partial(CoinbasePriceSource, now=lambda: NOW),
        "candles",
        "NOPE",
        "NOPE-USD",
        0.1,
    ),
    "binance": Case(
        "binance",
        FakeBinance,
        BinancePriceSource,
        "klines",
        "NOPE",
        "NOPEUSDT",
        0.05,
        "USDT",
        pairs_weight=20,
        candle_weight=2,
    ),
}
