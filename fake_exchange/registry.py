"""Which fake speaks each exchange's format: the one table `--offline`, `python -m fake_exchange` and tests read.

Entries are "module:Class" so that a fake is imported only when served.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from fake_exchange.server import FakeExchange

FAKES: Mapping[str, str] = {
    "kraken": "fake_exchange.kraken_server:FakeKraken",
    "bitstamp": "fake_exchange.bitstamp_server:FakeBitstamp",
    "bitfinex": "fake_exchange.bitfinex_server:FakeBitfinex",
    "coinbase": "fake_exchange.coinbase_server:FakeCoinbase",
    "binance": "fake_exchange.binance_server:FakeBinance",
}


def fake_class(exchange: str) -> type[FakeExchange]:
    """The fake of `exchange`; KeyError if there is none."""
    module, _, name = FAKES[exchange].partition(":")
    found: type[FakeExchange] = getattr(importlib.import_module(module), name)
    return found
