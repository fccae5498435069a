"""The embedded databases' files: legacy files adopted, foreign or newer ones refused, reset and backup."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

import bootstrap
from backends.sqlite_queue import SQLiteRefreshQueue
from backends.sqlite_store import SCHEMA, SQLiteCoinStore
from common.errors import DataDirUnusable, StoreDamaged
from common.settings import Settings
from tests.factories import make_document


def test_a_store_written_before_markers_existed_is_adopted_with_its_documents(tmp_path: Path) -> None:
    path = tmp_path / "coins.sqlite3"
    with closing(sqlite3.connect(path)) as legacy:
        legacy.execute("PRAGMA journal_mode=WAL")
        legacy.executescript(SCHEMA)
    store = SQLiteCoinStore(path)
    store.save_if_better(make_document("BTC"))
    store.close()
    with closing(sqlite3.connect(path)) as connection:
        meta = dict(connection.execute("SELECT key, value FROM delos_meta").fetchall())
    assert meta["table"] == "coins" and meta["created"] == "before markers existed"
    reopened = SQLiteCoinStore(path)
    assert [doc.symbol for doc in reopened.load_all()] == ["BTC"]
    reopened.close()


def test_a_queue_file_in_the_store_s_place_is_refused(tmp_path: Path) -> None:
    SQLiteRefreshQueue(tmp_path / "coins.sqlite3").close()
    with pytest.raises(StoreDamaged, match="has no coins table"):
        SQLiteCoinStore(tmp_path / "coins.sqlite3")


def test_a_store_of_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "coins.sqlite3"
    SQLiteCoinStore(path).close()
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE delos_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreDamaged, match="schema version 99"):
        SQLiteCoinStore(path)


def test_reset_moves_a_damaged_store_and_queue_aside_and_leaves_a_healthy_one_alone(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    (tmp_path / "coins.sqlite3").write_text("not a database\n")
    (tmp_path / "queue.sqlite3").write_bytes(b"")
    with pytest.raises(StoreDamaged):
        bootstrap.document_store(settings)
    store = bootstrap.document_store(settings, reset=True)
    queue = bootstrap.opened_queue(settings, reset=True)
    assert store.save_if_better(make_document("ETH"))
    bootstrap.close(store)
    bootstrap.close(queue)
    aside = sorted(p.name.split(".damaged-")[0] for p in tmp_path.iterdir() if ".damaged-" in p.name)
    assert aside == ["coins.sqlite3", "queue.sqlite3"]

    healthy = bootstrap.document_store(settings, reset=True)
    assert [doc.symbol for doc in healthy.load_all()] == ["ETH"]
    bootstrap.close(healthy)


def test_backup_refuses_to_overwrite_and_copies_every_document(tmp_path: Path) -> None:
    store = SQLiteCoinStore(tmp_path / "coins.sqlite3")
    store.save_all_if_better([make_document("BTC"), make_document("ETH")])
    try:
        assert store.backup(tmp_path / "copy.sqlite3") == 2
        with pytest.raises(DataDirUnusable, match="exists"):
            store.backup(tmp_path / "copy.sqlite3")
    finally:
        store.close()
    copy = SQLiteCoinStore(tmp_path / "copy.sqlite3")
    assert sorted(doc.symbol for doc in copy.load_all()) == ["BTC", "ETH"]
    copy.close()
    assert not (tmp_path / "copy.sqlite3-wal").exists()


def test_a_store_deleted_while_watched_is_not_recreated_empty(tmp_path: Path) -> None:
    path = tmp_path / "coins.sqlite3"
    store = SQLiteCoinStore(path, poll_interval_s=0.02)
    subscription = store.watch(lambda docs: None, lambda healthy: None)
    try:
        for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            companion.unlink(missing_ok=True)
        time.sleep(0.3)  # several polls
        assert not path.exists()
    finally:
        subscription.close()
        store.close()
