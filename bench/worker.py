"""The ingest worker's figures: coins/s and own cost per coin, first and daily refreshes, on each store.

Target 4: the worker's own cost (wall minus the time some GET was in flight)
is at most 5 ms per coin on the Firestore emulator. Each store runs a FIRST
refresh (no documents: full histories from five exchanges) then a DAILY one
(documents stored: only what is new), coin by coin as `refresh_coin` does and
as one batch as the handler does, so the batching's gain is measured in the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bench.ingest import Clock, InFlight, IngestResult, Refresh, ingest
from common.ports import CoinStore, PriceSource
from ingest_worker.batch import refresh_coins
from ingest_worker.refresh import refresh_coin

WORKER_MS_PER_COIN_MAX = 5.0


def one_by_one(symbols: Sequence[str], sources: Sequence[PriceSource], store: CoinStore, now: datetime) -> None:
    """The single-coin use case, once per coin: one read and one write per coin."""
    for symbol in symbols:
        refresh_coin(symbol, sources, store, now)


def batched(symbols: Sequence[str], sources: Sequence[PriceSource], store: CoinStore, now: datetime) -> None:
    """The handler's batch path: one read of the batch, writes WRITE_EVERY at a time.

    One coin in flight, so that the time no GET is in flight is the worker's own: with
    coins overlapping, some GET is nearly always in flight and the figure would mean nothing
    (the handler's coins in flight are measured against the exchanges' limits instead).
    """
    for _ in refresh_coins(symbols, sources, store, now, coins_in_flight=1):
        pass


# Before (the single-coin use case per coin) and after (the batch path), on the same store kind.
MODES: dict[str, Refresh] = {"coin by coin": one_by_one, "batched": batched}


def run_store(
    store_label: str,
    symbols: Sequence[str],
    new_sources: Callable[[], list[PriceSource]],
    in_flight: InFlight,
    new_store: Callable[[str], CoinStore],
    clock: Clock,
    modes: dict[str, Refresh] | None = None,
) -> list[IngestResult]:
    """For each mode, a fresh store and fresh adapters (nothing cached from the mode before):
    a first refresh of every symbol a day ago, then today's daily one."""
    results = []
    today = clock.at
    for mode, refresh in (modes or MODES).items():
        store = new_store(mode)
        sources = new_sources()
        try:
            for kind, at in (("first", today - timedelta(days=1)), ("daily", today)):
                clock.at = at
                label = f"{store_label}, {kind} refresh, {mode}"
                results.append(ingest(label, symbols, sources, in_flight, store, at, refresh))
        finally:
            for source in sources:
                source.close()
            close = getattr(store, "close", None)
            if close is not None:
                close()
    return results


def print_result(result: IngestResult, *, target: bool) -> None:
    """One line; `target`: judged against target 4 (on the Firestore emulator), else for information."""
    figures = (
        f"{result.label}: {result.coins_per_s:.1f} coins/s; worker {result.worker_ms_per_coin:.2f} ms/coin, "
        f"exchanges+HTTP {result.http_s / result.coins * 1000:.1f} ms/coin, "
        f"{result.requests / result.coins:.1f} requests/coin"
    )
    if target:
        ok = result.worker_ms_per_coin <= WORKER_MS_PER_COIN_MAX
        print(f"{'PASS' if ok else 'FAIL'} {figures} (target 4: <= {WORKER_MS_PER_COIN_MAX:.0f} ms)", flush=True)
    else:
        print(f"INFO {figures}", flush=True)
