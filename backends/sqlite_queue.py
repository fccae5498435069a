"""The embedded refresh queue: Pub/Sub subscription semantics over one SQLite file.

A delivery is a lease: the row stays but is invisible until `visible_at`. Ack
deletes it; nack, a handler error, or a crashed consumer (its lease simply
expires) makes it visible again, so delivery is at-least-once across processes.
A nacked message comes back after a capped exponential backoff, and is
dead-lettered only once it has used both its attempts and its time budget
(see redelivery.py): an exchange outage of minutes does not lose a refresh.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from backends.redelivery import Redelivery
from backends.sqlite_db import ThreadConnections, translated
from common.errors import StoreUnavailable
from common.outage import Outage
from common.ports import Delivery, Verdict

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- publish order
    id               TEXT NOT NULL UNIQUE,
    body             BLOB NOT NULL,
    attributes       TEXT NOT NULL,                      -- JSON object of strings
    delivery_attempt INTEGER NOT NULL DEFAULT 0,
    visible_at       REAL NOT NULL,                      -- unix seconds; leased until then
    lease            TEXT,                               -- token of the current lease: stale acks are ignored
    first_attempt_at REAL                                -- unix seconds of the first delivery: the budget's start
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at, seq);
CREATE TABLE IF NOT EXISTS dead_letters (
    id               TEXT PRIMARY KEY,
    body             BLOB NOT NULL,
    attributes       TEXT NOT NULL,
    delivery_attempt INTEGER NOT NULL,
    dead_at          REAL NOT NULL
);
"""
# Files created before the retry budget existed lack its column; added on open.
MIGRATION = "ALTER TABLE messages ADD COLUMN first_attempt_at REAL"


