"""A store file that lost data stops `delos serve` with one line and exit 1; a clean stop leaves a whole file.

The damaged stores are copies of one a real worker filled with six coins and was then killed (SIGKILL), so
its recent commits sit in the -wal, as after any crash. Each scenario's figures are printed (run with -s).
"""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backends.sqlite_queue import SQLiteRefreshQueue
from backends.sqlite_store import SQLiteCoinStore
from common import messages
from fake_exchange import FakeKraken, sample_market
from tests.e2e.harness import KRAKEN_ONLY, DelosProcess, answered, delos_env, is_serving, wait_for
from tests.faults.helpers import stored_rows
from tests.faults.processes import bound_target, run_until_exit

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

COINS = ("BTC", "ETH", "XRP", "LTC", "ADA", "SOL")
PAGE = 4096


@pytest.fixture(scope="module")
def module_exchange() -> Iterator[FakeKraken]:
    fake = FakeKraken(sample_market(datetime.now(UTC)))
    fake.start()
    yield fake
    fake.stop()


def env_for(data: Path, exchange: FakeKraken) -> dict[str, str]:
    return delos_env(
        {
            **KRAKEN_ONLY,
            "DELOS_DATA_DIR": str(data),
            "DELOS_KRAKEN_URL": exchange.base_url,
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_POLL_INTERVAL": "0.1",
            "PORT": "0",
        }
    )


def publish(data: Path, symbols: tuple[str, ...]) -> None:
    queue = SQLiteRefreshQueue(data / "queue.sqlite3")
    try:
        queue.publish(messages.encode(messages.RefreshRequest(symbols=symbols)))
    finally:
        queue.close()


