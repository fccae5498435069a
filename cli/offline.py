"""The bundled sample exchange: synthetic history served over loopback in Kraken's format.

Answers computed from it go through the same HTTP code path as live ones and are
labelled sample data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime


@contextmanager
def sample_exchange() -> Iterator[str]:
    """Run the sample exchange on 127.0.0.1 for the duration; yields its base URL."""
    from fake_exchange.kraken_server import FakeKraken
    from fake_exchange.market import sample_market

    server = FakeKraken(sample_market(datetime.now(UTC)))
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
