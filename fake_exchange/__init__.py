"""A local stand-in for Kraken's public REST API: a synthetic market and an HTTP server that speaks its format."""

from fake_exchange.kraken_server import FakeKraken, Fault
from fake_exchange.market import FakeCoin, FakeMarket, sample_market, synthetic_market
from fake_exchange.ohlc import Row

__all__ = ["FakeCoin", "FakeKraken", "FakeMarket", "Fault", "Row", "sample_market", "synthetic_market"]
