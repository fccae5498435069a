"""A synthetic in-memory market shaped like the exchanges' listings, for offline mode, tests and benchmarks.

Prices are seeded random walks, not real history: the app says so by marking
answers built from them as sample data. The sample dozen list on each exchange
roughly when the real ones did; synthetic coins are on Kraken and, a few days
later, on most others. The model (FakeCoin, Venue, FakeMarket) is in coins.py.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from fake_exchange.coins import FakeCoin, FakeMarket, LazyRows, Venue, day_start
from fake_exchange.ohlc import DAY_S, Row

__all__ = [
    "DEFAULT_SEED",
    "FakeCoin",
    "FakeMarket",
    "LazyRows",
    "Venue",
    "day_start",
    "random_walk",
    "sample_market",
    "synthetic_market",
]

DEFAULT_SEED = 20131006
DEFAULT_SYNTHETIC_DAYS = 800


def random_walk(
    rng: random.Random, first_day: int, days: int, start_price: float, end_price: float, daily_sigma: float
) -> list[Row]:
    """Daily candles of a geometric random walk pinned to start and end prices (a Brownian bridge in log price)."""
    # Whole columns at a time: this runs for every coin of a load test, so it is kept tight.
    gauss, exp = rng.gauss, math.exp
    walk = list(itertools.accumulate((gauss(0.0, daily_sigma) for _ in range(days)), initial=0.0))
    drift = (math.log(end_price / start_price) - walk[-1]) / days
    prices = [start_price * exp(w + drift * i) for i, w in enumerate(walk)]
    wick = daily_sigma / 2
    ups = [exp(abs(gauss(0.0, wick))) for _ in range(days)]
    downs = [exp(-abs(gauss(0.0, wick))) for _ in range(days)]
    volumes_usd = [2_000_000.0 * exp(gauss(0.0, 0.6)) for _ in range(days)]
    rows: list[Row] = []
    for day, (open_, close, up, down, volume_usd) in enumerate(
        zip(prices, prices[1:], ups, downs, volumes_usd, strict=False)
    ):
        high, low = (open_ if open_ > close else close) * up, (close if open_ > close else open_) * down
        vwap = (high + low + close) / 3
        rows.append(
            (first_day + day * DAY_S, open_, high, low, close, vwap, volume_usd / vwap, int(volume_usd / 900) + 1)
        )
    return rows


# Listing days per exchange other than Kraken, roughly as the real exchanges' first candles
# (EXCHANGE_APIS_2.md): None where the coin is absent. Binance pairs are USDT-quoted.
OTHER_EXCHANGES = ("bitstamp", "bitfinex", "coinbase", "binance")
_LISTINGS: Mapping[str, tuple[str | None, str | None, str | None, str | None]] = {
    "BTC": ("2011-09-13", "2013-04-01", "2014-12-01", "2017-08-17"),
    "ETH": ("2017-08-17", "2016-03-09", "2016-05-18", "2017-08-17"),
    "XRP": ("2017-01-20", "2017-05-20", "2019-02-27", "2018-05-04"),
    "LTC": ("2017-06-19", "2013-05-20", "2016-08-23", "2017-12-13"),
    "BCH": ("2017-12-05", "2017-08-01", "2017-12-20", "2017-11-28"),
    "ADA": ("2021-05-25", None, "2021-03-18", "2018-04-17"),
    "SOL": ("2022-03-01", "2021-06-10", "2021-06-24", "2020-08-11"),
    "DOT": ("2022-03-15", "2020-08-20", "2021-06-16", "2020-08-18"),
    "DOGE": ("2023-02-01", "2021-05-05", "2021-06-03", "2019-07-05"),
    "LINK": ("2020-06-01", "2019-06-01", "2019-06-27", "2019-01-16"),
    "XLM": ("2019-04-01", "2019-05-01", "2019-03-13", "2018-05-31"),
    "ATOM": (None, "2019-04-23", "2020-01-13", "2019-04-29"),
}
# Exchanges whose fakes have days without trades, and how often (every n-th day after listing).
QUIET_EVERY: Mapping[str, int] = {"bitstamp": 97, "bitfinex": 89}

# symbol, pair name, altname, wsname, base, listing day, start USD, end USD, daily sigma
_SAMPLE = (
    ("BTC", "XXBTZUSD", "XBTUSD", "XBT/USD", "XXBT", "2013-10-06", 120.0, 64_000.0, 0.04),
    ("ETH", "XETHZUSD", "ETHUSD", "ETH/USD", "XETH", "2015-08-07", 2.8, 3_100.0, 0.05),
    ("XRP", "XXRPZUSD", "XRPUSD", "XRP/USD", "XXRP", "2017-05-18", 0.2, 0.6, 0.05),
    ("LTC", "XLTCZUSD", "LTCUSD", "LTC/USD", "XLTC", "2013-10-24", 3.0, 85.0, 0.05),
    ("BCH", "BCHUSD", "BCHUSD", "BCH/USD", "BCH", "2017-08-01", 550.0, 380.0, 0.05),
    ("ADA", "ADAUSD", "ADAUSD", "ADA/USD", "ADA", "2017-10-01", 0.025, 0.45, 0.05),
    ("SOL", "SOLUSD", "SOLUSD", "SOL/USD", "SOL", "2021-06-01", 35.0, 150.0, 0.06),
    ("DOT", "DOTUSD", "DOTUSD", "DOT/USD", "DOT", "2020-08-18", 3.0, 6.5, 0.05),
    ("DOGE", "XDGUSD", "XDGUSD", "XDG/USD", "XXDG", "2019-07-01", 0.0027, 0.16, 0.06),
    ("LINK", "LINKUSD", "LINKUSD", "LINK/USD", "LINK", "2019-06-26", 1.0, 15.0, 0.05),
    ("XLM", "XXLMZUSD", "XLMUSD", "XLM/USD", "XXLM", "2018-02-01", 0.4, 0.12, 0.05),
    ("ATOM", "ATOMUSD", "ATOMUSD", "ATOM/USD", "ATOM", "2019-04-22", 5.0, 7.0, 0.05),
)


def _utc_day(iso: str) -> int:
    return day_start(datetime.fromisoformat(iso).replace(tzinfo=UTC))


def _early_walk(seed: int, symbol: str, first_day: int, kraken_day: int, end: float, sigma: float) -> list[Row]:
    # From a tenth of Kraken's opening price (coins were cheaper before), ending where Kraken's rows open.
    rng = random.Random(f"{seed}:{symbol}:early")  # noqa: S311  # nosec B311
    return random_walk(rng, first_day, (kraken_day - first_day) // DAY_S, end / 10, end, sigma)


def sample_market(now: datetime, *, seed: int = DEFAULT_SEED) -> FakeMarket:
    """A deterministic dozen well-known coins from their first listing anywhere up to the unfinished day of `now`.

    `daily` starts at the Kraken listing, as it always has; days traded elsewhere before it are in `early`.
    """
    today = day_start(now)
    coins = []
    for symbol, pair, altname, wsname, base, listed, start, end, sigma in _SAMPLE:
        first_day = _utc_day(listed)
        days = max(1, (today - first_day) // DAY_S + 1)
        # Seeded per symbol for reproducible made-up prices; nothing here is a secret.
        rng = random.Random(f"{seed}:{symbol}")  # noqa: S311  # nosec B311
        rows = LazyRows(functools.partial(random_walk, rng, first_day, days, start, end, sigma))
        venues = {"kraken": Venue(first_day)}
        for exchange, other in zip(OTHER_EXCHANGES, _LISTINGS[symbol], strict=True):
            if other is not None:
                quote = "USDT" if exchange == "binance" else "USD"
                venues[exchange] = Venue(_utc_day(other), quote, QUIET_EVERY.get(exchange, 0))
        earliest = min(v.listed for v in venues.values())
        early: Sequence[Row] = ()
        if earliest < first_day:
            early = LazyRows(functools.partial(_early_walk, seed, symbol, earliest, first_day, start, sigma))
        coins.append(FakeCoin(symbol, pair, altname, wsname, base, "ZUSD", rows, early=early, venues=venues))
    return FakeMarket(coins)


def synthetic_coin_symbol(index: int, n_coins: int) -> str:
    """C0001, C0002, ...: valid Delos symbols, zero-padded so they sort in listing order."""
    return f"C{index:0{max(4, len(str(n_coins)))}d}"


def synthetic_market(
    n_coins: int, now: datetime, *, days: int = DEFAULT_SYNTHETIC_DAYS, seed: int = DEFAULT_SEED
) -> FakeMarket:
    """`n_coins` made-up coins with `days` daily candles each up to `now`, generated lazily (load tests)."""
    today = day_start(now)
    first_day = today - (days - 1) * DAY_S
    coins = []
    for index in range(1, n_coins + 1):
        symbol = synthetic_coin_symbol(index, n_coins)
        # Seeded per symbol for reproducible made-up prices; nothing here is a secret.
        rng = random.Random(f"{seed}:{symbol}")  # noqa: S311  # nosec B311
        start = 10 ** rng.uniform(-3, 3)
        end = start * 10 ** rng.uniform(-1.5, 2.5)
        rows = LazyRows(functools.partial(random_walk, rng, first_day, days, start, end, 0.05))
        pair = f"{symbol}USD"
        coins.append(
            FakeCoin(
                symbol, pair, pair, f"{symbol}/USD", symbol, "ZUSD", rows, venues=_synthetic_venues(symbol, first_day)
            )
        )
    return FakeMarket(coins)


def _synthetic_venues(symbol: str, first_day: int) -> dict[str, Venue]:
    """Every synthetic coin is on Kraken from its first row; elsewhere a few days later, or absent (cheap, fixed)."""
    venues = {"kraken": Venue(first_day)}
    mix = zlib.crc32(symbol.encode())
    for offset, exchange in enumerate(OTHER_EXCHANGES):
        spread = (mix >> (offset * 4)) & 0xF  # 0..15, fixed per coin and exchange
        if spread < 13:  # about one coin in five is absent from each other exchange
            quote = "USDT" if exchange == "binance" else "USD"
            venues[exchange] = Venue(first_day + spread * DAY_S, quote, QUIET_EVERY.get(exchange, 0))
    return venues
