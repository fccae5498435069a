"""A new user's first `delos run --offline` always answers; a thread of it that dies stops it with one line."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from backends.sqlite_queue import SQLiteRefreshQueue
from backends.sqlite_store import SQLiteCoinStore
from cli.run import serve_all
from common.exchanges import LIVE_EXCHANGES
from common.ports import Delivery, Verdict
from common.settings import Settings
from tests.e2e.harness import NO_EXCHANGE, DelosProcess, answered, delos_env, wait_for
from tests.faults.processes import bound_target

pytestmark = [pytest.mark.faults]

FRESH_STARTS = 10


@pytest.mark.timeout(FRESH_STARTS * 40)
def test_ten_fresh_offline_runs_on_empty_data_dirs_all_answer(tmp_path: Path) -> None:
    seconds: list[float] = []
    for attempt in range(FRESH_STARTS):
        env = delos_env({"DELOS_DATA_DIR": str(tmp_path / f"data-{attempt}"), "PORT": "0"})
        started = time.monotonic()
        run = DelosProcess(["run", "--offline"], env, tmp_path / f"run-{attempt}.log")
        try:
            target = bound_target(run)
            wait_for(lambda: answered(target, "BTC"), 30, f"start {attempt}: BTC answered", 0.2)  # noqa: B023
            wait_for(lambda: answered(target, "ATOM"), 30, f"start {attempt}: the last coin answered", 0.2)  # noqa: B023
            seconds.append(time.monotonic() - started)
        finally:
            code = run.stop(signal.SIGTERM, timeout_s=20)
        assert code == 0, run.logs()
        assert "Traceback" not in run.logs() and "database is locked" not in run.logs()
        for name in ("coins.sqlite3-wal", "queue.sqlite3-wal"):  # a clean stop folds the WAL into the file
            wal = tmp_path / f"data-{attempt}" / "sample" / name
            assert not wal.exists() or wal.stat().st_size == 0
    print(f"\nFIGURES first start x{FRESH_STARTS}: all answered; seconds to every coin answered {seconds}")


ROUNDS = 50
OPENERS = 4


@pytest.mark.timeout(120)
def test_threads_opening_a_fresh_database_at_once_never_fail(tmp_path: Path) -> None:
    """The root cause of lost first starts: concurrent first opens racing on journal_mode and the schema."""
    errors: list[str] = []
    for round_ in range(ROUNDS):
        folder = tmp_path / f"round-{round_}"
        barrier = threading.Barrier(OPENERS)

        def open_both(folder: Path = folder, barrier: threading.Barrier = barrier) -> None:
            barrier.wait(timeout=10)
            try:
                queue = SQLiteRefreshQueue(folder / "queue.sqlite3")
                queue.publish(b'{"all": true}')
                queue.close()
                SQLiteCoinStore(folder / "coins.sqlite3").close()
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        openers = [threading.Thread(target=open_both) for _ in range(OPENERS)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(timeout=30)
        assert not any(opener.is_alive() for opener in openers)
        assert SQLiteRefreshQueue(folder / "queue.sqlite3").pending() == OPENERS
    assert errors == []


class BrokenQueue:
    """A queue whose consumer fails at once, as a worker thread meeting a bug or a lost file would."""

    def publish(self, body: bytes, attributes: object = None) -> str:
        return "1"

    def consume(self, handler: Callable[[Delivery], Verdict], stop: threading.Event) -> None:
        raise RuntimeError("queue.sqlite3 vanished")


@pytest.mark.timeout(60)
def test_a_dying_worker_thread_stops_delos_run_with_what_died(tmp_path: Path) -> None:
    store = SQLiteCoinStore(tmp_path / "coins.sqlite3")
    settings = Settings(data_dir=tmp_path, port=0, exchange_urls=dict.fromkeys(LIVE_EXCHANGES, NO_EXCHANGE))
    try:
        failure = asyncio.run(asyncio.wait_for(serve_all(settings, store, BrokenQueue(), False), 30))
    finally:
        store.close()
    assert failure == "the worker thread died: RuntimeError: queue.sqlite3 vanished"
