"""The bundled sample exchanges: one synthetic market served over loopback in every exchange's own format.

Answers computed from it go through the same HTTP code path as live ones and
are labelled sample data. Each coin has its own listing day on each exchange
(fake_exchange.market), so `--offline` shows a multi-exchange answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime


@contextmanager
def sample_exchange() -> Iterator[Mapping[str, str]]:
    """Run every sample exchange on 127.0.0.1 for the duration; yields exchange -> base URL."""
    from fake_exchange.market import sample_market
    from fake_exchange.registry import FAKES, fake_class

    market = sample_market(datetime.now(UTC))
    with contextlib.ExitStack() as stack:
        urls = {}
        for exchange in FAKES:
            fake = fake_class(exchange)(market)
            urls[exchange] = fake.start()
            stack.callback(fake.stop)
        yield urls
