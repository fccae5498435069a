"""Local stand-ins for the exchanges' public REST APIs: one synthetic market, one server per exchange format."""

from fake_exchange.faults import Fault
from fake_exchange.kraken_server import FakeKraken
from fake_exchange.limits import RateLimit
from fake_exchange.market import FakeCoin, FakeMarket, Venue, sample_market, synthetic_market
from fake_exchange.ohlc import Row
from fake_exchange.server import FakeExchange

__all__ = [
    "FakeCoin",
    "FakeExchange",
    "FakeKraken",
    "FakeMarket",
    "Fault",
    "RateLimit",
    "Row",
    "Venue",
    "sample_market",
    "synthetic_market",
]