class SQLiteRefreshQueue:
    """RefreshQueue over SQLite; any number of publishers and consumers, in any processes."""

    def __init__(
        self,
        path: Path,
        *,
        ack_deadline_s: float = 60,
        max_outstanding: int = 1,
        poll_interval_s: float = 0.2,
        redelivery: Redelivery | None = None,
        shutdown_timeout_s: float = 8.0,
    ) -> None:
        self.path = path
        self.ack_deadline_s = ack_deadline_s
        self.max_outstanding = max_outstanding
        self.poll_interval_s = poll_interval_s
        self.redelivery = redelivery if redelivery is not None else Redelivery()
        self.shutdown_timeout_s = shutdown_timeout_s
        self._db = ThreadConnections(path, SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        with self._db.transaction() as connection:
            columns = {row[1] for row in connection.execute("PRAGMA table_info(messages)")}
            if "first_attempt_at" not in columns:
                connection.execute(MIGRATION)

    def publish(self, body: bytes, attributes: Mapping[str, str] | None = None) -> str:
        """Store the message durably (committed before returning); returns its id."""
        message_id = uuid.uuid4().hex
        with self._db.transaction() as connection:
            connection.execute(
                "INSERT INTO messages (id, body, attributes, visible_at) VALUES (?, ?, ?, ?)",
                (message_id, bytes(body), json.dumps(dict(attributes or {})), time.time()),
            )
        return message_id

    def consume(self, handler: Callable[[Delivery], Verdict], stop: threading.Event) -> None:
        """Lease and handle messages in publish order, up to max_outstanding at once, until `stop` is set."""
        in_flight: dict[str, threading.Thread] = {}
        last_extended = time.monotonic()
        outage = Outage()  # a full disk or read-only file: back off, report once a minute, not per poll
        while not stop.is_set():
            for token, thread in list(in_flight.items()):
                if not thread.is_alive():
                    del in_flight[token]
            try:
                if time.monotonic() - last_extended > self.ack_deadline_s / 3:
                    # Like the Pub/Sub client's lease management: a live consumer keeps its leases.
                    self._extend(list(in_flight))
                    last_extended = time.monotonic()
                leased = self._lease(self.max_outstanding - len(in_flight))
            except StoreUnavailable as exc:
                wait_s, report = outage.failed(str(exc), time.time())
                if report:
                    log.error("refresh queue unusable, retrying with backoff: %s", outage.status(time.time()))
                stop.wait(wait_s)
                continue
            # Only a lease that wrote something proves the file takes writes again (an empty poll writes nothing).
            lasted = outage.recovered(time.time()) if leased else None
            if lasted is not None:
                log.warning("refresh queue usable again after %.0f s", lasted)
            for token, delivery in leased:
                thread = threading.Thread(
                    target=self._handle, args=(handler, token, delivery), name="sqlite-refresh-handler", daemon=True
                )
                in_flight[token] = thread
                thread.start()
            if not leased:
                stop.wait(self.poll_interval_s)
        self._shut_down(in_flight)

    def _shut_down(self, in_flight: dict[str, threading.Thread]) -> None:
        deadline = time.monotonic() + self.shutdown_timeout_s
        for thread in in_flight.values():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        unfinished = [token for token, thread in in_flight.items() if thread.is_alive()]
        if unfinished:
            log.warning("releasing %d unfinished refresh message(s) for redelivery", len(unfinished))
            self._release(unfinished, delay_s=0.0)

    def _lease(self, capacity: int) -> list[tuple[str, Delivery]]:
        if capacity <= 0:
            return []
        now = time.time()
        leased: list[tuple[str, Delivery]] = []
        with self._db.transaction() as connection:
            rows = connection.execute(
                "SELECT id, body, attributes, delivery_attempt, COALESCE(first_attempt_at, ?) FROM messages"
                " WHERE visible_at <= ? ORDER BY seq LIMIT ?",
                (now, now, capacity),
            ).fetchall()
            for message_id, body, attributes, attempts, first_attempt_at in rows:
                if self.redelivery.exhausted(attempts, now - first_attempt_at):  # its last lease expired unacked
                    self._dead_letter(connection, message_id, attempts, now - first_attempt_at)
                    continue
                token = uuid.uuid4().hex
                connection.execute(
                    "UPDATE messages SET delivery_attempt = ?, visible_at = ?, lease = ?, first_attempt_at = ?"
                    " WHERE id = ?",
                    (attempts + 1, now + self.ack_deadline_s, token, first_attempt_at, message_id),
                )
                leased.append((token, Delivery(message_id, bytes(body), json.loads(attributes), attempts + 1)))
        return leased

    def _handle(self, handler: Callable[[Delivery], Verdict], token: str, delivery: Delivery) -> None:
        try:
            verdict = handler(delivery)
        except Exception:
            log.exception("refresh handler failed on message %s; nacking", delivery.message_id)
            verdict = Verdict.NACK
        try:
            if verdict is Verdict.ACK:
                self._ack(token, delivery)
            else:
                self._nack(token, delivery)
        except StoreUnavailable as exc:  # the lease will expire and the message come back
            log.warning("could not settle message %s (%s); it will be redelivered", delivery.message_id, exc)
        except Exception:
            # The lease will expire and the message come back: at-least-once still holds.
            log.exception("could not settle message %s; it will be redelivered", delivery.message_id)

    def _ack(self, token: str, delivery: Delivery) -> None:
        with self._db.transaction() as connection:
            deleted = connection.execute("DELETE FROM messages WHERE lease = ?", (token,)).rowcount
        if not deleted:
            log.warning("late ack of message %s ignored: its lease had expired", delivery.message_id)

    def _nack(self, token: str, delivery: Delivery) -> None:
        """Dead-letter the message if its attempts and time are used up, else hide it for the next backoff."""
        with self._db.transaction() as connection:
            row = connection.execute("SELECT first_attempt_at FROM messages WHERE lease = ?", (token,)).fetchone()
            if row is None:
                return  # the lease expired meanwhile: the message is someone else's now
            now = time.time()
            retrying_for_s = now - (row[0] if row[0] is not None else now)
            if self.redelivery.exhausted(delivery.delivery_attempt, retrying_for_s):
                self._dead_letter(connection, delivery.message_id, delivery.delivery_attempt, retrying_for_s)
                return
            connection.execute(
                "UPDATE messages SET visible_at = ?, lease = NULL WHERE lease = ?",
                (now + self.redelivery.backoff_s(delivery.delivery_attempt), token),
            )

    def _release(self, tokens: list[str], delay_s: float) -> None:
        with self._db.transaction() as connection:
            connection.executemany(
                "UPDATE messages SET visible_at = ?, lease = NULL WHERE lease = ?",
                [(time.time() + delay_s, token) for token in tokens],
            )

    def _extend(self, tokens: list[str]) -> None:
        if tokens:
            with self._db.transaction() as connection:
                connection.executemany(
                    "UPDATE messages SET visible_at = ? WHERE lease = ?",
                    [(time.time() + self.ack_deadline_s, token) for token in tokens],
                )

    def _dead_letter(
        self, connection: sqlite3.Connection, message_id: str, attempts: int, retrying_for_s: float
    ) -> None:
        """Move a message to dead_letters, like a dead-letter topic: kept for operators, never redelivered."""
        connection.execute(
            "INSERT OR REPLACE INTO dead_letters (id, body, attributes, delivery_attempt, dead_at)"
            " SELECT id, body, attributes, ?, ? FROM messages WHERE id = ?",
            (attempts, time.time(), message_id),
        )
        connection.execute("DELETE FROM messages WHERE id = ?", (message_id,))
        log.error(
            "refresh message %s dead-lettered after %d delivery attempts over %.0f s",
            message_id,
            attempts,
            retrying_for_s,
        )

    def pending(self) -> int:
        """Messages not yet acked or dead-lettered, leased or not (for operators and tests)."""
        with translated(f"cannot read {self.path}"):
            return int(self._db.get().execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def dead_letters(self) -> list[Delivery]:
        """Dead-lettered messages, oldest first, as last delivered: body and attributes kept for a replay."""
        with translated(f"cannot read {self.path}"):
            rows = (
                self._db.get()
                .execute("SELECT id, body, attributes, delivery_attempt FROM dead_letters ORDER BY dead_at")
                .fetchall()
            )
        return [Delivery(i, bytes(b), json.loads(a), int(n)) for i, b, a, n in rows]

    def close(self) -> None:
        """Close this object's connections (messages stay in the file)."""
        self._db.close()