@pytest.fixture(scope="module")
def crashed(module_exchange: FakeKraken, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose worker stored six coins and was killed: the coins' commits are in coins.sqlite3-wal."""
    data = tmp_path_factory.mktemp("crashed") / "data"
    publish(data, COINS)
    worker = DelosProcess(["worker"], env_for(data, module_exchange), data.parent / "worker.log")
    try:
        wait_for(lambda: len(stored_rows(data / "coins.sqlite3")) == len(COINS), 30, "six coins stored")
    finally:
        worker.kill()
        worker.stop()
    assert (data / "coins.sqlite3-wal").stat().st_size > 0
    return data


def truncate(path: Path) -> None:
    path.write_bytes(b"")


def without_wal(path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink()


def checkpointed(path: Path) -> None:
    """Fold the -wal into the file, as a clean stop does."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def truncated_with_wal(store: Path) -> None:
    truncate(store)


def truncated_without_wal(store: Path) -> None:
    truncate(store)
    without_wal(store)


def wal_cut_in_half(store: Path) -> None:
    wal = store.with_name(store.name + "-wal")
    os.truncate(wal, wal.stat().st_size // 2)


def wal_cut_at_a_frame(store: Path) -> None:
    """Cut between two whole frames: the log still looks whole; the -shm the worker left says what it held."""
    wal = store.with_name(store.name + "-wal")
    frame = 24 + PAGE
    frames = (wal.stat().st_size - 32) // frame
    os.truncate(wal, 32 + frames // 2 * frame)


def garbage_header(store: Path) -> None:
    # After a clean stop: while the -wal holds a newer page 1, SQLite reads that one and nothing is lost.
    checkpointed(store)
    with store.open("r+b") as file:
        file.write(os.urandom(100))


def text_file(store: Path) -> None:
    without_wal(store)
    store.write_text("coins: BTC ETH XRP LTC ADA SOL\n" * 200)


def garbage_pages_in_the_middle(store: Path) -> None:
    checkpointed(store)
    middle = store.stat().st_size // PAGE // 2
    with store.open("r+b") as file:
        file.seek(middle * PAGE)
        file.write(os.urandom(3 * PAGE))


DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncated to 0 bytes, -wal kept": truncated_with_wal,
    "truncated to 0 bytes, no -wal": truncated_without_wal,
    "-wal cut in half": wal_cut_in_half,
    "-wal cut between two frames": wal_cut_at_a_frame,
    "garbage header": garbage_header,
    "a text file": text_file,
    "garbage pages in the middle": garbage_pages_in_the_middle,
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_store_stops_serve_with_one_line_naming_the_file_and_the_way_out(
    damage: str, crashed: Path, module_exchange: FakeKraken, tmp_path: Path
) -> None:
    import shutil

    data = Path(shutil.copytree(crashed, tmp_path / "data"))
    DAMAGES[damage](data / "coins.sqlite3")
    ending = run_until_exit(["serve"], env_for(data, module_exchange), tmp_path / "serve.log")
    line = ending.failure_line()
    print(f"\nFIGURES {damage}: exit {ending.code} after {ending.seconds:.2f} s; {line}")
    assert ending.code == 1
    assert str(data / "coins.sqlite3") in line and "--reset-store" in line and "backup" in line
    assert "SERVING" not in ending.logs


def test_reset_store_moves_the_damaged_file_aside_and_serves_empty(
    crashed: Path, module_exchange: FakeKraken, tmp_path: Path
) -> None:
    import shutil

    data = Path(shutil.copytree(crashed, tmp_path / "data"))
    text_file(data / "coins.sqlite3")
    serve = DelosProcess(["serve", "--reset-store"], env_for(data, module_exchange), tmp_path / "serve.log")
    try:
        target = bound_target(serve)
        wait_for(lambda: is_serving(target), 30, "SERVING on a fresh store")
        assert answered(target, "BTC") is None
    finally:
        assert serve.stop() == 0, serve.logs()
    aside = [p.name for p in data.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and (data / aside[0]).read_text().startswith("coins:")
    assert "moved it to" in serve.logs()


def test_after_a_graceful_stop_the_database_file_alone_holds_every_document(
    module_exchange: FakeKraken, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = env_for(data, module_exchange)
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    try:
        target = bound_target(serve)
        publish(data, COINS)
        for symbol in COINS:
            wait_for(lambda s=symbol: answered(target, s), 30, f"{symbol} answered")  # type: ignore[misc]
    finally:
        codes = (worker.stop(signal.SIGTERM), serve.stop(signal.SIGTERM))
    assert codes == (0, 0), f"{serve.logs()}\n{worker.logs()}"
    wal = data / "coins.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "coins.sqlite3").write_bytes((data / "coins.sqlite3").read_bytes())
    assert sorted(stored_rows(alone / "coins.sqlite3")) == sorted(COINS)
    print(f"\nFIGURES graceful stop: coins.sqlite3 {(data / 'coins.sqlite3').stat().st_size} bytes, -wal gone")


def test_backup_while_a_worker_writes_is_a_valid_store_with_the_documents(
    module_exchange: FakeKraken, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    symbols = tuple(coin.symbol for coin in module_exchange.market)
    env = {**env_for(data, module_exchange), "DELOS_REQUEST_INTERVAL": "0.05"}
    publish(data, symbols)
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    counts: list[int] = []
    try:
        for i in range(30):
            target = tmp_path / f"backup-{i}.sqlite3"
            ending = run_until_exit(["backup", str(target)], env, tmp_path / f"backup-{i}.log")
            assert ending.code == 0, ending.logs
            copy = SQLiteCoinStore(target)  # passes the same checks as a store Delos serves from
            try:
                counts.append(len(copy.load_all()))
            finally:
                copy.close()
            assert f"backed up {counts[-1]} coins" in ending.logs
            if counts[-1] == len(symbols):
                break
    finally:
        assert worker.stop() == 0, worker.logs()
    print(f"\nFIGURES backup while writing: coins in successive backups {counts}")
    assert counts == sorted(counts) and counts[-1] == len(symbols)
    assert any(0 < count < len(symbols) for count in counts), "no backup was taken while the worker wrote"
