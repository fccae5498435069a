"""A worker killed with SIGKILL in the middle of a refresh of many coins loses nothing once restarted."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore, pubsub_v1

from backends.pubsub_queue import ensure_topic_and_subscription
from backends.sqlite_queue import SQLiteRefreshQueue
from common import messages
from common.document import from_dict, to_dict
from fake_exchange import FakeKraken, synthetic_market
from tests.e2e.expected import expected_for
from tests.e2e.harness import KRAKEN_ONLY, DelosProcess, delos_env, wait_for
from tests.faults.helpers import facts, queue_counts, reference_facts, stored_rows

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

N_COINS = 30
# Throttling the worker's requests spreads the refresh over a few seconds, so the kill lands mid-way.
REQUEST_INTERVAL_S = "0.04"


@pytest.fixture
def market_exchange() -> Iterator[FakeKraken]:
    fake = FakeKraken(synthetic_market(N_COINS, datetime.now(UTC)))
    fake.start()
    yield fake
    fake.stop()


def symbols_of(exchange: FakeKraken) -> list[str]:
    return sorted(coin.symbol for coin in exchange.market)


def kill_mid_way(worker: DelosProcess, progress: Any, total: int) -> int:
    """SIGKILL the worker once some but not all coins are stored; returns how many were."""
    done = wait_for(lambda: (n := progress()) >= total // 4 and n, 60, "a quarter of the coins to be stored", 0.02)
    worker.kill()
    assert done < total, f"the kill came too late: all {total} coins were already stored"
    return int(done)


def test_embedded_worker_killed_mid_refresh_converges_after_restart(
    market_exchange: FakeKraken, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = delos_env(
        {
            **KRAKEN_ONLY,
            "DELOS_DATA_DIR": str(data),
            "DELOS_KRAKEN_URL": market_exchange.base_url,
            "DELOS_REQUEST_INTERVAL": REQUEST_INTERVAL_S,
            "DELOS_ACK_DEADLINE": "2",
            "DELOS_MAX_OUTSTANDING": "2",
        }
    )
    symbols = symbols_of(market_exchange)
    queue = SQLiteRefreshQueue(data / "queue.sqlite3")
    for symbol in symbols:  # one message per coin, as the fan-out publishes them
        queue.publish(messages.encode(messages.RefreshRequest(symbols=(symbol,))))
    queue.close()

    first = DelosProcess(["worker"], env, tmp_path / "worker-1.log")
    try:
        stored_before_kill = kill_mid_way(first, lambda: len(stored_rows(data / "coins.sqlite3")), N_COINS)
    finally:
        first.kill()
        first.stop()  # closes its log
    assert queue_counts(data / "queue.sqlite3")[0] > 0

    second = DelosProcess(["worker"], env, tmp_path / "worker-2.log")
    try:
        wait_for(lambda: queue_counts(data / "queue.sqlite3") == (0, 0), 60, "every message to be acked")
    finally:
        assert second.stop(signal.SIGTERM) == 0, second.logs()

    stored = stored_rows(data / "coins.sqlite3")
    expected = reference_facts(market_exchange.base_url, symbols, tmp_path / "reference")
    assert sorted(stored) == symbols, f"killed after {stored_before_kill} coins"
    assert {symbol: facts(doc) for symbol, doc in stored.items()} == expected
    coin = market_exchange.market.by_symbol(symbols[-1])
    independent = expected_for(coin, datetime.now(UTC).timestamp())
    assert stored[coin.symbol]["listing"]["price_usd"] == pytest.approx(independent.listing_price, rel=1e-5)
    assert stored[coin.symbol]["as_of"] == independent.as_of


def firestore_facts(client: firestore.Client) -> dict[str, dict[str, Any]]:
    """Each stored document in the embedded store's (JSON) form: Firestore holds its packed numbers as bytes."""
    snapshots = client.collection("coins").stream(timeout=10)
    return {snapshot.id: facts(to_dict(from_dict(snapshot.to_dict() or {}))) for snapshot in snapshots}


@pytest.mark.timeout(300)
def test_gcp_worker_killed_mid_refresh_converges_after_restart(
    pubsub_emulator: str, firestore_emulator: str, market_exchange: FakeKraken, tmp_path: Path
) -> None:
    project = f"delos-faults-{uuid.uuid4().hex[:8]}"
    ensure_topic_and_subscription(project, "delos-refresh", "delos-ingest", ack_deadline_s=10)
    env = delos_env(
        {
            **KRAKEN_ONLY,
            "DELOS_BACKEND": "gcp",
            "GOOGLE_CLOUD_PROJECT": project,
            "PUBSUB_EMULATOR_HOST": pubsub_emulator,
            "FIRESTORE_EMULATOR_HOST": firestore_emulator,
            "DELOS_KRAKEN_URL": market_exchange.base_url,
            "DELOS_REQUEST_INTERVAL": REQUEST_INTERVAL_S,
            "DELOS_MAX_OUTSTANDING": "2",
        }
    )
    symbols = symbols_of(market_exchange)
    publisher = pubsub_v1.PublisherClient()
    try:
        topic = publisher.topic_path(project, "delos-refresh")
        futures = [publisher.publish(topic, json.dumps({"symbols": [s]}).encode()) for s in symbols]
        for future in futures:
            future.result(timeout=30)
    finally:
        publisher.stop()

    client = firestore.Client(project=project)
    first = DelosProcess(["worker"], {**env, "DELOS_REQUEST_INTERVAL": "0.1"}, tmp_path / "worker-1.log")
    try:
        kill_mid_way(first, lambda: len(list(client.collection("coins").list_documents())), N_COINS)
    finally:
        first.kill()
        first.stop()  # closes its log

    second = DelosProcess(["worker"], env, tmp_path / "worker-2.log")
    try:
        # Messages the killed worker held come back once their lease runs out: the subscription's 10 s
        # ack deadline, or the stream's deadline the client library set (up to ~90 s seen here).
        wait_for(lambda: len(firestore_facts(client)) == N_COINS, 180, "every coin to be stored", 0.5)
    finally:
        assert second.stop(signal.SIGTERM) == 0, second.logs()

    expected = reference_facts(market_exchange.base_url, symbols, tmp_path / "reference")
    try:
        assert firestore_facts(client) == expected
    finally:
        client.close()  # type: ignore[no-untyped-call]
