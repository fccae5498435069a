"""Coin documents in Cloud Firestore: one document per coin, id = symbol, fields = to_dict(doc, binary=True).

Writes are transactions (read, is_improvement, set) so two workers refreshing
the same coin can never move it back in time. Batches use one transaction per
chunk with get_all: a WriteBatch cannot be conditional on the stored content,
only on update time or existence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from google.api_core import exceptions
from google.api_core import retry as retries
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from backends.firestore_expect import ReadVersions, Version, save_expected
from backends.firestore_watch import FirestoreWatcher, parse_snapshot, stored_fields
from backends.keys import symbol_key
from common.document import SCHEMA_VERSION, CoinDocument, is_improvement, to_dict
from common.errors import StoreUnavailable
from common.status import RefreshFailure, RefreshOutcome

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
# A transaction may write 500 documents; each coin writes two (document and status).
CHUNK = 200
# Firestore takes commits of up to 10 MiB, its emulator gRPC messages of up to 4 MiB: a chunk stays
# under both, whatever the histories weigh.
CHUNK_BYTES = 3 * 1024 * 1024


class FirestoreCoinStore:
    """CoinStore and CoinFeed over a Firestore collection."""

    def __init__(
        self,
        client: firestore.Client,
        collection: str = "coins",
        status_collection: str = "coin_status",
        *,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.client = client
        self.coins = client.collection(collection)
        self.status = client.collection(status_collection)
        self.timeout_s = timeout_s
        self._watchers: list[FirestoreWatcher] = []
        self._read = ReadVersions()  # what get_many read, for the conditional save of the same batch

    def get(self, symbol: str) -> CoinDocument | None:
        """The stored document of `symbol`, if any."""
        with translated(f"cannot read {symbol}"):
            return parse_snapshot(self.coins.document(symbol_key(symbol)).get(timeout=self.timeout_s))

    def get_many(self, symbols: Sequence[str]) -> dict[str, CoinDocument]:
        """The stored documents of `symbols`, by symbol, from one streamed get_all (one round trip)."""
        refs = [self.coins.document(key) for key in dict.fromkeys(symbol_key(symbol) for symbol in symbols)]
        if not refs:
            return {}
        found: dict[str, CoinDocument] = {}
        versions: dict[str, Version] = {}
        with translated("cannot read coin documents"):
            for snapshot in self.client.get_all(refs, timeout=self.timeout_s):
                doc = parse_snapshot(snapshot)
                if doc is not None:
                    found[snapshot.id] = doc
                    current = stored_fields(snapshot).get("schema_version") == SCHEMA_VERSION
                    versions[snapshot.id] = Version(snapshot.update_time, doc, current_schema=current)
                elif not snapshot.exists:
                    versions[snapshot.id] = Version(None, None)
        self._read.remember(versions)  # a corrupt document is left out: its save takes the transaction
        return found

    def save_if_better(self, doc: CoinDocument) -> bool:
        """Write `doc` unless the stored one is better; True if written."""
        return self.save_all_if_better([doc])[0]

    def save_all_if_better(self, docs: Sequence[CoinDocument]) -> list[bool]:
        """save_if_better for many coins, one commit per chunk of CHUNK coins.

        A chunk whose documents get_many just read is compared with that read and committed on
        condition that none changed since (firestore_expect); otherwise, or if one did, in a
        transaction that reads them again.
        """
        keys = [symbol_key(doc.symbol) for doc in docs]  # validate all before writing any
        written: list[bool] = []
        for chunk in _chunks(list(zip(keys, docs, strict=True))):
            with translated("cannot save coin documents"):
                versions = self._read.take([key for key, _ in chunk])
                saved = None
                if versions is not None:
                    saved = save_expected(self.client, self.coins, self.status, chunk, versions, self.timeout_s)
                if saved is None:
                    saved = firestore.transactional(self._save_chunk)(self.client.transaction(), chunk)
                written.extend(saved)
        return written

    def _save_chunk(self, transaction: Any, chunk: list[tuple[str, CoinDocument]]) -> list[bool]:
        # Rerun from the top by the client if another writer commits first: reads are never stale.
        refs = [self.coins.document(key) for key, _ in chunk]
        stored = {snap.id: parse_snapshot(snap) for snap in transaction.get_all(refs, timeout=self.timeout_s)}
        written: list[bool] = []
        for (key, doc), ref in zip(chunk, refs, strict=True):
            better = is_improvement(doc, stored.get(key))
            if better:
                transaction.set(ref, to_dict(doc, binary=True))
                transaction.set(self.status.document(key), {"ok": True, "reason": None, "at": doc.computed_at})
                stored[key] = doc  # a later duplicate in the same chunk compares against this one
            written.append(better)
        return written

    def record_failure(self, symbol: str, reason: str, at: datetime) -> None:
        """Note why `symbol`'s refresh failed, in the status collection only."""
        key = symbol_key(symbol)
        with translated(f"cannot record the failure of {key}"):
            self.status.document(key).set({"ok": False, "reason": reason, "at": at}, timeout=self.timeout_s)

    def failure(self, symbol: str) -> tuple[str, datetime] | None:
        """The last refresh failure of `symbol` and when, unless a save succeeded since (for operators)."""
        with translated(f"cannot read the status of {symbol}"):
            snapshot = self.status.document(symbol_key(symbol)).get(timeout=self.timeout_s)
        data = snapshot.to_dict() if snapshot.exists else None
        if not data or data.get("ok", True):
            return None
        return str(data["reason"]), data["at"]

    def failures(self) -> list[RefreshFailure]:
        """Every coin whose last refresh failed, by symbol (for operators)."""
        query = self.status.where(filter=FieldFilter("ok", "==", False))
        with translated("cannot read coin statuses"):
            snapshots = list(query.stream(timeout=self.timeout_s))
        found = [(snapshot.id, snapshot.to_dict() or {}) for snapshot in snapshots]
        return sorted(
            (RefreshFailure(key, str(data.get("reason")), data["at"]) for key, data in found if "at" in data),
            key=lambda failure: failure.symbol,
        )

    def outcomes_since(self, since: datetime) -> list[RefreshOutcome]:
        """Each coin's latest refresh outcome recorded at or after `since` (whole seconds), oldest first."""
        floor = since.replace(microsecond=0)  # the same granularity as the embedded store
        query = self.status.where(filter=FieldFilter("at", ">=", floor)).order_by("at")
        with translated("cannot read coin statuses"):
            snapshots = list(query.stream(timeout=self.timeout_s))
        found = [(snapshot.id, snapshot.to_dict() or {}) for snapshot in snapshots]
        return [
            RefreshOutcome(key, bool(data.get("ok")), data.get("reason"), data["at"])
            for key, data in found
            if "at" in data
        ]

    def load_all(self) -> list[CoinDocument]:
        """Every readable document (corrupt ones are logged and skipped)."""
        # The default retry policy keeps retrying an unreachable Firestore for minutes without a word: bounded
        # here, a failed load is reported (StoreUnavailable) and the caller retries it, saying so.
        with translated("cannot load coin documents"):
            snapshots = list(self.coins.stream(timeout=self.timeout_s, retry=retries.Retry(timeout=self.timeout_s)))
        return [doc for snapshot in snapshots if (doc := parse_snapshot(snapshot)) is not None]

    def watch(
        self, on_change: Callable[[list[CoinDocument]], None], on_health: Callable[[bool], None]
    ) -> FirestoreWatcher:
        """Listen to the collection; the first call carries every current document."""
        watcher = FirestoreWatcher(self.coins, on_change, on_health)
        self._watchers.append(watcher)
        watcher.start()
        return watcher

    def follow(
        self,
        on_change: Callable[[list[CoinDocument]], None],
        on_health: Callable[[bool], None],
        timeout_s: float,
    ) -> tuple[list[CoinDocument], FirestoreWatcher]:
        """One listener whose first snapshot is the load: each document is read once at start, not twice."""
        watcher = FirestoreWatcher(self.coins, on_change, on_health, hold_first=True)
        self._watchers.append(watcher)
        watcher.start()
        docs = watcher.first_snapshot(timeout_s)
        if docs is None:
            watcher.close()
            self._watchers.remove(watcher)
            raise StoreUnavailable(
                f"cannot load coin documents: the store is unreachable, or no snapshot of {self.coins.id!r}"
                f" came within {timeout_s:g} s"
            )
        return docs, watcher

    @property
    def listener_reads(self) -> int:
        """Documents the listeners have received so far (the start-up load included)."""
        return sum(watcher.reads for watcher in self._watchers)

    def close(self) -> None:
        """Stop every listener (the client belongs to the caller)."""
        for watcher in self._watchers:
            watcher.close()
        self._watchers.clear()


def _chunks(items: list[tuple[str, CoinDocument]]) -> Iterator[list[tuple[str, CoinDocument]]]:
    """Consecutive chunks of at most CHUNK coins and about CHUNK_BYTES of history each."""
    chunk: list[tuple[str, CoinDocument]] = []
    size = 0
    for item in items:
        # 8 bytes per history day (closes packed as bytes), plus the rest of the document.
        weight = len(item[1].history_times) * 8 + 4096
        if chunk and (len(chunk) >= CHUNK or size + weight > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += weight
    if chunk:
        yield chunk


@contextmanager
def translated(what: str) -> Iterator[None]:
    """The one place that turns Google API errors into StoreUnavailable."""
    try:
        yield
    except exceptions.GoogleAPIError as exc:
        raise StoreUnavailable(f"{what}: {exc}") from exc
    except ValueError as exc:  # what the transaction decorator raises once it gives up retrying
        if "transaction" not in str(exc).lower():
            raise
        raise StoreUnavailable(f"{what}: {exc}") from exc
