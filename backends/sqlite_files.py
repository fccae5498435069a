"""The embedded databases' files: created whole, checked before use, backed up online, moved aside on reset.

A database file is created under a temporary name (WAL mode, schema and a marker
row, checkpointed) and only then linked into place, so a file at the real path
was always created whole: one that is empty, cut, unreadable or without its
marker lost data, and opening it raises StoreDamaged instead of serving nothing.
Run once per process, in the main thread, before any thread uses the file.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

from backends.sqlite_wal import wal_cut
from common.errors import DataDirUnusable, StoreDamaged, StoreUnavailable

SCHEMA_VERSION = "1"
META = "CREATE TABLE IF NOT EXISTS delos_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
# Only these say the file itself is bad; anything else must never lead an operator to move a good file aside.
DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
ENVIRONMENT_CODES = frozenset(
    {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM}
)
WHAT_TO_DO = "restore a backup (see `delos backup`) to that path, or start fresh with --reset-store (moves it aside)"


def connect(path: Path, busy_timeout_s: float, *, mode: str = "rw") -> sqlite3.Connection:
    """A connection whose busy timeout is set before anything else runs on it.

    Mode "rw" (the default) never creates the file: a connection must not leave an empty file
    behind where a store went missing. Only creation itself uses "rwc".
    """
    connection = sqlite3.connect(
        f"{path.absolute().as_uri()}?mode={mode}",
        uri=True,
        timeout=busy_timeout_s,
        isolation_level=None,
        check_same_thread=False,
    )
    connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    return connection


def open_database(path: Path, schema: str, busy_timeout_s: float) -> None:
    """Create `path` whole if it does not exist, else check it is a whole Delos database of this schema.

    The schema's first table names the kind of database (coins, messages): a file without it is not one.
    """
    first_table = re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", schema)
    if first_table is None:
        raise ValueError("the schema creates no table")
    table = first_table.group(1)
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise DataDirUnusable(f"the data directory {folder} is not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirUnusable(f"cannot create the data directory {folder}: {exc.strerror}") from exc
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        # SQLite's WAL needs its -shm and -wal files beside the database, even to read it.
        raise DataDirUnusable(f"the data directory {folder} is not readable and writable (read-only filesystem?)")
    if not path.exists():
        _create(path, schema, table, busy_timeout_s)
    _check(path, table, busy_timeout_s)


def _create(path: Path, schema: str, table: str, busy_timeout_s: float) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.creating")  # one per creator, threads included
    try:
        with contextlib.closing(connect(partial, busy_timeout_s, mode="rwc")) as connection:
            connection.execute("PRAGMA journal_mode=WAL")  # persistent: set once, here, with no one else around
            connection.executescript(f"BEGIN; {schema}\n{META}\nCOMMIT;")
            connection.executemany(
                "INSERT INTO delos_meta (key, value) VALUES (?, ?)",
                [
                    ("table", table),
                    ("schema_version", SCHEMA_VERSION),
                    ("created", f"created empty at {datetime.now(UTC).isoformat(timespec='seconds')}"),
                ],
            )
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
            os.link(partial, path)
    except sqlite3.Error as exc:
        raise DataDirUnusable(f"cannot create {path}: {exc}") from exc
    except OSError as exc:
        raise DataDirUnusable(f"cannot create {path}: {exc.strerror}") from exc
    finally:
        for leftover in (partial, *_companions(partial)):
            leftover.unlink(missing_ok=True)


def _check(path: Path, table: str, busy_timeout_s: float) -> None:
    if path.stat().st_size == 0:
        raise damaged(path, "is empty (0 bytes), but Delos creates it whole: it was truncated")
    problem = wal_cut(path)
    if problem is not None:
        raise damaged(path, problem)
    try:
        with contextlib.closing(connect(path, busy_timeout_s)) as connection:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise damaged(path, f"fails SQLite's quick_check ({' / '.join(problems)})")
            _check_marker(connection, path, table)
    except sqlite3.Error as exc:
        code = exc.sqlite_errorcode & 0xFF
        if code in DAMAGE_CODES:
            raise damaged(path, f"is not a readable SQLite database ({exc})") from exc
        if code in ENVIRONMENT_CODES:  # the file may be fine: the disk or the directory is not
            raise DataDirUnusable(f"cannot open {path}: {exc}{_full_disk_hint(path.parent)}") from exc
        raise StoreUnavailable(f"cannot open {path}: {exc}") from exc


def _full_disk_hint(folder: Path) -> str:
    """SQLite reports a full disk met while creating its -shm as a bare "disk I/O error": say which it was."""
    try:
        return " (the disk is full)" if os.statvfs(folder).f_bavail == 0 else ""
    except OSError:
        return ""


def _check_marker(connection: sqlite3.Connection, path: Path, table: str) -> None:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    if table not in tables:
        raise damaged(path, f"has no {table} table: it is not a Delos {table} database, or lost its schema")
    if "delos_meta" not in tables:  # written before the marker existed: adopt it, its table is there
        with contextlib.suppress(sqlite3.Error):
            connection.execute(META)
            connection.executemany(
                "INSERT OR IGNORE INTO delos_meta (key, value) VALUES (?, ?)",
                [("table", table), ("schema_version", SCHEMA_VERSION), ("created", "before markers existed")],
            )
        return
    meta = dict(connection.execute("SELECT key, value FROM delos_meta").fetchall())
    if meta.get("table") != table or "created" not in meta:
        raise damaged(path, "lacks the marker Delos writes at creation")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise damaged(path, f"has schema version {meta.get('schema_version')}, this Delos reads {SCHEMA_VERSION}")


def damaged(path: Path, what: str) -> StoreDamaged:
    """The one-line error of a damaged file: what is wrong, which file, what to do."""
    return StoreDamaged(" ".join(f"{path} {what}; {WHAT_TO_DO}".split()))


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def move_aside(path: Path, now: datetime) -> Path | None:
    """Rename `path` (and its -wal/-shm) out of the way for a fresh start; returns the new name, if any."""
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.damaged-{now.strftime('%Y%m%dT%H%M%SZ')}")
    try:
        for source in (*_companions(path), path):
            if source.exists():
                source.rename(aside.with_name(aside.name + source.name[len(path.name) :]))
    except OSError as exc:
        raise DataDirUnusable(f"cannot move {path} aside: {exc.strerror}") from exc
    return aside


def backup(source: Path, target: Path, busy_timeout_s: float) -> None:
    """Copy a live database with SQLite's online backup API.

    The copy is a consistent snapshot even while a worker writes, is one self-contained file
    (rollback journal, no -wal), and appears at `target` only once complete and checked.
    """
    if target.exists():
        raise DataDirUnusable(f"{target} exists; give a new path")
    partial = target.with_name(f".{target.name}.partial")
    try:
        with (
            contextlib.closing(connect(source, busy_timeout_s, mode="ro")) as src,
            contextlib.closing(connect(partial, busy_timeout_s, mode="rwc")) as dst,
        ):
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            if [row[0] for row in dst.execute("PRAGMA quick_check")] != ["ok"]:
                raise StoreDamaged(f"the copy of {source} fails quick_check; {WHAT_TO_DO}")
        partial.rename(target)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot back up {source} to {target}: {exc}") from exc
    except OSError as exc:
        raise DataDirUnusable(f"cannot write {target}: {exc.strerror}") from exc
    finally:
        partial.unlink(missing_ok=True)
