"""`publish --wait`: follow the store until every coin has an outcome since the publish; report and exit code."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backends.sqlite_store import SQLiteCoinStore
from cli.progress import PlainLines, ProgressBar, progress_view
from cli.publish_wait import (
    EXIT_FAILED,
    EXIT_REFRESHED,
    EXIT_TIMED_OUT,
    EXIT_UNREADABLE,
    publish_and_wait,
)
from common.errors import StoreUnavailable
from common.status import RefreshOutcome, wait_progress
from tests.factories import make_document

PUBLISHED = datetime(2026, 12, 1, 3, 0, 0, 400_000, tzinfo=UTC)


class Worker:
    """Writes to the real store between polls, as the ingest worker would; time moves one poll per sleep."""

    def __init__(self, store: SQLiteCoinStore, script: list[Callable[[datetime], None]]) -> None:
        self.store = store
        self.script = script
        self.elapsed_s = 0.0

    def now(self) -> datetime:
        return PUBLISHED + timedelta(seconds=self.elapsed_s)

    def monotonic(self) -> float:
        return self.elapsed_s

    def sleep(self, seconds: float) -> None:
        self.elapsed_s += seconds
        if self.script:
            self.script.pop(0)(self.now())

    def save(self, symbol: str) -> Callable[[datetime], None]:
        def write(at: datetime) -> None:
            doc = make_document(symbol, as_of=at - timedelta(hours=1))
            self.store.save_if_better(doc)  # computed_at = as_of + 1 h = now

        return write

    def fail(self, symbol: str, reason: str) -> Callable[[datetime], None]:
        return lambda at: self.store.record_failure(symbol, reason, at)


def follow(
    tmp_path: Path,
    symbols: list[str],
    plan: Callable[[Worker], list[Callable[[datetime], None]]],
    timeout_s: float = 10.0,
) -> tuple[int, str, list[str]]:
    store = SQLiteCoinStore(tmp_path / "coins.sqlite3")
    worker = Worker(store, [])
    worker.script = plan(worker)
    out = io.StringIO()
    code = publish_and_wait(
        lambda: "m-1",
        store,
        symbols,
        timeout_s=timeout_s,
        view=PlainLines(out),
        out=out,
        poll_s=1.0,
        now=worker.now,
        monotonic=worker.monotonic,
        sleep=worker.sleep,
    )
    return code, out.getvalue(), out.getvalue().splitlines()


def test_exits_zero_once_every_coin_was_saved_after_the_publish(tmp_path: Path) -> None:
    code, _, lines = follow(tmp_path, ["BTC", "ETH"], lambda w: [w.save("BTC"), lambda at: None, w.save("ETH")])
    assert code == EXIT_REFRESHED
    assert lines == [
        "published m-1; waiting for 2 coin(s), at most 10 s",
        "0/2 done: 0 refreshed, 0 failed",
        "1/2 done: 1 refreshed, 0 failed",
        "2/2 done: 2 refreshed, 0 failed",
        "2 refreshed, 0 failed, 0 not finished, of 2",
    ]


def test_a_save_before_the_publish_does_not_count(tmp_path: Path) -> None:
    SQLiteCoinStore(tmp_path / "coins.sqlite3").save_if_better(
        make_document("BTC", as_of=PUBLISHED - timedelta(days=1))
    )
    code, text, _ = follow(tmp_path, ["BTC"], lambda w: [], timeout_s=3)
    assert code == EXIT_TIMED_OUT and text.endswith("timed out waiting for BTC\n")


def test_a_failure_since_the_publish_settles_the_coin_and_exits_one_with_the_reason(tmp_path: Path) -> None:
    code, _, lines = follow(
        tmp_path, ["BTC", "SOL"], lambda w: [w.fail("SOL", "ExchangeUnavailable: HTTP 503"), w.save("BTC")]
    )
    assert code == EXIT_FAILED
    assert lines[-3:] == [
        "1 refreshed, 1 failed, 0 not finished, of 2",
        "SYMBOL  FAILED AT          REASON",
        "SOL     2026-12-01 03:00Z  ExchangeUnavailable: HTTP 503",
    ]


def test_a_coin_that_failed_then_saved_counts_as_refreshed(tmp_path: Path) -> None:
    code, _, _ = follow(tmp_path, ["BTC", "ETH"], lambda w: [w.fail("BTC", "timeout"), w.save("BTC"), w.save("ETH")])
    assert code == EXIT_REFRESHED


def test_time_runs_out_with_the_unfinished_coins_named(tmp_path: Path) -> None:
    code, _, lines = follow(tmp_path, ["ADA", "BTC", "ETH"], lambda w: [w.save("BTC")], timeout_s=4)
    assert code == EXIT_TIMED_OUT
    assert lines[-2:] == ["1 refreshed, 0 failed, 2 not finished, of 3", "timed out waiting for ADA, ETH"]


def test_a_failed_publish_exits_three_without_waiting(tmp_path: Path) -> None:
    def refuse() -> str:
        raise StoreUnavailable("cannot publish to delos-refresh: 503")

    out = io.StringIO()
    code = publish_and_wait(
        refuse, SQLiteCoinStore(tmp_path / "c.sqlite3"), ["BTC"], timeout_s=5, view=PlainLines(out), out=out
    )
    assert code == EXIT_UNREADABLE and out.getvalue() == ""


def test_progress_keeps_only_each_coins_latest_outcome() -> None:
    at = PUBLISHED
    latest = {"BTC": RefreshOutcome("BTC", True, None, at), "ETH": RefreshOutcome("ETH", False, "x", at)}
    progress = wait_progress(["BTC", "ETH", "SOL"], latest)
    assert (progress.refreshed, [o.symbol for o in progress.failed], progress.pending) == (
        frozenset({"BTC"}),
        ["ETH"],
        frozenset({"SOL"}),
    )
    assert progress.settled == 2 and progress.total == 3


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_progress_bar_and_a_pipe_gets_plain_lines() -> None:
    terminal = Terminal()
    bar = progress_view(2, terminal)
    bar.update(wait_progress(["BTC", "ETH"], {"BTC": RefreshOutcome("BTC", True, None, PUBLISHED)}))
    bar.close()
    assert isinstance(bar, ProgressBar) and "1/2" in terminal.getvalue()
    assert isinstance(progress_view(2, io.StringIO()), PlainLines)
