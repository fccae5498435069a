"""The benchmark's refresh and gcp-mode figures: the worker's own cost (target 4), refreshes bounded by the
exchanges (target 5), and the query service's cold start on the Firestore emulator (target 3).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from bench import exchange_bound, query, worker
from bench.gcp import PROJECT, start_firestore
from bench.ingest import Clock, InFlight, fake_exchanges, timed_sources, warm_pair_lists
from bench.processes import Processes
from common.document import CoinDocument
from common.ports import CoinStore, PriceSource
from fake_exchange.market import FakeMarket
from fake_exchange.server import FakeExchange
from ingest_worker.batch import COINS_IN_FLIGHT

GCP_COLD_START_MAX_S = 1.5  # target 3
INGEST_COINS = 24  # full histories from five exchanges: ~0.35 s of (unthrottled) exchange time each
INGEST_COINS_TINY = 4
# Target 5 in about a minute: Kraken's 1 request/s (three a coin on a first refresh) scaled 6x.
BOUND_COINS = 40
BOUND_SPEEDUP = 6.0


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def ingest_section(
    args: argparse.Namespace,
    procs: Processes,
    work_dir: Path,
    market: FakeMarket,
    docs: list[CoinDocument],
    now: datetime,
) -> None:
    from backends.sqlite_store import SQLiteCoinStore

    symbols = [doc.symbol for doc in docs]
    coins = symbols[: INGEST_COINS_TINY if args.tiny else INGEST_COINS]
    section(f"Ingest: {len(coins)} coins from the five loopback fake exchanges, no rate limits "
            "(worker's own cost = wall - time some GET was in flight)")  # fmt: skip
    in_flight = InFlight()
    clock = Clock(now)
    with fake_exchanges(market, clock) as fakes:
        sources = unthrottled_sources(fakes, in_flight)

        def embedded(mode: str) -> CoinStore:
            return SQLiteCoinStore(work_dir / f"ingest-{mode.replace(' ', '-')}" / "coins.sqlite3")

        for result in worker.run_store("embedded", coins, sources, in_flight, embedded, clock):
            worker.print_result(result, target=False)
        gcp_section(args, procs, work_dir, docs, coins, sources, in_flight, clock)
    bound_section(args, work_dir, market, symbols, now)


def gcp_only(
    args: argparse.Namespace,
    procs: Processes,
    work_dir: Path,
    market: FakeMarket,
    docs: list[CoinDocument],
    now: datetime,
) -> None:
    """Targets 3 and 4 alone (`--only-gcp`): the worker's cost and the cold start on a fresh emulator."""
    coins = [doc.symbol for doc in docs][:INGEST_COINS]
    section(f"Ingest on the Firestore emulator: {len(coins)} coins from the five loopback fake exchanges")
    in_flight = InFlight()
    clock = Clock(now)
    with fake_exchanges(market, clock) as fakes:
        gcp_section(args, procs, work_dir, docs, coins, unthrottled_sources(fakes, in_flight), in_flight, clock)


def unthrottled_sources(fakes: Mapping[str, FakeExchange], in_flight: InFlight) -> Callable[[], list[PriceSource]]:
    """A fresh set of adapters on the fakes, unthrottled and with their pair lists read, per call."""

    def sources() -> list[PriceSource]:
        built = timed_sources(fakes, in_flight, throttled=False)
        warm_pair_lists(built)
        return built

    return sources


def bound_section(
    args: argparse.Namespace, work_dir: Path, market: FakeMarket, symbols: list[str], now: datetime
) -> None:
    from backends.sqlite_store import SQLiteCoinStore

    coins, speedup = (symbols[:4], 20.0) if args.tiny else (symbols[:BOUND_COINS], BOUND_SPEEDUP)
    section(f"Refresh bounded by the exchanges: one message of {len(coins)} coins through the handler "
            f"({COINS_IN_FLIGHT} coins in flight), the fakes enforcing each exchange's published limit")  # fmt: skip
    print(f"(scaled to fit the benchmark: limits and the adapters' spacing {speedup:.0f}x faster, and {len(coins)} "
          f"coins for both refreshes instead of 200 first / 1,000 daily; floor = max over exchanges of requests "
          f"admitted / allowed rate; embedded store)")  # fmt: skip
    store = SQLiteCoinStore(work_dir / "bound" / "coins.sqlite3")
    try:
        for bound in exchange_bound.run(market, coins, store, now, speedup):
            exchange_bound.report(bound, speedup)
    finally:
        store.close()


def gcp_section(
    args: argparse.Namespace,
    procs: Processes,
    work_dir: Path,
    docs: list[CoinDocument],
    coins: list[str],
    sources: Callable[[], list[PriceSource]],
    in_flight: InFlight,
    clock: Clock,
) -> None:
    if args.skip_gcp:
        print("SKIPPED gcp mode (Firestore emulator): --skip-gcp given")
        return
    host, emulator, why = start_firestore(procs)
    if host is None or emulator is None:
        print(f"SKIPPED gcp mode (Firestore emulator): {why}")
        return
    os.environ["FIRESTORE_EMULATOR_HOST"] = host  # read by the client library this process builds
    try:
        from google.cloud import firestore

        from backends.firestore_store import FirestoreCoinStore

        def emulated(mode: str) -> CoinStore:
            return FirestoreCoinStore(firestore.Client(project=f"{PROJECT}-{mode.replace(' ', '-')}"))

        for result in worker.run_store("Firestore emulator", coins, sources, in_flight, emulated, clock):
            worker.print_result(result, target=True)
        gcp_cold_start(procs, work_dir, host, docs)
    finally:
        del os.environ["FIRESTORE_EMULATOR_HOST"]
        procs.stop(emulator)


def gcp_cold_start(procs: Processes, work_dir: Path, host: str, docs: list[CoinDocument]) -> None:
    """Target 3: `delos serve` in gcp mode to SERVING over every document; then the reads of one load counted."""
    from google.cloud import firestore

    from backends.firestore_store import FirestoreCoinStore

    section(f"Cold start in gcp mode: process start to SERVING with {len(docs)} coins on the Firestore emulator")
    client = firestore.Client(project=PROJECT)
    store = FirestoreCoinStore(client)
    started = time.perf_counter()
    store.save_all_if_better(docs)
    print(f"(the {len(docs)} documents written in {time.perf_counter() - started:.1f} s first)")
    env = {"DELOS_BACKEND": "gcp", "GOOGLE_CLOUD_PROJECT": PROJECT, "FIRESTORE_EMULATOR_HOST": host}
    runs = [query.cold_start(procs, work_dir, env) for _ in range(2)]
    seconds = statistics.median(r.seconds for r in runs)
    print(f"{verdict(seconds <= GCP_COLD_START_MAX_S)} target 3: SERVING in {seconds:.3f} s median of "
          f"{', '.join(f'{r.seconds:.3f}' for r in runs)} (target <= {GCP_COLD_START_MAX_S} s); RSS "
          f"{max(r.rss_settled_mib for r in runs):.1f} MiB")  # fmt: skip
    loaded, subscription = store.follow(lambda _docs: None, lambda _healthy: None, timeout_s=60.0)
    reads = store.listener_reads
    subscription.close()
    store.close()
    client.close()  # type: ignore[no-untyped-call]
    print(f"{verdict(reads == len(loaded) == len(docs))} target 3: reads counted by CoinFeed.follow() run "
          f"in-process as `delos serve` loads: {reads} for {len(loaded)} documents "
          f"({reads / max(1, len(loaded)):.2f} per document, target 1)")  # fmt: skip
