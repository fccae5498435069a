"""The worker's use case and message handler, over in-memory fakes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from common.candles import DAILY_MINUTES, FIFTEEN_DAY_MINUTES, WEEKLY_MINUTES, CandleSeries
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited
from common.ports import Delivery, Verdict
from ingest_worker.handler import RefreshHandler
from tests.unit.fakes import NOW, FakePriceSource, InMemoryCoinStore, RecordingQueue, coin_series, series

LISTED = datetime(2020, 1, 2, tzinfo=UTC)


def handler_for(source: FakePriceSource, store: InMemoryCoinStore, **kwargs: object) -> RefreshHandler:
    return RefreshHandler(source=source, store=store, coins=("BTC", "ETH"), clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def delivery(body: object, attempt: int = 1) -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Delivery(message_id="m-1", body=raw, delivery_attempt=attempt)


@pytest.fixture
def source() -> FakePriceSource:
    return FakePriceSource(
        {
            "BTC": coin_series(LISTED, NOW, first_price=100.0, growth_per_day=0.001),
            "ETH": coin_series(LISTED + timedelta(days=70), NOW, first_price=10.0, growth_per_day=0.002),
        }
    )


def test_a_refresh_writes_the_listing_and_last_month_of_the_coin(source: FakePriceSource) -> None:
    store = InMemoryCoinStore()
    assert handler_for(source, store)(delivery({"symbols": ["btc"]})) is Verdict.ACK
    doc = store.docs["BTC"]
    assert doc.listing.date == LISTED
    assert doc.listing.price_usd == pytest.approx(100.0)
    # Today's daily candle (open at 2026-11-20 00:00) is unfinished: the month ends where it starts.
    assert doc.as_of == datetime(2026, 11, 20, tzinfo=UTC)
    assert doc.last_month.candles == 30
    assert doc.last_month.close_times[0] == datetime(2026, 10, 21, tzinfo=UTC)
    assert doc.history_times[0] == int(LISTED.timestamp())


def test_all_means_the_configured_coins_without_fan_out(source: FakePriceSource) -> None:
    store = InMemoryCoinStore()
    assert handler_for(source, store)(delivery({"all": True})) is Verdict.ACK
    assert sorted(store.docs) == ["BTC", "ETH"]


def test_all_fans_out_one_message_per_exchange_pair_when_a_queue_is_given(source: FakePriceSource) -> None:
    store, queue = InMemoryCoinStore(), RecordingQueue()
    assert handler_for(source, store, fan_out_queue=queue)(delivery({"all": True, "force": True})) is Verdict.ACK
    assert [json.loads(body) for body, _ in queue.published] == [
        {"symbols": ["BTC"], "force": True},
        {"symbols": ["ETH"], "force": True},
    ]
    assert store.docs == {}


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"symbols": "BTC"}', b'{"symbols": ["../etc"]}', b"\x00" * 70000]
)
def test_an_invalid_message_is_acked_and_changes_nothing(source: FakePriceSource, body: bytes) -> None:
    store = InMemoryCoinStore()
    assert handler_for(source, store)(delivery(body, attempt=3)) is Verdict.ACK
    assert store.docs == {} and source.calls == []


def test_a_transient_failure_nacks_and_keeps_the_previous_document(source: FakePriceSource) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(source, store)
    handler(delivery({"symbols": ["BTC"]}))
    good = store.docs["BTC"]
    source.failures["BTC"] = [RateLimited("EAPI:Rate limit exceeded")]
    assert handler(delivery({"symbols": ["BTC"]})) is Verdict.NACK
    assert store.docs["BTC"] is good
    assert "Rate limit" in store.failures["BTC"][0]


def test_a_permanent_failure_acks_marks_the_coin_failed_and_goes_on_with_the_others(source: FakePriceSource) -> None:
    store = InMemoryCoinStore()
    source.failures["BTC"] = [BadPriceData("close '-1' is not a positive finite price")]
    assert handler_for(source, store)(delivery({"symbols": ["BTC", "ETH", "NOPE"]})) is Verdict.ACK
    assert sorted(store.docs) == ["ETH"]
    assert "BadPriceData" in store.failures["BTC"][0]
    assert "NOPE" not in store.failures  # junk symbols leave no trace in the store


def test_a_known_coin_that_vanished_from_the_exchange_is_marked_failed(source: FakePriceSource) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(source, store)
    handler(delivery({"symbols": ["BTC"]}))
    good = store.docs["BTC"]
    del source.series_by_symbol["BTC"]
    assert handler(delivery({"symbols": ["BTC"]})) is Verdict.ACK
    assert store.docs["BTC"] is good
    assert "UnknownSymbol" in store.failures["BTC"][0]


def test_one_transient_failure_among_many_coins_nacks_the_message_but_saves_the_rest(source: FakePriceSource) -> None:
    store = InMemoryCoinStore()
    source.failures["ETH"] = [ExchangeUnavailable("HTTP 503")]
    assert handler_for(source, store)(delivery({"symbols": ["BTC", "ETH"]})) is Verdict.NACK
    assert sorted(store.docs) == ["BTC"]


def test_a_redelivered_message_leaves_identical_state(source: FakePriceSource) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(source, store)
    handler(delivery({"symbols": ["BTC"]}))
    first = store.docs["BTC"]
    handler(delivery({"symbols": ["BTC"]}, attempt=2))
    assert store.docs["BTC"] == first


def test_the_listing_is_kept_and_the_15_day_history_not_refetched_unless_forced() -> None:
    # 720 weekly entries: the weekly answer may be cut, so the listing comes from 15-day candles.
    weekly_start = NOW - timedelta(weeks=719)
    old = FakePriceSource(
        {
            "BTC": {
                WEEKLY_MINUTES: series(weekly_start, NOW, WEEKLY_MINUTES, lambda i: 50.0 + i),
                FIFTEEN_DAY_MINUTES: series(
                    datetime(2011, 1, 1, tzinfo=UTC), NOW, FIFTEEN_DAY_MINUTES, lambda i: 5.0 + i
                ),
                DAILY_MINUTES: coin_series(LISTED, NOW, 100.0, 0.0)[DAILY_MINUTES],
            }
        }
    )
    store = InMemoryCoinStore()
    handler = handler_for(old, store)
    handler(delivery({"symbols": ["BTC"]}))
    assert store.docs["BTC"].listing.interval_minutes == FIFTEEN_DAY_MINUTES
    assert store.docs["BTC"].listing.price_usd == pytest.approx(5.0)
    assert old.calls.count(("BTC", FIFTEEN_DAY_MINUTES)) == 1

    handler(delivery({"symbols": ["BTC"]}))
    assert old.calls.count(("BTC", FIFTEEN_DAY_MINUTES)) == 1
    assert store.docs["BTC"].listing.price_usd == pytest.approx(5.0)

    handler(delivery({"symbols": ["BTC"], "force": True}))
    assert old.calls.count(("BTC", FIFTEEN_DAY_MINUTES)) == 2


def test_an_older_answer_from_the_exchange_never_replaces_a_newer_document(source: FakePriceSource) -> None:
    store = InMemoryCoinStore()
    handler_for(source, store)(delivery({"symbols": ["BTC"]}))
    newer = store.docs["BTC"]
    daily = source.series_by_symbol["BTC"][DAILY_MINUTES]
    source.series_by_symbol["BTC"][DAILY_MINUTES] = CandleSeries(DAILY_MINUTES, daily.candles[:-5])
    handler_for(source, store)(delivery({"symbols": ["BTC"]}))
    assert store.docs["BTC"] is newer
    assert replace(newer).as_of == datetime(2026, 11, 20, tzinfo=UTC)


def test_a_coin_quiet_for_months_is_still_refreshed_from_its_whole_daily_history() -> None:
    quiet_since = NOW - timedelta(days=90)
    delisted = coin_series(LISTED, quiet_since, first_price=3.0, growth_per_day=0.0)
    source = FakePriceSource({"OLD": delisted})
    store = InMemoryCoinStore()
    assert handler_for(source, store)(delivery({"symbols": ["OLD"]})) is Verdict.ACK
    doc = store.docs["OLD"]
    # Its last daily candle (open on the day it went quiet) is long finished: the month ends the next day.
    assert doc.as_of == quiet_since.replace(hour=0, minute=0) + timedelta(days=1)
    assert doc.last_month.candles == 30
    assert source.calls.count(("OLD", DAILY_MINUTES)) == 2  # the short answer was empty; the full one was read


def test_the_daily_request_asks_only_for_the_last_weeks(source: FakePriceSource) -> None:
    store = InMemoryCoinStore()
    handler_for(source, store)(delivery({"symbols": ["BTC"]}))
    assert source.calls.count(("BTC", DAILY_MINUTES)) == 1
    assert store.docs["BTC"].last_month.candles == 30
