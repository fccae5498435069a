"""One contract for every CoinStore + CoinFeed adapter: SQLite (embedded) and Firestore (emulator)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from backends.sqlite_store import SQLiteCoinStore
from common.document import SCHEMA_VERSION, CoinDocument, to_dict
from common.errors import InvalidRequest
from common.packing import pack
from common.status import RefreshFailure, RefreshOutcome
from tests.emulators import PROJECT
from tests.factories import AS_OF, make_document, unique_name

WAIT_S = 2.0
BAD_SYMBOLS = ["../x", "a/b", "BT\x00C", "ÉTH", "btc", "X" * 1_000_000]


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.emulator)])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    if request.param == "sqlite":
        sqlite_store = SQLiteCoinStore(tmp_path / "coins.sqlite3", poll_interval_s=0.05)
        yield sqlite_store
        sqlite_store.close()
        return
    request.getfixturevalue("firestore_emulator")
    from google.cloud import firestore

    from backends.firestore_store import FirestoreCoinStore

    client: Any = firestore.Client(project=PROJECT)
    firestore_store = FirestoreCoinStore(client, unique_name("coins"), unique_name("status"))
    yield firestore_store
    firestore_store.close()
    client.recursive_delete(firestore_store.coins)
    client.recursive_delete(firestore_store.status)
    client.close()


class Recorder:
    """Collects what a feed reports, with a bounded wait for a condition."""

    def __init__(self) -> None:
        self.docs: list[CoinDocument] = []
        self.health: list[bool] = []
        self.changed = threading.Condition()

    def on_change(self, docs: list[CoinDocument]) -> None:
        with self.changed:
            self.docs.extend(docs)
            self.changed.notify_all()

    def on_health(self, healthy: bool) -> None:
        with self.changed:
            self.health.append(healthy)
            self.changed.notify_all()

    def wait_for(self, doc: CoinDocument, timeout_s: float = WAIT_S) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: doc in self.docs, timeout=timeout_s)


def test_a_saved_document_reads_back_equal(store: Any) -> None:
    doc = make_document("BTC")
    assert store.save_if_better(doc) is True
    assert store.get("BTC") == doc
    assert store.load_all() == [doc]


def test_an_unknown_coin_reads_as_none(store: Any) -> None:
    assert store.get("ETH") is None


def test_an_older_document_never_replaces_a_newer_one(store: Any) -> None:
    newer = make_document("BTC", as_of=AS_OF)
    older = make_document("BTC", as_of=AS_OF - timedelta(days=1), closes=(1.0, 2.0))
    assert store.save_if_better(newer) is True
    assert store.save_if_better(older) is False
    assert store.get("BTC") == newer


def test_sample_data_never_replaces_real_data_even_if_newer(store: Any) -> None:
    real = make_document("BTC", as_of=AS_OF)
    sample = make_document("BTC", as_of=AS_OF + timedelta(days=3), sample_data=True)
    assert store.save_if_better(real) is True
    assert store.save_if_better(sample) is False
    assert store.get("BTC") == real


def test_a_provisional_listing_never_replaces_a_final_one_but_is_completed(store: Any) -> None:
    provisional = make_document("BTC", as_of=AS_OF, listing_complete=False)
    final = make_document("BTC", as_of=AS_OF - timedelta(days=1))
    assert store.save_if_better(provisional) is True
    assert store.save_if_better(final) is True
    assert store.get("BTC") == final
    assert store.save_if_better(make_document("BTC", as_of=AS_OF + timedelta(days=1), listing_complete=False)) is False
    assert store.get("BTC") == final


def test_rewriting_the_same_as_of_is_idempotent(store: Any) -> None:
    doc = make_document("BTC")
    assert store.save_if_better(doc) is True
    assert store.save_if_better(doc) is True
    assert store.load_all() == [doc]


def test_a_failure_is_recorded_without_touching_the_document(store: Any) -> None:
    doc = make_document("BTC")
    store.save_if_better(doc)
    at = AS_OF + timedelta(days=1)
    store.record_failure("BTC", "exchange unavailable", at)
    assert store.get("BTC") == doc
    assert store.failure("BTC") == ("exchange unavailable", at)
    store.save_if_better(make_document("BTC", as_of=AS_OF + timedelta(days=2)))
    assert store.failure("BTC") is None


def test_a_failure_of_an_uncached_coin_creates_no_document(store: Any) -> None:
    store.record_failure("ETH", "unknown symbol", AS_OF)
    assert store.get("ETH") is None
    assert store.load_all() == []


def test_failures_lists_every_coin_whose_last_refresh_failed_by_symbol(store: Any) -> None:
    store.save_if_better(make_document("BTC"))
    store.save_if_better(make_document("ADA"))
    at = AS_OF + timedelta(days=1)
    store.record_failure("SOL", "UnknownSymbol: no USD pair", at)  # never refreshed
    store.record_failure("BTC", "ExchangeUnavailable: HTTP 503", at)
    store.record_failure("ADA", "ExchangeUnavailable: timeout", at)
    store.save_if_better(make_document("ADA", as_of=AS_OF + timedelta(days=2)))  # recovered
    assert store.failures() == [
        RefreshFailure("BTC", "ExchangeUnavailable: HTTP 503", at),
        RefreshFailure("SOL", "UnknownSymbol: no USD pair", at),
    ]


def test_outcomes_since_hold_each_coins_latest_save_or_failure_from_then_on(store: Any) -> None:
    before = AS_OF + timedelta(hours=1)  # make_document's computed_at
    store.save_if_better(make_document("ADA"))  # before `since`: left out
    since = AS_OF + timedelta(hours=2)
    store.save_if_better(make_document("BTC", as_of=AS_OF + timedelta(hours=2)))  # computed at since + 1 h
    store.record_failure("ETH", "ExchangeUnavailable: HTTP 503", since)
    outcomes = store.outcomes_since(since)
    assert outcomes == [
        RefreshOutcome("ETH", False, "ExchangeUnavailable: HTTP 503", since),
        RefreshOutcome("BTC", True, None, since + timedelta(hours=1)),
    ]
    assert store.outcomes_since(since + timedelta(hours=2)) == []
    assert {outcome.symbol for outcome in store.outcomes_since(before)} == {"ADA", "BTC", "ETH"}


def test_no_failures_on_an_empty_store(store: Any) -> None:
    assert store.failures() == []


@pytest.mark.parametrize("bad", BAD_SYMBOLS, ids=["dotdot", "slash", "nul", "unicode", "lowercase", "1MB"])
def test_invalid_symbols_never_become_keys(store: Any, bad: str) -> None:
    with pytest.raises(InvalidRequest):
        store.save_if_better(make_document(bad))
    with pytest.raises(InvalidRequest):
        store.save_all_if_better([make_document("BTC"), make_document(bad)])
    with pytest.raises(InvalidRequest):
        store.record_failure(bad, "nope", AS_OF)
    assert store.load_all() == []


def test_load_all_returns_every_coin(store: Any) -> None:
    docs = [make_document(symbol) for symbol in ("ADA", "BTC", "ETH")]
    for doc in docs:
        store.save_if_better(doc)
    assert sorted(store.load_all(), key=lambda d: d.symbol) == docs


def test_get_many_reads_the_stored_documents_of_a_batch_by_symbol(store: Any) -> None:
    docs = [make_document(symbol) for symbol in ("ADA", "BTC", "ETH")]
    store.save_all_if_better(docs)
    found = store.get_many(["ETH", "DOGE", "ADA", "ETH"])
    assert found == {"ETH": docs[2], "ADA": docs[0]}
    assert store.get_many([]) == {}


def test_get_many_reads_more_coins_than_one_statement_or_call_holds(store: Any) -> None:
    symbols = [f"C{i:04d}" for i in range(1, 702)]
    store.save_all_if_better([make_document(symbol) for symbol in symbols])
    found = store.get_many(symbols)
    assert sorted(found) == symbols
    assert found["C0700"] == store.get("C0700")


def _other_writer(store: Any) -> Any:
    """A second store over the same data, as another worker has."""
    if isinstance(store, SQLiteCoinStore):
        return SQLiteCoinStore(store.path)
    return type(store)(store.client, store.coins.id, store.status.id)


def test_a_batch_read_by_get_many_is_saved_under_the_same_rules(store: Any) -> None:
    store.save_if_better(make_document("ETH", as_of=AS_OF))
    stored = store.get_many(["BTC", "ETH", "SOL"])
    batch = [make_document("BTC"), make_document("ETH", as_of=AS_OF - timedelta(days=1)), make_document("SOL")]
    assert store.save_all_if_better(batch) == [True, False, True]
    assert store.get_many(["BTC", "ETH", "SOL"]) == {"BTC": batch[0], "ETH": stored["ETH"], "SOL": batch[2]}
    newer = make_document("BTC", as_of=AS_OF + timedelta(days=1))
    assert store.save_all_if_better([newer]) == [True] and store.get("BTC") == newer


@pytest.mark.parametrize("existed", [True, False])
def test_a_document_written_by_another_after_get_many_is_never_moved_back(store: Any, existed: bool) -> None:
    if existed:
        store.save_if_better(make_document("BTC", as_of=AS_OF - timedelta(days=2)))
    store.get_many(["BTC"])
    other = _other_writer(store)
    try:
        newest = make_document("BTC", as_of=AS_OF)
        assert other.save_if_better(newest) is True
    finally:
        other.close()
    # Better than what get_many read, older than what the other worker wrote since.
    assert store.save_all_if_better([make_document("BTC", as_of=AS_OF - timedelta(days=1))]) == [False]
    assert store.get("BTC") == newest


def _with_history(doc: CoinDocument, weeks: int, changed_week: int | None = None) -> CoinDocument:
    """`doc` with `weeks` of weekly closes before its as_of (one of them revised if `changed_week`)."""
    first = int(AS_OF.timestamp()) - 604_800 * 3_000
    closes = [1.0 + w for w in range(weeks)]
    if changed_week is not None:
        closes[changed_week] = 0.5
    return replace(doc, history_times=[first + 604_800 * w for w in range(weeks)], history_closes=closes)


def _refreshed(old: CoinDocument, weeks: int, changed_week: int | None) -> CoinDocument:
    """`old` a day later, as a refresh decides it: `weeks` of history (one close revised), other prices."""
    day = timedelta(days=1)
    month = old.last_month
    return replace(
        _with_history(old, weeks, changed_week),
        last_month=replace(month, start=month.start + day, end=month.end + day,
                           close_times=tuple(t + day for t in month.close_times), closes=(5.0, 6.0, 7.0)),
        computed_at=old.computed_at + day,
        price_exchange="bitstamp",
        price_pair="btcusd",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("weeks_before", "weeks_after", "changed_week"),
    [(2_100, 2_101, 1_500), (2_100, 2_101, None), (2_048, 2_049, 3), (2_100, 2_060, None), (2_049, 1_000, None)],
    ids=["one-more-day-and-an-old-close-revised", "one-more-day", "a-new-block", "shorter", "fewer-blocks"],
)
def test_a_refresh_read_by_get_many_reads_back_whole(
    store: Any, weeks_before: int, weeks_after: int, changed_week: int | None
) -> None:
    # Long histories span several stored blocks of closes: a save may rewrite only some of them,
    # and what reads back is still exactly the new document.
    old = _with_history(make_document("BTC"), weeks_before)
    store.save_if_better(old)
    assert store.get_many(["BTC"]) == {"BTC": old}
    new = _refreshed(old, weeks_after, changed_week)

    assert store.save_all_if_better([new]) == [True]

    assert store.get("BTC") == new
    assert store.load_all() == [new]


def test_a_schema_2_document_is_read_and_replaced_whole_by_the_next_save(store: Any) -> None:
    old = _with_history(make_document("BTC"), 1_500)
    stored = to_dict(old)
    stored["schema_version"] = 2
    stored["history"] = {**stored["history"], "closes": pack("d", old.history_closes)}  # schema 2: one string
    _store_raw(store, "BTC", stored, old.as_of)
    assert store.get_many(["BTC"]) == {"BTC": old}
    new = _refreshed(old, 1_501, 2)

    assert store.save_all_if_better([new]) == [True]

    assert store.get("BTC") == new
    assert _raw(store, "BTC")["schema_version"] == SCHEMA_VERSION


def _store_raw(store: Any, key: str, fields: dict[str, Any], as_of: datetime) -> None:
    """Write stored fields as they are, as an older version of Delos left them."""
    if isinstance(store, SQLiteCoinStore):
        with sqlite3.connect(store.path) as connection:
            connection.execute(
                "INSERT INTO coins (symbol, doc, as_of, seq) VALUES (?, ?, ?, 1)",
                (key, json.dumps(fields), int(as_of.timestamp())),
            )
        return
    store.coins.document(key).set(fields)


def _raw(store: Any, key: str) -> dict[str, Any]:
    if isinstance(store, SQLiteCoinStore):
        with sqlite3.connect(store.path) as connection:
            row = connection.execute("SELECT doc FROM coins WHERE symbol = ?", (key,)).fetchone()
        return dict(json.loads(row[0]))
    return dict(store.coins.document(key).get().to_dict())


@pytest.mark.parametrize("bad", ["../x", "btc"])
def test_get_many_refuses_symbols_that_are_not_keys(store: Any, bad: str) -> None:
    with pytest.raises(InvalidRequest):
        store.get_many(["BTC", bad])


def test_a_batch_is_saved_coin_by_coin_under_the_same_rules(store: Any) -> None:
    store.save_if_better(make_document("ETH", as_of=AS_OF))
    batch = [
        make_document("BTC"),
        make_document("ETH", as_of=AS_OF - timedelta(days=1)),
        make_document("SOL", sample_data=True),
    ]
    assert store.save_all_if_better(batch) == [True, False, True]
    assert {d.symbol: d.as_of for d in store.load_all()} == {"BTC": AS_OF, "ETH": AS_OF, "SOL": AS_OF}
    assert store.save_all_if_better([]) == []


def test_watch_delivers_a_document_written_after_it_started(store: Any) -> None:
    before = make_document("ADA")
    store.save_if_better(before)
    recorder = Recorder()
    subscription = store.watch(recorder.on_change, recorder.on_health)
    try:
        assert recorder.wait_for(before), "the first change carries the documents already stored"
        after = make_document("BTC", as_of=AS_OF + timedelta(days=1))
        store.save_if_better(after)
        assert recorder.wait_for(after), f"no change within {WAIT_S} s"
        assert recorder.health == []
    finally:
        subscription.close()


def test_follow_reads_every_document_once_then_delivers_later_writes(store: Any) -> None:
    stored = [make_document("ADA"), make_document("ETH")]
    store.save_all_if_better(stored)
    recorder = Recorder()
    docs, subscription = store.follow(recorder.on_change, recorder.on_health, 10.0)
    try:
        assert sorted(docs, key=lambda d: d.symbol) == stored
        after = make_document("BTC", as_of=AS_OF + timedelta(days=1))
        store.save_if_better(after)
        assert recorder.wait_for(after), f"no change within {WAIT_S} s"
        assert all(doc.symbol == "BTC" for doc in recorder.docs), "the loaded documents are not delivered again"
        # Firestore counts what its listeners received: each loaded document once, then the one change.
        assert getattr(store, "listener_reads", len(stored) + 1) == len(stored) + 1
    finally:
        subscription.close()


def test_follow_on_an_empty_store_loads_nothing_and_still_follows(store: Any) -> None:
    recorder = Recorder()
    docs, subscription = store.follow(recorder.on_change, recorder.on_health, 10.0)
    try:
        assert docs == []
        first = make_document("SOL")
        store.save_if_better(first)
        assert recorder.wait_for(first), f"no change within {WAIT_S} s"
    finally:
        subscription.close()


# SQLite only: a corrupt row (hand-edited, half-migrated) must never take the feed down.


def test_sqlite_corrupt_rows_are_skipped_by_reads_and_the_watcher(tmp_path: Any) -> None:
    path = tmp_path / "coins.sqlite3"
    store = SQLiteCoinStore(path, poll_interval_s=0.05)
    recorder = Recorder()
    subscription = store.watch(recorder.on_change, recorder.on_health)
    try:
        with sqlite3.connect(path) as connection:
            connection.execute("INSERT INTO coins (symbol, doc, as_of, seq) VALUES ('BAD', '{not json', 0, 100)")
        good = make_document("BTC")
        store.save_if_better(good)
        assert recorder.wait_for(good)
        assert store.load_all() == [good]
        assert store.get("BAD") is None
        assert recorder.health == []
    finally:
        subscription.close()
        store.close()
