"""An unwritable store is a state: capped exponential backoff, one report a minute, the recovery once."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest

from common.document import CoinDocument
from common.errors import StoreUnavailable
from common.outage import Outage
from common.ports import Delivery, Verdict
from ingest_worker.handler import RefreshHandler
from tests.unit.fakes import NOW, FakeCoin, FakePriceSource, InMemoryCoinStore, daily_candles


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    outage = Outage(base_s=0.5, cap_s=30.0)
    waits = [outage.failed("full", now=float(i))[0] for i in range(10)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_a_lasting_failure_is_reported_first_then_once_per_interval_and_its_end_once() -> None:
    outage = Outage(report_every_s=60.0)
    reports = [t for t in range(0, 300, 1) if outage.failed("disk full", now=float(t))[1]]
    assert reports == [0, 60, 120, 180, 240]
    assert outage.status(300.0).startswith("failing for 300 s (300 attempts): disk full")
    assert outage.recovered(300.0) == 300.0
    assert outage.recovered(301.0) is None
    assert outage.status(301.0) == "ok"
    assert outage.failed("again", now=302.0) == (0.5, True)  # a new outage starts over


class UnwritableStore(InMemoryCoinStore):
    """A store whose writes fail while `writable` is False, as a full disk or read-only mount does."""

    def __init__(self) -> None:
        super().__init__()
        self.writable = False
        self.attempts = 0

    def save_if_better(self, doc: CoinDocument) -> bool:
        self.attempts += 1
        if not self.writable:
            raise StoreUnavailable("cannot write coins.sqlite3: database or disk is full")
        return super().save_if_better(doc)

    def record_failure(self, symbol: str, reason: str, at: datetime) -> None:
        if not self.writable:
            raise StoreUnavailable("cannot write coins.sqlite3: database or disk is full")
        super().record_failure(symbol, reason, at)


def test_the_worker_reports_an_unwritable_store_once_a_minute_and_its_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listed = NOW - timedelta(days=900)
    source = FakePriceSource(
        "kraken",
        {s: FakeCoin(f"{s}USD", daily_candles(listed, NOW, lambda i: 10.0 * 1.001**i)) for s in ("BTC", "ETH", "SOL")},
    )
    store = UnwritableStore()
    clock = [NOW]
    statuses: list[str] = []
    handler = RefreshHandler(
        sources=[source],
        store=store,
        coins=("BTC", "ETH", "SOL"),
        clock=lambda: clock[0],
        on_store_status=statuses.append,
    )
    message = Delivery(message_id="m-1", body=json.dumps({"all": True}).encode(), delivery_attempt=1)
    caplog.set_level(logging.INFO)

    verdicts = []
    for _ in range(120):  # two minutes of deliveries, one a second
        verdicts.append(handler(message))
        clock[0] += timedelta(seconds=1)
    assert set(verdicts) == {Verdict.NACK}
    assert store.attempts == 120, "after the first coin fails to save, the others wait for the redelivery"
    outage_lines = [r for r in caplog.records if "store unwritable" in r.getMessage()]
    assert len(outage_lines) == 2
    assert handler.store_outage.down

    store.writable = True
    assert handler(message) is Verdict.ACK
    assert sorted(store.docs) == ["BTC", "ETH", "SOL"]
    assert not handler.store_outage.down
    assert len([r for r in caplog.records if "takes writes again" in r.getMessage()]) == 1
    assert [status.split(" (")[0] for status in statuses] == ["failing for 0 s", "failing for 60 s", "ok"]
