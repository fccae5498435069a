"""Every exchange Delos reads, as loopback fakes over one market: for tests about the whole system.

Each fake binds 127.0.0.1 port 0 and reports the URL it got (`FakeExchange.start`);
`env()` turns them into the DELOS_<EXCHANGE>_URL settings of a child process.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from common.exchanges import LIVE_EXCHANGES
from fake_exchange import FakeExchange, FakeMarket
from fake_exchange.registry import fake_class
from tests.e2e.harness import exchange_urls


class Exchanges(Mapping[str, FakeExchange]):
    """The running fakes by exchange name, in DELOS_EXCHANGES' default order."""

    def __init__(self, fakes: Mapping[str, FakeExchange]) -> None:
        self._fakes = dict(fakes)

    def __getitem__(self, name: str) -> FakeExchange:
        return self._fakes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fakes)

    def __len__(self) -> int:
        return len(self._fakes)

    @property
    def market(self) -> FakeMarket:
        return next(iter(self._fakes.values())).market

    def env(self) -> dict[str, str]:
        """DELOS_<EXCHANGE>_URL of every fake."""
        return exchange_urls({name: fake.base_url for name, fake in self._fakes.items()})


@contextmanager
def running_exchanges(market: FakeMarket, **options: Any) -> Iterator[Exchanges]:
    """One fake per live exchange serving `market` (options as FakeExchange takes them), stopped on exit."""
    with ExitStack() as stack:
        fakes = {}
        for name in LIVE_EXCHANGES:
            fake = fake_class(name)(market, **options)
            fake.start()
            stack.callback(fake.stop)
            fakes[name] = fake
        yield Exchanges(fakes)
