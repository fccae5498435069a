"""Refreshing many coins at once: one read of the batch, batched writes, coins in flight together."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from common.document import CoinDocument
from common.errors import ExchangeUnavailable, StoreUnavailable, UnknownSymbol
from common.ports import FirstDay, Pair
from ingest_worker.batch import refresh_coins
from ingest_worker.refresh import refresh_coin
from tests.unit.fakes import NOW, FakeCoin, FakePriceSource, InMemoryCoinStore, daily_candles

LISTED = datetime(2020, 1, 2, tzinfo=UTC)
SYMBOLS = [f"C{i:03d}" for i in range(1, 13)]


def kraken(symbols: Sequence[str] = SYMBOLS) -> FakePriceSource:
    coins = {s: FakeCoin(f"{s}USD", daily_candles(LISTED, NOW.replace(hour=0), lambda i: 1.0 + i)) for s in symbols}
    return FakePriceSource("kraken", coins)


class CountingStore(InMemoryCoinStore):
    """Counts the store round trips a refresh makes, and can fail its batch writes."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = self.get_manys = 0
        self.writes: list[int] = []
        self.fail_writes = False

    def get(self, symbol: str) -> CoinDocument | None:
        self.gets += 1
        return super().get(symbol)

    def get_many(self, symbols: Sequence[str]) -> dict[str, CoinDocument]:
        self.get_manys += 1
        return super().get_many(symbols)

    def save_if_better(self, doc: CoinDocument) -> bool:
        self.writes.append(1)
        return super().save_if_better(doc)

    def save_all_if_better(self, docs: Sequence[CoinDocument]) -> list[bool]:
        if self.fail_writes:
            raise StoreUnavailable("the store is away")
        self.writes.append(len(docs))
        return [InMemoryCoinStore.save_if_better(self, doc) for doc in docs]


def test_a_batch_reads_its_documents_once_and_writes_in_batches() -> None:
    store = CountingStore()
    outcomes = list(refresh_coins(SYMBOLS, [kraken()], store, NOW, write_every=5, write_interval_s=float("inf")))
    assert sorted(o.symbol for o in outcomes) == SYMBOLS
    assert all(o.error is None and o.doc is not None and not o.known for o in outcomes)
    assert store.gets == 0 and store.get_manys == 1
    assert sorted(store.writes) == [2, 5, 5]
    assert sorted(store.docs) == SYMBOLS


def test_the_same_documents_as_one_coin_at_a_time() -> None:
    one, many = InMemoryCoinStore(), InMemoryCoinStore()
    for symbol in SYMBOLS[:3]:
        refresh_coin(symbol, [kraken()], one, NOW)
    list(refresh_coins(SYMBOLS[:3], [kraken()], many, NOW))
    assert many.docs == one.docs


def test_an_unchanged_coin_is_not_written_again_and_reads_as_known() -> None:
    store = CountingStore()
    list(refresh_coins(SYMBOLS[:2], [kraken()], store, NOW))
    store.writes.clear()
    outcomes = list(refresh_coins(SYMBOLS[:2], [kraken()], store, NOW))
    assert store.writes == [] and all(o.known and o.doc is store.docs[o.symbol] for o in outcomes)


def test_each_coin_carries_its_own_error_and_the_others_are_saved() -> None:
    store = CountingStore()
    outcomes = {o.symbol: o for o in refresh_coins(["C001", "ZZZ", "C002"], [kraken()], store, NOW)}
    assert isinstance(outcomes["ZZZ"].error, UnknownSymbol) and outcomes["ZZZ"].doc is None
    assert sorted(store.docs) == ["C001", "C002"]


def test_a_failed_write_is_the_outcome_of_every_coin_in_it_and_nothing_is_lost() -> None:
    store = CountingStore()
    list(refresh_coins(["C001"], [kraken()], store, NOW))
    before = store.docs["C001"]
    store.fail_writes = True
    outcomes = {o.symbol: o for o in refresh_coins(["C001", "C002", "C003"], [kraken()], store, NOW)}
    assert outcomes["C001"].error is None and outcomes["C001"].doc is before  # unchanged: nothing to write
    assert all(isinstance(outcomes[s].error, StoreUnavailable) and outcomes[s].doc is None for s in ("C002", "C003"))
    assert store.docs == {"C001": before}


def test_coins_are_in_flight_together_up_to_the_bound() -> None:
    """Each coin's exchange call waits until three are waiting at once: one coin at a time would time out."""
    gate = threading.Barrier(3, timeout=5)

    class Gathering(FakePriceSource):
        def first_day(self, pair: Pair) -> FirstDay:
            try:
                gate.wait()
            except threading.BrokenBarrierError as exc:
                raise ExchangeUnavailable("coins were asked one after another") from exc
            return super().first_day(pair)

    source = Gathering("kraken", kraken(SYMBOLS[:3]).coins)
    outcomes = list(refresh_coins(SYMBOLS[:3], [source], InMemoryCoinStore(), NOW, coins_in_flight=3))
    assert all(o.error is None for o in outcomes)


def test_the_first_decided_coin_is_saved_at_once_and_the_rest_as_they_come() -> None:
    store = CountingStore()
    list(refresh_coins(SYMBOLS, [kraken()], store, NOW, write_every=5, write_interval_s=1_000.0))
    assert store.writes[0] == 1, "a long batch shows progress from its first coin"
    assert sum(store.writes) == len(SYMBOLS) and max(store.writes) <= 5
