"""The embedded document store: one SQLite file shared by the worker and the query service.

Every write bumps a store-wide sequence number, so the query service's watcher
asks only "what changed after seq N?" instead of rereading every document.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from backends.keys import symbol_key
from backends.sqlite_db import ThreadConnections, translated
from backends.sqlite_files import backup
from backends.sqlite_watch import SQLiteWatcher, parse_row
from common.document import CoinDocument, is_improvement, to_dict
from common.status import RefreshFailure, RefreshOutcome

SCHEMA = """
CREATE TABLE IF NOT EXISTS coins (
    symbol TEXT PRIMARY KEY,
    doc    TEXT NOT NULL,     -- JSON of common.document.to_dict
    as_of  INTEGER NOT NULL,  -- unix seconds, for operators' queries
    seq    INTEGER NOT NULL   -- store-wide write counter, for the watcher
);
CREATE INDEX IF NOT EXISTS coins_by_seq ON coins (seq);
CREATE TABLE IF NOT EXISTS refresh_status (
    symbol TEXT PRIMARY KEY,
    ok     INTEGER NOT NULL,
    reason TEXT,
    at     INTEGER NOT NULL
);
"""

# SQLite binds at most 32,766 parameters a statement; far fewer keep each statement's plan small.
GET_MANY_CHUNK = 500


class SQLiteCoinStore:
    """CoinStore and CoinFeed over one SQLite file, safe across threads and processes."""

    def __init__(self, path: Path, *, poll_interval_s: float = 0.5) -> None:
        self.path = path
        self.poll_interval_s = poll_interval_s
        self._db = ThreadConnections(path, SCHEMA)
        self._watchers: list[SQLiteWatcher] = []
        self._loaded_seq = 0

    def get(self, symbol: str) -> CoinDocument | None:
        """The stored document of `symbol`, if any."""
        key = symbol_key(symbol)
        with translated(f"cannot read {self.path}"):
            row = self._db.get().execute("SELECT doc FROM coins WHERE symbol = ?", (key,)).fetchone()
        return None if row is None else parse_row(key, row[0])

    def get_many(self, symbols: Sequence[str]) -> dict[str, CoinDocument]:
        """The stored documents of `symbols`, by symbol, from one statement per GET_MANY_CHUNK symbols."""
        keys = list(dict.fromkeys(symbol_key(symbol) for symbol in symbols))
        found: dict[str, CoinDocument] = {}
        with translated(f"cannot read {self.path}"):
            connection = self._db.get()
            for start in range(0, len(keys), GET_MANY_CHUNK):
                chunk = keys[start : start + GET_MANY_CHUNK]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT symbol, doc FROM coins WHERE symbol IN ({marks})"  # noqa: S608  # nosec B608
                for key, raw in connection.execute(query, chunk):
                    doc = parse_row(key, raw)
                    if doc is not None:
                        found[key] = doc
        return found

    def save_if_better(self, doc: CoinDocument) -> bool:
        """Write `doc` unless the stored one is better; True if written. Atomic across processes."""
        return self.save_all_if_better([doc])[0]

    def save_all_if_better(self, docs: Sequence[CoinDocument]) -> list[bool]:
        """save_if_better for a whole batch in one transaction (one fsync instead of one per coin)."""
        keys = [symbol_key(doc.symbol) for doc in docs]  # validate all before writing any
        written: list[bool] = []
        with self._db.transaction() as connection:
            for key, doc in zip(keys, docs, strict=True):
                written.append(self._save_in(connection, key, doc))
        return written

    def _save_in(self, connection: sqlite3.Connection, key: str, doc: CoinDocument) -> bool:
        row = connection.execute("SELECT doc FROM coins WHERE symbol = ?", (key,)).fetchone()
        old = None if row is None else parse_row(key, row[0])
        if not is_improvement(doc, old):
            return False
        connection.execute(
            """INSERT INTO coins (symbol, doc, as_of, seq)
               VALUES (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM coins))
               ON CONFLICT (symbol) DO UPDATE SET doc = excluded.doc, as_of = excluded.as_of, seq = excluded.seq""",
            (key, json.dumps(to_dict(doc), separators=(",", ":")), int(doc.as_of.timestamp())),
        )
        connection.execute(
            """INSERT INTO refresh_status (symbol, ok, reason, at) VALUES (?, 1, NULL, ?)
               ON CONFLICT (symbol) DO UPDATE SET ok = 1, reason = NULL, at = excluded.at""",
            (key, int(doc.computed_at.timestamp())),
        )
        return True

    def record_failure(self, symbol: str, reason: str, at: datetime) -> None:
        """Note why `symbol`'s refresh failed; its document, if any, stays as it was."""
        key = symbol_key(symbol)
        with self._db.transaction() as connection:
            connection.execute(
                """INSERT INTO refresh_status (symbol, ok, reason, at) VALUES (?, 0, ?, ?)
                   ON CONFLICT (symbol) DO UPDATE SET ok = 0, reason = excluded.reason, at = excluded.at""",
                (key, reason, int(at.timestamp())),
            )

    def failure(self, symbol: str) -> tuple[str, datetime] | None:
        """The last refresh failure of `symbol` and when, unless a save succeeded since (for operators)."""
        key = symbol_key(symbol)
        with translated(f"cannot read {self.path}"):
            row = (
                self._db.get()
                .execute("SELECT reason, at FROM refresh_status WHERE symbol = ? AND ok = 0", (key,))
                .fetchone()
            )
        return None if row is None else (str(row[0]), datetime.fromtimestamp(row[1], tz=UTC))

    def failures(self) -> list[RefreshFailure]:
        """Every coin whose last refresh failed, by symbol (for operators)."""
        with translated(f"cannot read {self.path}"):
            rows = (
                self._db.get()
                .execute("SELECT symbol, reason, at FROM refresh_status WHERE ok = 0 ORDER BY symbol")
                .fetchall()
            )
        return [
            RefreshFailure(str(symbol), str(reason), datetime.fromtimestamp(at, tz=UTC)) for symbol, reason, at in rows
        ]

    def outcomes_since(self, since: datetime) -> list[RefreshOutcome]:
        """Each coin's latest refresh outcome recorded at or after `since` (whole seconds), oldest first."""
        with translated(f"cannot read {self.path}"):
            rows = (
                self._db.get()
                .execute(
                    "SELECT symbol, ok, reason, at FROM refresh_status WHERE at >= ? ORDER BY at, symbol",
                    (int(since.timestamp()),),
                )
                .fetchall()
            )
        return [
            RefreshOutcome(
                str(symbol), bool(ok), None if reason is None else str(reason), datetime.fromtimestamp(at, UTC)
            )
            for symbol, ok, reason, at in rows
        ]

    def load_all(self) -> list[CoinDocument]:
        """Every readable document (corrupt rows are logged and skipped).

        Remembers the newest write it saw, so a later watch() starts after it instead of replaying it all.
        """
        with translated(f"cannot read {self.path}"):
            rows = self._db.get().execute("SELECT symbol, doc, seq FROM coins ORDER BY symbol").fetchall()
        self._loaded_seq = max((int(seq) for _, _, seq in rows), default=0)
        return [doc for symbol, raw, _ in rows if (doc := parse_row(symbol, raw)) is not None]

    def watch(
        self, on_change: Callable[[list[CoinDocument]], None], on_health: Callable[[bool], None]
    ) -> SQLiteWatcher:
        """Poll for writes in a daemon thread; the first call carries every document load_all() did not return."""
        watcher = SQLiteWatcher(self.path, self.poll_interval_s, on_change, on_health, start_seq=self._loaded_seq)
        self._watchers.append(watcher)
        watcher.start()
        return watcher

    def follow(
        self,
        on_change: Callable[[list[CoinDocument]], None],
        on_health: Callable[[bool], None],
        timeout_s: float,
    ) -> tuple[list[CoinDocument], SQLiteWatcher]:
        """load_all(), then a watcher that starts after the newest write that read saw (nothing is read twice).

        The busy timeout bounds the read here; `timeout_s` is for stores that answer asynchronously.
        """
        docs = self.load_all()
        return docs, self.watch(on_change, on_health)

    def backup(self, target: Path) -> int:
        """A consistent copy of the store at `target`, taken while others write; returns the coins in it."""
        backup(self.path, target, self._db.busy_timeout_s)
        with translated(f"cannot read {target}"), closing(sqlite3.connect(target)) as copy:
            return int(copy.execute("SELECT COUNT(*) FROM coins").fetchone()[0])

    def close(self) -> None:
        """Stop every watcher, checkpoint the WAL into the file and close this object's connections."""
        for watcher in self._watchers:
            watcher.close()
        self._watchers.clear()
        self._db.close()
