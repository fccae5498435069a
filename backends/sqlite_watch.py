"""The embedded store's change feed: a daemon thread polling for rows written after the last one seen."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from backends.sqlite_files import connect
from common.document import CoinDocument, from_dict
from common.errors import BadPriceData

log = logging.getLogger(__name__)

# Short, so that a locked database is reported (and close() returns) quickly rather than waited on.
READ_BUSY_TIMEOUT_S = 1.0
JOIN_TIMEOUT_S = 5.0


class SQLiteWatcher:
    """One polling thread; close() stops it within about a poll interval plus a busy timeout."""

    def __init__(
        self,
        path: Path,
        poll_interval_s: float,
        on_change: Callable[[list[CoinDocument]], None],
        on_health: Callable[[bool], None],
        start_seq: int = 0,
    ) -> None:
        self.path = path
        self.poll_interval_s = poll_interval_s
        self.on_change = on_change
        self.on_health = on_health
        # Writes after start_seq are delivered; 0 delivers every document, so nothing is missed.
        self.last_seq = start_seq
        self.healthy = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-coin-watch", daemon=True)
        self._connection: sqlite3.Connection | None = None

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop polling and wait (bounded) for the thread to finish."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=self.poll_interval_s + READ_BUSY_TIMEOUT_S + JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("coin watcher did not stop in time; leaving the daemon thread behind")

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._poll()
                self._stop.wait(self.poll_interval_s)
        finally:
            self._disconnect()

    def _poll(self) -> None:
        try:
            rows = self._read_changes()
        except sqlite3.Error as exc:
            self._disconnect()  # reopen next time: the file may have been replaced
            if self.healthy:
                log.warning("coin store %s unreadable (%s); keeping the last state and retrying", self.path, exc)
                self.healthy = False
                self._notify_health(False)
            return
        if not self.healthy:
            log.info("coin store %s readable again", self.path)
            self.healthy = True
            self._notify_health(True)
        if not rows:
            return
        self.last_seq = rows[-1][2]
        docs = [doc for symbol, raw, _ in rows if (doc := parse_row(symbol, raw)) is not None]
        if docs:
            try:
                self.on_change(docs)
            except Exception:
                log.exception("coin change listener failed; continuing to watch")

    def _read_changes(self) -> list[tuple[str, str, int]]:
        if self._connection is None:
            self._connection = connect(self.path, READ_BUSY_TIMEOUT_S)  # never creates a missing file
        rows = self._connection.execute(
            "SELECT symbol, doc, seq FROM coins WHERE seq > ? ORDER BY seq", (self.last_seq,)
        ).fetchall()
        return [(str(symbol), str(raw), int(seq)) for symbol, raw, seq in rows]

    def _notify_health(self, healthy: bool) -> None:
        try:
            self.on_health(healthy)
        except Exception:
            log.exception("coin health listener failed; continuing to watch")

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def parse_row(symbol: str, raw: str) -> CoinDocument | None:
    """The document of a row, or None (logged) when the row is corrupt: one bad row must not hide the rest."""
    try:
        return from_dict(json.loads(raw))
    except (ValueError, TypeError, BadPriceData) as exc:
        log.error("skipping corrupt coin row %r: %s", symbol, exc)
        return None
