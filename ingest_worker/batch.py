"""Refresh many coins at once: one read of the stored documents, writes in batches, coins in flight together.

A message of many symbols (embedded `all`, or a batch) would otherwise cost two
store round trips per coin and wait, coin after coin, for each coin's slowest
exchange. Here the stored documents are read in one call, `coins_in_flight`
coins ask their exchanges at the same time (each exchange's own throttle spaces
its requests, so every exchange stays busy and the slowest sets the pace), and
decided documents are saved together as they come: `write_every` at a time, or
whatever is decided once `write_interval_s` has passed since the last save, so a
long batch shows its progress and a crash loses at most a second of work, never
a stored document (every save is conditional, as save_if_better). Coins run in
daemon threads: a coin still waiting for a hung exchange when the worker stops
(its message already released for redelivery) must not hold the process up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from common.document import CoinDocument, same_facts
from common.ports import CoinStore, PriceSource
from ingest_worker.refresh import decide_coin, log_saved

log = logging.getLogger(__name__)

# Coins whose exchanges are asked at the same time: enough that the slowest exchange always has
# a request waiting for its turn, few enough to bound threads (one per exchange per coin).
COINS_IN_FLIGHT = 24
# Decided documents saved per store commit, at most; and at least once a second while coins are decided.
WRITE_EVERY = 50
WRITE_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class Refreshed:
    """One coin's refresh: its document (saved, or unchanged) or the error that stopped it.

    `known`: the store held a document of the coin before this refresh.
    """

    symbol: str
    doc: CoinDocument | None
    error: Exception | None
    known: bool
    seconds: float


def refresh_coins(
    symbols: Sequence[str],
    sources: Sequence[PriceSource],
    store: CoinStore,
    now: datetime,
    *,
    force: bool = False,
    sample_data: bool = False,
    coins_in_flight: int = COINS_IN_FLIGHT,
    write_every: int = WRITE_EVERY,
    write_interval_s: float = WRITE_INTERVAL_S,
) -> Iterator[Refreshed]:
    """Refresh every symbol (duplicates once); yields each coin's outcome once its document is saved.

    A store error while reading the batch raises (nothing was asked yet); while saving, it
    becomes the outcome of every coin of that write.
    """
    unique = list(dict.fromkeys(symbols))
    existing = store.get_many(unique)
    pending: list[Refreshed] = []
    in_flight = max(1, coins_in_flight)
    saved_at = -float("inf")  # the first decided coin is saved at once
    for outcome in _decided(unique, sources, existing, now, (force, sample_data), in_flight):
        if outcome.doc is None or outcome.doc is existing.get(outcome.symbol):
            yield outcome  # failed, or unchanged: nothing to write
            continue
        pending.append(outcome)
        if len(pending) >= write_every or time.monotonic() - saved_at > write_interval_s:
            yield from _save(store, pending)
            pending, saved_at = [], time.monotonic()
    yield from _save(store, pending)


def _decided(
    symbols: list[str],
    sources: Sequence[PriceSource],
    existing: dict[str, CoinDocument],
    now: datetime,
    flags: tuple[bool, bool],
    in_flight: int,
) -> Iterator[Refreshed]:
    """Each coin's decided document as it completes, at most `in_flight` coins running at a time.

    `flags` are (force, sample_data). Each coin runs in a daemon thread of its own (see the module's
    docstring); each asks its sources in threads of their own (decide_coin).
    """
    force, sample_data = flags

    def one(symbol: str) -> Refreshed:
        started = time.perf_counter()
        stored = existing.get(symbol)
        try:
            doc = decide_coin(symbol, sources, stored, now, force=force, sample_data=sample_data)
        except Exception as exc:  # the caller maps each error to its outcome, as for one coin
            return Refreshed(symbol, None, exc, stored is not None, time.perf_counter() - started)
        if stored is not None and same_facts(doc, stored):
            log.info("%s unchanged since %s", symbol, doc.as_of.isoformat())
            doc = stored
        return Refreshed(symbol, doc, None, stored is not None, time.perf_counter() - started)

    finished: queue.SimpleQueue[Refreshed] = queue.SimpleQueue()

    def start(symbol: str) -> None:
        thread = threading.Thread(target=lambda: finished.put(one(symbol)), name=f"refresh-{symbol}", daemon=True)
        thread.start()

    waiting = iter(symbols)
    running = 0
    for symbol in islice(waiting, in_flight):
        start(symbol)
        running += 1
    while running:
        outcome = finished.get()
        running -= 1
        next_symbol = next(waiting, None)
        if next_symbol is not None:
            start(next_symbol)
            running += 1
        yield outcome


def _save(store: CoinStore, outcomes: list[Refreshed]) -> Iterator[Refreshed]:
    """One conditional batch write; a store error is the outcome of every coin in it."""
    if not outcomes:
        return
    docs = [outcome.doc for outcome in outcomes if outcome.doc is not None]
    try:
        written = store.save_all_if_better(docs)
    except Exception as exc:  # StoreUnavailable, or a bug: each coin is retried or recorded by the caller
        for outcome in outcomes:
            yield Refreshed(outcome.symbol, None, exc, outcome.known, outcome.seconds)
        return
    for doc, saved in zip(docs, written, strict=True):
        log_saved(doc, saved)
    yield from outcomes
