"""Conditional batch writes from what get_many read, so that a batch refresh reads each document once.

save_if_better must compare with the stored document. A transaction reads it
again at commit; but when the batch's documents were just read by get_many, the
comparison can be made with that read and the write made conditional on the
document being unchanged since (its update time, or its absence). One commit,
no second read; if any document changed meanwhile, the commit is refused as a
whole and the caller falls back to the transaction, which reads afresh. Since
the read document is known, the update sends only the fields that differ from it
(changed_fields): a daily refresh writes a few KiB per coin, not its whole history.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions

from common.document import CoinDocument, history_field, is_improvement, summary_fields, to_dict
from common.packing import BLOCK_DAYS, block_key, pack, pack_times

# Versions remembered at most; past this the memory is dropped (those saves take the transaction).
MAX_REMEMBERED = 20_000


@dataclass(frozen=True, slots=True)
class Version:
    """A document as get_many read it: its update time (None: it did not exist), content, and whether it
    is of the current schema (its fields are then exactly those to_dict writes)."""

    update_time: Any
    doc: CoinDocument | None
    current_schema: bool = False


class ReadVersions:
    """The versions get_many read, by key, until a save uses them; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, Version] = {}

    def remember(self, versions: Mapping[str, Version]) -> None:
        with self._lock:
            if len(self._versions) + len(versions) > MAX_REMEMBERED:
                self._versions.clear()
            self._versions.update(versions)

    def take(self, keys: Sequence[str]) -> dict[str, Version] | None:
        """The versions of every key, forgotten now; None (all kept) unless each is known."""
        with self._lock:
            if not all(key in self._versions for key in keys):
                return None
            return {key: self._versions.pop(key) for key in keys}


def save_expected(
    client: Any,
    coins: Any,
    status: Any,
    chunk: Sequence[tuple[str, CoinDocument]],
    versions: Mapping[str, Version],
    timeout_s: float,
) -> list[bool] | None:
    """save_if_better for `chunk` against `versions`, in one conditional commit; None if any document changed.

    None too, before any write, when the chunk names a coin twice or a stored document is of an
    older schema (fields the new one lacks: an update would leave them, the transaction's set does not).
    """
    if len({key for key, _ in chunk}) != len(chunk):
        return None
    batch = client.batch()
    written: list[bool] = []
    for key, doc in chunk:
        version = versions[key]
        better = is_improvement(doc, version.doc)
        if better:
            ref = coins.document(key)
            if version.update_time is None:
                batch.create(ref, to_dict(doc, binary=True))
            elif version.current_schema and version.doc is not None:
                changes = changed_fields(doc, version.doc)
                batch.update(ref, changes, option=client.write_option(last_update_time=version.update_time))
            else:
                return None
            batch.set(status.document(key), {"ok": True, "reason": None, "at": doc.computed_at})
        written.append(better)
    if any(written):
        try:
            batch.commit(timeout=timeout_s)
        except (exceptions.FailedPrecondition, exceptions.AlreadyExists, exceptions.Conflict, exceptions.NotFound):
            return None
    return written


def changed_fields(new: CoinDocument, old: CoinDocument) -> dict[str, Any]:
    """The fields of `new`'s stored form that differ from `old`'s, as update() field paths.

    A daily refresh changes the last month, as_of and the newest days of the history: only those
    fields and the block(s) of closes holding the changed days are sent, not fifteen years of
    closes, so the write costs the client, the wire and the store a few KiB instead of ~50.
    An update of one document is atomic: readers see the old document or the new one, never a mix.
    """
    before, after = summary_fields(old, binary=True), summary_fields(new, binary=True)
    changes = {key: value for key, value in after.items() if before.get(key) != value}
    changes["computed_at"] = after["computed_at"]  # never an empty update, whose precondition would go unchecked
    old_closes, new_closes = old.history_closes, new.history_closes
    blocks = -(-len(new_closes) // BLOCK_DAYS)
    if blocks != -(-len(old_closes) // BLOCK_DAYS):
        changes["history"] = history_field(new, binary=True)  # blocks added or gone: the whole history
        return changes
    if new.history_times != old.history_times:
        changes["history.times"] = {"runs": pack_times(new.history_times)}
    for k in range(blocks):
        days = slice(k * BLOCK_DAYS, (k + 1) * BLOCK_DAYS)
        block = pack("d", new_closes[days], binary=True)
        if block != pack("d", old_closes[days], binary=True):  # bytes: exact, unlike float equality
            changes[f"history.closes.{block_key(k)}"] = block
    return changes
