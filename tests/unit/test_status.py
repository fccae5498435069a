"""`delos status`: rows, summary, table and JSON, and the exit code that gates a deploy."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

from backends.sqlite_store import SQLiteCoinStore
from cli.status import EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_UNREADABLE, status
from common.errors import StoreUnavailable
from common.status import RefreshFailure, coin_status, coin_statuses, summarize
from tests.factories import AS_OF, make_document

NOW = AS_OF + timedelta(hours=2)


def test_a_fresh_coin_is_healthy_and_names_its_exchanges_and_listing() -> None:
    doc = make_document("BTC")
    row = coin_status("BTC", doc, None, NOW)
    assert (row.listing_exchange, row.price_exchange, row.listing_date) == ("kraken", "coinbase", doc.listing.date)
    assert row.as_of == AS_OF and row.listing_complete and not row.stale and row.healthy


def test_a_coin_older_than_three_days_is_stale() -> None:
    assert coin_status("BTC", make_document("BTC"), None, AS_OF + timedelta(days=3, minutes=1)).stale


def test_a_coin_with_only_a_failure_is_listed_as_stale_and_failing() -> None:
    failure = RefreshFailure("SOL", "UnknownSymbol: no pair", NOW)
    (row,) = coin_statuses([], [failure], NOW)
    assert row.symbol == "SOL" and row.as_of is None and row.stale and row.failure == failure
    assert not row.healthy


def test_summary_counts_stale_and_failing_and_keeps_the_newest_refresh() -> None:
    old = make_document("ADA", as_of=AS_OF - timedelta(days=5))
    rows = coin_statuses([make_document("BTC"), old], [RefreshFailure("BTC", "ExchangeUnavailable: 503", NOW)], NOW)
    assert [row.symbol for row in rows] == ["ADA", "BTC"]
    summary = summarize(rows)
    assert (summary.coins, summary.stale, summary.failing) == (2, 1, 1)
    assert summary.last_refresh == make_document("BTC").computed_at and not summary.healthy


def store_with(tmp_path: Path, *symbols: str) -> SQLiteCoinStore:
    store = SQLiteCoinStore(tmp_path / "coins.sqlite3")
    for symbol in symbols:
        store.save_if_better(make_document(symbol))
    return store


def test_table_and_summary_line_and_exit_zero_when_all_is_well(tmp_path: Path) -> None:
    out = io.StringIO()
    assert status(lambda: store_with(tmp_path, "BTC", "ETH"), NOW, as_json=False, out=out) == EXIT_HEALTHY
    header, btc, eth, summary = out.getvalue().splitlines()
    assert header.split()[:3] == ["SYMBOL", "LISTED", "ON"]
    listed = make_document().listing.date.strftime("%Y-%m-%d")
    as_of = AS_OF.strftime("%Y-%m-%d %H:%MZ").split()
    assert btc.split() == ["BTC", "kraken", listed, "coinbase", *as_of, "no", "complete", "-"]
    assert eth.split()[0] == "ETH" and len(header) == len(btc.rstrip()) + len("LAST FAILURE") - 1
    last = (AS_OF + timedelta(hours=1)).strftime("%Y-%m-%d %H:%MZ")
    assert summary == f"2 coins, 0 stale, 0 failing, last refresh {last}"


def test_json_carries_the_failure_and_exit_one_when_a_coin_fails(tmp_path: Path) -> None:
    store = store_with(tmp_path, "BTC")
    store.record_failure("BTC", "ExchangeUnavailable: HTTP 503", NOW)
    out = io.StringIO()
    assert status(lambda: store, NOW, as_json=True, out=out) == EXIT_UNHEALTHY
    report = json.loads(out.getvalue())
    (btc,) = report["coins"]
    assert btc["last_failure"]["reason"] == "ExchangeUnavailable: HTTP 503"
    assert btc["last_failure"]["at"].endswith("Z") and btc["stale"] is False
    assert report["summary"] == {
        "coins": 1,
        "stale": 0,
        "failing": 1,
        "last_refresh": btc["computed_at"],
        "healthy": False,
    }


class UnreachableStore:
    def load_all(self) -> list[object]:
        raise StoreUnavailable("connection refused")

    def failures(self) -> list[RefreshFailure]:
        return []


def test_an_unreadable_store_exits_three() -> None:
    out = io.StringIO()
    assert status(UnreachableStore, NOW, as_json=False, out=out) == EXIT_UNREADABLE  # type: ignore[arg-type]
    assert out.getvalue() == ""
