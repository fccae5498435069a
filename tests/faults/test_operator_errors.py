"""Operator errors end in one line on stderr and the documented exit code, never in a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import delos_env
from tests.faults.processes import run_until_exit

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port held by a plain listening socket (no SO_REUSEPORT, so no one else can share it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("command", [["serve"], ["run", "--offline"]])
def test_a_port_in_use_is_one_line_and_exit_2(command: list[str], busy_port: int, tmp_path: Path) -> None:
    env = delos_env({"DELOS_DATA_DIR": str(tmp_path / "data"), "PORT": str(busy_port)})
    ending = run_until_exit(command, env, tmp_path / "out.log")
    line = ending.failure_line()
    print(f"\nFIGURES port in use, delos {' '.join(command)}: exit {ending.code} after {ending.seconds:.2f} s; {line}")
    assert ending.code == 2 and f"127.0.0.1:{busy_port}" in line


@pytest.mark.parametrize("command", ["serve", "worker", "publish"])
def test_a_data_dir_that_is_a_file_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("not a directory\n")
    env = delos_env({"DELOS_DATA_DIR": str(not_a_dir), "PORT": "0"})
    args = [command, "BTC"] if command == "publish" else [command]
    ending = run_until_exit(args, env, tmp_path / "out.log")
    line = ending.failure_line()
    print(f"\nFIGURES data dir is a file, delos {command}: exit {ending.code} after {ending.seconds:.2f} s; {line}")
    assert ending.code == 2 and f"the data directory {not_a_dir} is not a directory" in line


def test_a_store_that_is_not_a_database_stops_the_worker_too(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "coins.sqlite3").write_text("BTC,ETH\n")
    ending = run_until_exit(["worker"], delos_env({"DELOS_DATA_DIR": str(data)}), tmp_path / "out.log")
    line = ending.failure_line()
    assert ending.code == 1 and "--reset-store" in line and str(data / "coins.sqlite3") in line


def test_gcp_mode_without_credentials_is_one_line(tmp_path: Path) -> None:
    env = delos_env(
        {
            "DELOS_BACKEND": "gcp",
            "GOOGLE_CLOUD_PROJECT": "delos-no-credentials",
            "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json"),
            "PORT": "0",
        }
    )
    env.pop("FIRESTORE_EMULATOR_HOST", None)
    ending = run_until_exit(["serve"], env, tmp_path / "out.log")
    line = ending.failure_line()
    assert ending.code == 2 and "missing.json" in line
