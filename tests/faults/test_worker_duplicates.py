"""The same message delivered twice, or two workers refreshing the same coins at once: one identical final state."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from backends.sqlite_queue import SQLiteRefreshQueue
from common import messages
from fake_exchange import FakeKraken
from tests.e2e.harness import DelosProcess, wait_for
from tests.faults.helpers import facts, queue_counts, reference_facts, stored_rows

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]


def publish(data: Path, request: messages.RefreshRequest, copies: int) -> None:
    queue = SQLiteRefreshQueue(data / "queue.sqlite3")
    try:
        for _ in range(copies):
            queue.publish(messages.encode(request))
    finally:
        queue.close()


def test_two_workers_refreshing_the_same_coins_at_once_store_one_correct_document_each(
    embedded_env: dict[str, str], exchange: FakeKraken, data_dir: Path, tmp_path: Path
) -> None:
    symbols = sorted(coin.symbol for coin in exchange.market)
    # Forced, so that every copy recomputes and rewrites every coin while the other worker does the same.
    everything = messages.RefreshRequest(symbols=tuple(symbols), force=True)
    publish(data_dir, everything, copies=4)
    # A copy that fails once (a 1 s HTTP timeout on a busy machine) comes back within a second, not after
    # the production backoff of 10 s and more, which would outlast the waits below.
    env = {**embedded_env, "DELOS_RETRY_BACKOFF_MIN": "0.5", "DELOS_RETRY_BACKOFF_MAX": "1"}
    workers = [DelosProcess(["worker"], env, tmp_path / f"worker-{i}.log") for i in (1, 2)]
    try:
        wait_for(lambda: queue_counts(data_dir / "queue.sqlite3") == (0, 0), 60, "all four copies to be acked")
        stored = stored_rows(data_dir / "coins.sqlite3")
        assert sorted(stored) == symbols  # one row per coin, each parsed whole
        assert {s: facts(d) for s, d in stored.items()} == reference_facts(
            exchange.base_url, symbols, tmp_path / "reference"
        )
        assert all(stored[s]["symbol"] == s for s in symbols)

        # Delivered once more: the facts are unchanged, so nothing is rewritten, not even computed_at.
        handled_before = exchange.requests["OHLC"]
        publish(data_dir, messages.RefreshRequest(symbols=tuple(symbols)), copies=2)
        wait_for(lambda: queue_counts(data_dir / "queue.sqlite3") == (0, 0), 60, "the duplicates to be acked")
        assert exchange.requests["OHLC"] > handled_before  # they were really handled, not skipped
        assert stored_rows(data_dir / "coins.sqlite3") == stored
    finally:
        codes = [worker.stop(signal.SIGTERM) for worker in workers]
    assert codes == [0, 0], "\n".join(worker.logs() for worker in workers)
