"""Shared SQLite plumbing: one connection per thread, WAL, busy timeout, one error translation.

WAL lets the query service read while the worker writes from another process;
the busy timeout makes writers queue instead of failing at once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.errors import StoreUnavailable

BUSY_TIMEOUT_S = 5.0


class ThreadConnections:
    """A connection per thread to one database file, all closed by close()."""

    def __init__(self, path: Path, schema: str, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with translated(f"cannot open {path}"):
            path.parent.mkdir(parents=True, exist_ok=True)
            self.get().executescript(schema)

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), never implicit.
            connection = sqlite3.connect(
                self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
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
        """Close every thread's connection; use only once no thread is still working."""
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            connection.close()
        self._local = threading.local()


@contextmanager
def translated(what: str) -> Iterator[None]:
    """The one place that turns sqlite3 errors into StoreUnavailable."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"{what}: {exc}") from exc
