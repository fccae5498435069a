"""Shared SQLite plumbing: one connection per thread, WAL, busy timeout, one error translation.

WAL lets the query service read while the worker writes from another process;
the busy timeout makes writers queue instead of failing at once. The file is
created and checked once, by the constructor, in the thread that builds this
object (sqlite_files.open_database); threads then only open plain connections,
so two threads starting at once never race on journal_mode or the schema.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backends.sqlite_files import DAMAGE_CODES, WHAT_TO_DO, connect, open_database
from common.errors import StoreDamaged, StoreUnavailable

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0
# A clean stop waits this long at most for other processes' readers before leaving the WAL to them.
CHECKPOINT_TIMEOUT_S = 1.0


class ThreadConnections:
    """A connection per thread to one database file, all closed by close()."""

    def __init__(self, path: Path, schema: str, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        open_database(path, schema, busy_timeout_s)

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # isolation_level=None (in connect): transactions are explicit (BEGIN IMMEDIATE), never implicit.
            with translated(f"cannot open {self.path}"):
                connection = connect(self.path, self.busy_timeout_s)
                connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front, so read-then-write is atomic."""
        connection = self.get()
        with translated(f"cannot write {self.path}"):
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def close(self) -> None:
        """Checkpoint the WAL into the database file, then close every thread's connection.

        Use only once no thread is still working. After a clean stop the database file alone
        holds every commit, so copying it is a backup.
        """
        with self._lock:
            connections, self._all = self._all, []
        if connections:
            try:
                connections[0].execute(f"PRAGMA busy_timeout={int(CHECKPOINT_TIMEOUT_S * 1000)}")
                connections[0].execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:  # another process is still busy with it: it checkpoints later
                log.info("could not checkpoint %s on close: %s", self.path, exc)
        for connection in connections:
            connection.close()
        self._local = threading.local()


@contextmanager
def translated(what: str) -> Iterator[None]:
    """The one place that turns sqlite3 errors into StoreUnavailable (or StoreDamaged: retrying cannot help)."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode & 0xFF in DAMAGE_CODES:
            raise StoreDamaged(f"{what}: the file is corrupt ({exc}); {WHAT_TO_DO}") from exc
        raise StoreUnavailable(f"{what}: {exc}") from exc
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"{what}: {exc}") from exc
