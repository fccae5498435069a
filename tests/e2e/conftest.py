"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from fake_exchange import FakeKraken, sample_market
from tests.e2e.exchanges import Exchanges, running_exchanges


@pytest.fixture
def exchange() -> Iterator[FakeKraken]:
    """A loopback exchange speaking Kraken's format, over the sample market of today."""
    fake = FakeKraken(sample_market(datetime.now(UTC)))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def exchanges() -> Iterator[Exchanges]:
    """All five exchanges on loopback, each in its own format, over one sample market of today."""
    with running_exchanges(sample_market(datetime.now(UTC))) as running:
        yield running
