"""The embedded queue's dead letters (table `dead_letters` of the queue file), for operators.

The queue moves a message there after its last failed delivery (backends/sqlite_queue.py); this
adapter only reads and deletes rows, so it shares the file and schema without touching the queue.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from backends.sqlite_db import ThreadConnections, translated
from backends.sqlite_queue import SCHEMA
from common.ports import DeadLetter


class SQLiteDeadLetters:
    """DeadLetterBox over the embedded queue's SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = ThreadConnections(path, SCHEMA)

    def peek(self, limit: int) -> list[DeadLetter]:
        """Up to `limit` dead letters, oldest first; rows stay until acknowledged (no lease is needed)."""
        with translated(f"cannot read {self.path}"):
            rows = (
                self._db.get()
                .execute(
                    "SELECT id, body, attributes, delivery_attempt, dead_at FROM dead_letters"
                    " ORDER BY dead_at, id LIMIT ?",
                    (limit,),
                )
                .fetchall()
            )
        return [
            DeadLetter(str(i), bytes(b), json.loads(a), int(n), datetime.fromtimestamp(at, tz=UTC), str(i))
            for i, b, a, n, at in rows
        ]

    def acknowledge(self, letter: DeadLetter) -> None:
        """Delete the row: committed before returning."""
        with self._db.transaction() as connection:
            connection.execute("DELETE FROM dead_letters WHERE id = ?", (letter.handle,))

    def release(self) -> None:
        """Nothing to give back: peeking holds no lease here."""

    def close(self) -> None:
        self._db.close()
