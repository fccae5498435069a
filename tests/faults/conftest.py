"""Fixtures of the fault scenarios: a loopback exchange and an embedded Delos environment for real processes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fake_exchange import FakeKraken, sample_market
from tests.e2e.harness import KRAKEN_ONLY, delos_env


@pytest.fixture
def exchange() -> Iterator[FakeKraken]:
    """The sample dozen coins on a loopback Kraken; hangs are short so that stopping it is quick."""
    fake = FakeKraken(sample_market(datetime.now(UTC)), hang_s=3.0)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def embedded_env(exchange: FakeKraken, data_dir: Path) -> dict[str, str]:
    """Settings of a fast embedded Delos against the loopback Kraken alone (no archive, so every listing is
    final): no throttle, short timeouts and leases. PORT=0: a server reports its port (DelosProcess.target)."""
    return delos_env(
        {
            **KRAKEN_ONLY,
            "DELOS_BACKEND": "embedded",
            "DELOS_DATA_DIR": str(data_dir),
            "DELOS_KRAKEN_URL": exchange.base_url,
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_HTTP_TIMEOUT": "1",
            "DELOS_MAX_RETRIES": "2",
            "DELOS_BACKOFF_BASE": "0.01",
            "DELOS_BACKOFF_CAP": "0.05",
            "DELOS_ACK_DEADLINE": "3",
            "DELOS_POLL_INTERVAL": "0.1",
            "PORT": "0",
        }
    )
