"""A data dir on a read-only or full filesystem: one line and exit 2 at start; a disk that fills up while the
worker runs is a health state (backoff, a report a minute) that ends by itself when space comes back.

Each scenario mounts a small tmpfs of its own (root can write through chmod, not through a read-only mount);
where mounting is not allowed the scenarios are skipped, saying why. Figures are printed (run with -s).
"""

from __future__ import annotations

import errno
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.sqlite_queue import SQLiteRefreshQueue
from common import messages
from fake_exchange import FakeKraken
from ingest_worker.status import STATUS_FILE, read_status
from tests.e2e.harness import KRAKEN_ONLY, DelosProcess, delos_env, wait_for
from tests.faults.helpers import seed_store, stored_rows
from tests.faults.processes import run_until_exit

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

MOUNT_TIMEOUT_S = 10.0


class Tmpfs:
    """A size-limited tmpfs mounted at `path` for one test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def remount(self, option: str) -> None:
        mount("-o", f"remount,{option}", str(self.path))

    def fill(self) -> int:
        """Take every free byte (as a full disk would); returns how many were taken."""
        written = 0
        with self.filler.open("wb", buffering=0) as file:
            try:
                while True:
                    written += file.write(b"\0" * 65536)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
        return written

    def free(self) -> None:
        self.filler.unlink()


def mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=MOUNT_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise OSError(result.stderr.strip() or f"mount {' '.join(args)} failed")


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    point = tmp_path / "mnt"
    point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) here: the read-only and full-disk scenarios need a filesystem of their own")
    try:
        mount("-t", "tmpfs", "-o", "size=4m", "delos-faults", str(point))
    except OSError as exc:
        pytest.skip(
            f"cannot mount a tmpfs here ({exc}); read-only and full-disk scenarios need one (root, CAP_SYS_ADMIN)"
        )
    try:
        yield Tmpfs(point)
    finally:
        umount = ["umount", str(point)]
        if subprocess.run(umount, capture_output=True, timeout=MOUNT_TIMEOUT_S, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=MOUNT_TIMEOUT_S, check=False)


def env_for(data: Path, exchange: FakeKraken, **overrides: str) -> dict[str, str]:
    return delos_env(
        {
            **KRAKEN_ONLY,
            "DELOS_DATA_DIR": str(data),
            "DELOS_KRAKEN_URL": exchange.base_url,
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_POLL_INTERVAL": "0.1",
            "PORT": "0",
        },
        **overrides,
    )


def seeded(data: Path) -> Path:
    """A data dir as a clean stop leaves it: a store with two coins and an empty queue, no -wal."""
    seed_store(data / "coins.sqlite3", ["BTC", "ETH"])
    SQLiteRefreshQueue(data / "queue.sqlite3").close()
    return data


@pytest.mark.parametrize("state", ["a store in it", "empty", "missing"])
@pytest.mark.parametrize("command", ["worker", "serve"])
def test_a_read_only_data_dir_stops_the_process_with_one_line_and_exit_2(
    command: str, state: str, tmpfs: Tmpfs, exchange: FakeKraken, tmp_path: Path
) -> None:
    data = tmpfs.path / "data" if state == "missing" else tmpfs.path
    if state == "a store in it":
        seeded(data)
    tmpfs.remount("ro")
    ending = run_until_exit([command], env_for(data, exchange), tmp_path / f"{command}.log")
    line = ending.failure_line()
    print(
        f"\nFIGURES read-only data dir, {state}, delos {command}: "
        f"exit {ending.code} after {ending.seconds:.2f} s; {line}"
    )
    assert ending.code == 2
    assert str(data) in line and ("read-only" in line.lower() or "Read-only" in line)


@pytest.mark.parametrize("state", ["a store in it", "empty"])
def test_a_full_disk_at_start_stops_the_worker_with_one_line_and_exit_2(
    state: str, tmpfs: Tmpfs, exchange: FakeKraken, tmp_path: Path
) -> None:
    data = tmpfs.path / "data"
    if state == "a store in it":
        seeded(data)
    tmpfs.fill()
    ending = run_until_exit(["worker"], env_for(data, exchange), tmp_path / "worker.log")
    line = ending.failure_line()
    print(f"\nFIGURES full disk at start, {state}: exit {ending.code} after {ending.seconds:.2f} s; {line}")
    assert ending.code == 2 and str(data / "coins.sqlite3") in line
    assert "--reset-store" not in line, "a full disk must never send an operator to move a good store aside"
    tmpfs.free()
    if state == "a store in it":
        assert "the disk is full" in line
        assert sorted(stored_rows(data / "coins.sqlite3")) == ["BTC", "ETH"]


def problem_lines(logs: str) -> list[str]:
    """Warning and error lines of a structured (one JSON object a line) log, and any traceback."""
    problems = ('"severity": "WARNING"', '"severity": "ERROR"', '"severity": "CRITICAL"', "Traceback")
    return [line for line in logs.splitlines() if any(mark in line for mark in problems)]


@pytest.mark.timeout(150)
def test_a_disk_that_fills_while_the_worker_runs_is_reported_at_a_low_rate_and_recovers_by_itself(
    tmpfs: Tmpfs, exchange: FakeKraken, tmp_path: Path
) -> None:
    data = tmpfs.path
    symbols = tuple(coin.symbol for coin in exchange.market)
    queue = SQLiteRefreshQueue(data / "queue.sqlite3")
    queue.publish(messages.encode(messages.RefreshRequest(symbols=symbols)))
    queue.close()
    # Throttled so that the disk fills while the dozen coins are being refreshed; short leases and retries.
    env = env_for(data, exchange, DELOS_REQUEST_INTERVAL="0.2", DELOS_ACK_DEADLINE="2", DELOS_RETRY_BACKOFF_MIN="0.5")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    try:
        wait_for(lambda: stored_rows(data / "coins.sqlite3"), 30, "a first coin stored")
        tmpfs.fill()
        filled_at = time.monotonic()
        stored_when_full = len(stored_rows(data / "coins.sqlite3"))
        assert stored_when_full < len(symbols), "the refresh finished before the disk filled"
        full_s = 20.0
        time.sleep(full_s)
        lines_while_full = problem_lines(worker.logs())
        status_while_full = read_status(data / STATUS_FILE)
        assert worker.proc.poll() is None, "the worker died on a full disk"
        assert len(stored_rows(data / "coins.sqlite3")) == stored_when_full

        tmpfs.free()
        freed_at = time.monotonic()
        wait_for(
            lambda: len(stored_rows(data / "coins.sqlite3")) == len(symbols), 30, "every coin after space came back"
        )
        recovered_s = time.monotonic() - freed_at
        status_after = read_status(data / STATUS_FILE)
    finally:
        code = worker.stop(signal.SIGTERM)
    logs = worker.logs()
    print(
        f"\nFIGURES full disk while running: {len(lines_while_full)} warning/error lines in {full_s:.0f} s "
        f"(from {filled_at:.0f}), recovered {recovered_s:.1f} s after space came back, exit {code}; "
        f"status file while full: {status_while_full}; " + " | ".join(lines_while_full)
    )
    assert code == 0, logs
    assert "Traceback" not in logs
    assert len(lines_while_full) <= 6, "\n".join(lines_while_full)
    assert any("full" in line for line in lines_while_full)
    assert "usable again" in logs or "takes writes again" in logs
    assert status_while_full is not None and "full" in status_while_full["store"], status_while_full
    assert status_after is not None and status_after["store"] == "ok"
