"""The worker process under poison messages and SIGTERM: it never crash-loops, and loses nothing when stopped."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backends.sqlite_queue import SQLiteRefreshQueue
from common import messages
from fake_exchange import FakeKraken, Fault, sample_market
from tests.e2e.harness import KRAKEN_ONLY, DelosProcess, delos_env, wait_for
from tests.faults.helpers import queue_counts, rss_kib, stored_rows

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

MIB = 1024


def refresh(symbol: str) -> bytes:
    return messages.encode(messages.RefreshRequest(symbols=(symbol,)))


def poison() -> list[bytes]:
    """Bodies no worker can ever process, and floods of symbols no exchange lists."""
    megabyte = 1024 * 1024
    unknown = [f"ZQ{i:04d}" for i in range(1000)]
    return [
        b"not json",
        b"{",
        b"",
        b"null",
        b"[]",
        b"\xff\xfe\x00garbage",
        b'{"symbols": 5}',
        b'{"symbols": [1, 2]}',
        b'{"all": "yes"}',
        b'{"symbols": ["BTC"], "force": "true"}',
        b'{"symbols": ["../etc/passwd", "BTC/USD", "\\u0000"]}',
        b'{"symbols": [], "all": false}',
        b'{"delete": true}',
        b"[" * 100_000,
        os.urandom(megabyte),
        b'{"symbols": ["' + b"A" * megabyte + b'"]}',
        messages.encode(messages.RefreshRequest(symbols=tuple(f"ZX{i:04d}" for i in range(5000)))),
        messages.encode(messages.RefreshRequest(symbols=tuple(unknown))),
        messages.encode(messages.RefreshRequest(symbols=tuple(reversed(unknown)))),
    ]


def test_poison_messages_are_dropped_and_the_worker_keeps_serving_good_ones_in_bounded_memory(
    embedded_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    queue = SQLiteRefreshQueue(data_dir / "queue.sqlite3")
    worker = DelosProcess(["worker"], embedded_env, tmp_path / "worker.log")
    try:
        queue.publish(refresh("BTC"))
        wait_for(lambda: "BTC" in stored_rows(data_dir / "coins.sqlite3"), 30, "a first good message")
        before = rss_kib(worker.proc.pid)
        for body in poison():
            queue.publish(body)
        queue.publish(refresh("ETH"))
        wait_for(lambda: "ETH" in stored_rows(data_dir / "coins.sqlite3"), 60, "a good message after the poison")
        wait_for(lambda: queue_counts(data_dir / "queue.sqlite3") == (0, 0), 60, "every message to be settled")
        assert worker.proc.poll() is None, "the worker died"
        after = rss_kib(worker.proc.pid)
        assert after - before < 64 * MIB, f"RSS grew from {before} KiB to {after} KiB"
        assert sorted(stored_rows(data_dir / "coins.sqlite3")) == ["BTC", "ETH"]
    finally:
        queue.close()
        code = worker.stop(signal.SIGTERM)
    logs = worker.logs()
    assert code == 0, logs
    assert logs.count("dropping invalid message") == 17
    assert "ignoring ZQ0999: no enabled exchange has a pair for this symbol" in logs
    assert "Traceback" not in logs
    # Nothing of the megabyte bodies is echoed into the logs.
    assert "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" not in logs and len(logs) < 2 * 1024 * 1024


def message_attempts(queue_db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(queue_db, timeout=5)) as connection:
        rows = connection.execute("SELECT body, delivery_attempt FROM messages").fetchall()
    return {messages.decode(bytes(body)).symbols[0]: int(attempts) for body, attempts in rows}


@pytest.fixture
def slow_exchange() -> Iterator[FakeKraken]:
    """Hangs outlast the worker's 8 s shutdown grace, so that the in-flight message has to be released."""
    fake = FakeKraken(sample_market(datetime.now(UTC)), hang_s=20.0)
    fake.start()
    yield fake
    fake.stop()


def test_sigterm_while_busy_releases_the_in_flight_message_takes_no_new_one_and_exits_0(
    slow_exchange: FakeKraken, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = delos_env(
        {
            **KRAKEN_ONLY,
            "DELOS_DATA_DIR": str(data),
            "DELOS_KRAKEN_URL": slow_exchange.base_url,
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_HTTP_TIMEOUT": "30",
            "DELOS_MAX_OUTSTANDING": "1",
        }
    )
    slow_exchange.inject(Fault.HANG, times=1, path="OHLC", pair="XETHZUSD")
    queue = SQLiteRefreshQueue(data / "queue.sqlite3")
    queue.publish(refresh("ETH"))
    queue.publish(refresh("BTC"))
    queue.close()

    busy = DelosProcess(["worker"], env, tmp_path / "worker-1.log")
    try:
        wait_for(lambda: slow_exchange.requests["OHLC"] >= 1, 30, "the worker to be stuck on ETH")
        time.sleep(0.3)
        started = time.monotonic()
        code = busy.stop(signal.SIGTERM, timeout_s=10.0)
        took = time.monotonic() - started
    finally:
        busy.kill()
    assert code == 0, f"exit code {code} after {took:.1f} s:\n{busy.logs()}"
    assert took < 10.0, f"exited 0 but {took:.1f} s after SIGTERM:\n{busy.logs()}"
    assert "releasing 1 unfinished refresh message(s) for redelivery" in busy.logs()
    # ETH was released for redelivery; BTC, queued behind it, was never taken.
    assert message_attempts(data / "queue.sqlite3") == {"ETH": 1, "BTC": 0}
    assert stored_rows(data / "coins.sqlite3") == {}

    again = DelosProcess(["worker"], env, tmp_path / "worker-2.log")
    try:
        wait_for(lambda: queue_counts(data / "queue.sqlite3") == (0, 0), 30, "both messages to be handled")
        assert sorted(stored_rows(data / "coins.sqlite3")) == ["BTC", "ETH"]
    finally:
        assert again.stop(signal.SIGTERM) == 0, again.logs()
