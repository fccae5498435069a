"""An exchange outage longer than a few retries: the refresh waits it out within the queue's time budget, and
past the budget it is dead-lettered whole, ready for a replay. Real worker process, loopback exchange, the
embedded queue's file; the budget is shrunk by settings (6 s instead of 20 minutes) and the outage with it."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from backends.sqlite_queue import SQLiteRefreshQueue
from common import messages
from common.ports import Delivery
from fake_exchange import FakeKraken, Fault
from tests.e2e.harness import DelosProcess, wait_for
from tests.faults.helpers import queue_counts, stored_rows

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]

COIN, COIN_PAIR = "ETH", "XETHZUSD"
BUDGET_S = 8.0
# Deliveries come about 0, 0.45, 1.1, 2.3, 3.5, 4.7, 5.9 ... s after the first (backoff plus the queue's poll):
# five attempts (the count alone) are used up within 4 s, so an outage of 5 s from the first delivery is longer
# than the count allows and well within the time.
SHRUNK_RETRIES = {
    "DELOS_RETRY_BACKOFF_MIN": "0.25",
    "DELOS_RETRY_BACKOFF_MAX": "1",
    "DELOS_RETRY_BUDGET": str(BUDGET_S),
    "DELOS_MAX_OUTSTANDING": "1",
}
SHORT_OUTAGE_S = 5.0
ATTRIBUTES = {"origin": "outage-test"}


def publish_refresh(queue_file: Path) -> bytes:
    body = messages.encode(messages.RefreshRequest(symbols=(COIN,)))
    queue = SQLiteRefreshQueue(queue_file)
    try:
        queue.publish(body, ATTRIBUTES)
    finally:
        queue.close()
    return body


def dead_letters(queue_file: Path) -> list[Delivery]:
    queue = SQLiteRefreshQueue(queue_file)
    try:
        return queue.dead_letters()
    finally:
        queue.close()


def start_outage(exchange: FakeKraken) -> None:
    """Every OHLC request for the coin answers HTTP 503 until the faults are cleared."""
    exchange.inject(Fault.HTTP_503, times=1_000_000, path="OHLC", pair=COIN_PAIR)


def test_a_refresh_outlives_an_outage_longer_than_its_attempt_count_and_is_never_dead_lettered(
    embedded_env: dict[str, str], exchange: FakeKraken, data_dir: Path, tmp_path: Path
) -> None:
    start_outage(exchange)
    publish_refresh(data_dir / "queue.sqlite3")
    worker = DelosProcess(["worker"], {**embedded_env, **SHRUNK_RETRIES}, tmp_path / "worker.log")
    recovery = threading.Timer(SHORT_OUTAGE_S, exchange.clear_faults)
    try:
        wait_for(lambda: exchange.requests["OHLC"], 30, "the first delivery")
        began = time.monotonic()  # the outage is timed from the first delivery, not the process start
        recovery.start()
        wait_for(lambda: COIN in stored_rows(data_dir / "coins.sqlite3"), 30, "the coin to be refreshed")
        refreshed_after_s = time.monotonic() - began
        wait_for(lambda: queue_counts(data_dir / "queue.sqlite3")[0] == 0, 10, "the message to be acked")
        assert queue_counts(data_dir / "queue.sqlite3") == (0, 0), "acked, and never dead-lettered"
    finally:
        recovery.cancel()
        code = worker.stop(signal.SIGTERM)
    assert code == 0, worker.logs()
    logs = worker.logs()
    failed_deliveries = logs.count(f"refresh of {COIN}: retry")  # one line per delivery with its outcome
    assert failed_deliveries >= 5, f"the outage outlasted only {failed_deliveries} deliveries:\n{logs}"
    assert SHORT_OUTAGE_S <= refreshed_after_s < SHORT_OUTAGE_S + 1.0 + 5.0  # one capped backoff, plus slack
    assert "dead-lettered" not in logs


def test_a_refresh_failing_past_its_time_budget_is_dead_lettered_whole_and_a_replay_refreshes_the_coin(
    embedded_env: dict[str, str], exchange: FakeKraken, data_dir: Path, tmp_path: Path
) -> None:
    queue_file = data_dir / "queue.sqlite3"
    start_outage(exchange)
    body = publish_refresh(queue_file)
    worker = DelosProcess(["worker"], {**embedded_env, **SHRUNK_RETRIES}, tmp_path / "worker.log")
    try:
        wait_for(lambda: exchange.requests["OHLC"], 30, "the first delivery")
        began = time.monotonic()
        wait_for(lambda: queue_counts(queue_file) == (0, 1), 30, "the message to be dead-lettered")
        dead_after_s = time.monotonic() - began
        [dead] = dead_letters(queue_file)
        assert (dead.body, dead.attributes) == (body, ATTRIBUTES)
        assert dead.delivery_attempt >= 5
        assert COIN not in stored_rows(data_dir / "coins.sqlite3")

        # The exchange is back; the operator republishes the dead letter as it was.
        exchange.clear_faults()
        replay = SQLiteRefreshQueue(queue_file)
        try:
            replay.publish(dead.body, dead.attributes)
        finally:
            replay.close()
        wait_for(lambda: COIN in stored_rows(data_dir / "coins.sqlite3"), 30, "the replayed refresh")
    finally:
        code = worker.stop(signal.SIGTERM)
    assert code == 0, worker.logs()
    assert BUDGET_S - 0.5 <= dead_after_s < BUDGET_S + 5.0, dead_after_s  # the budget and one backoff, plus slack
    assert "dead-lettered after" in worker.logs()
