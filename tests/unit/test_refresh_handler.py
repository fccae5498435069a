"""The worker's use case and message handler over several fake exchanges and an in-memory store."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from common.candles import WEEKLY_MINUTES, CandleSeries
from common.document import from_dict, to_dict
from common.errors import BadPriceData, ExchangeUnavailable, RateLimited
from common.ports import Delivery, FirstDay, Pair, Verdict
from ingest_worker.handler import RefreshHandler
from tests.unit.fakes import NOW, FakeCoin, FakePriceSource, InMemoryCoinStore, RecordingQueue, daily_candles, series

TODAY = NOW.replace(hour=0)
KRAKEN_FROM = datetime(2020, 1, 2, tzinfo=UTC)
BITSTAMP_FROM = datetime(2019, 5, 1, tzinfo=UTC)
BINANCE_FROM = datetime(2018, 3, 3, tzinfo=UTC)


def coin(pair: str, first: datetime, price: float, *, quote: str = "USD", last: datetime = TODAY) -> FakeCoin:
    return FakeCoin(pair, daily_candles(first, last, lambda i: price + i), quote)


@pytest.fixture
def exchanges() -> list[FakePriceSource]:
    """Kraken, Bitstamp and Binance (USDT), in DELOS_EXCHANGES order; ETH only on Kraken."""
    return [
        FakePriceSource(
            "kraken", {"BTC": coin("XXBTZUSD", KRAKEN_FROM, 100.0), "ETH": coin("XETHZUSD", KRAKEN_FROM, 10.0)}
        ),
        FakePriceSource("bitstamp", {"BTC": coin("btcusd", BITSTAMP_FROM, 50.0)}),
        FakePriceSource("binance", {"BTC": coin("BTCUSDT", BINANCE_FROM, 20.0, quote="USDT")}),
    ]


def handler_for(sources: list[FakePriceSource], store: InMemoryCoinStore, **kwargs: object) -> RefreshHandler:
    return RefreshHandler(sources=sources, store=store, coins=("BTC", "ETH"), clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def delivery(body: object, attempt: int = 1) -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Delivery(message_id="m-1", body=raw, delivery_attempt=attempt)


def test_the_listing_is_the_earliest_first_day_across_exchanges(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    assert handler_for(exchanges, store)(delivery({"symbols": ["btc"]})) is Verdict.ACK
    doc = store.docs["BTC"]
    assert (doc.exchange, doc.pair, doc.listing_quote, doc.listing_source) == ("binance", "BTCUSDT", "USDT", "api")
    assert doc.listing.date == BINANCE_FROM and doc.listing.price_usd == pytest.approx(20.0)
    assert [x.exchange for x in doc.listings] == ["binance", "bitstamp", "kraken"]
    assert doc.listing_complete is True and doc.pending == ()
    # Kraken comes first in DELOS_EXCHANGES and is fresh: it prices the last month.
    assert (doc.price_exchange, doc.price_pair) == ("kraken", "XXBTZUSD")
    assert doc.as_of == TODAY and doc.last_month.candles == 30
    assert doc.last_month.latest_close == pytest.approx(100.0 + (TODAY - KRAKEN_FROM).days - 1)
    assert doc.history_times[0] == int(BINANCE_FROM.timestamp())


def test_the_composite_history_prefers_the_price_exchange_then_the_listing_exchange(
    exchanges: list[FakePriceSource],
) -> None:
    store = InMemoryCoinStore()
    handler_for(exchanges, store)(delivery({"symbols": ["BTC"]}))
    doc = store.docs["BTC"]
    closes = dict(zip(doc.history_times, doc.history_closes, strict=True))

    def on(day: datetime) -> float:
        return closes[int(day.timestamp())]

    assert on(BINANCE_FROM) == pytest.approx(20.0)  # only Binance traded then
    assert on(BITSTAMP_FROM) == pytest.approx(20.0 + (BITSTAMP_FROM - BINANCE_FROM).days)  # listing's exchange
    assert on(KRAKEN_FROM) == pytest.approx(100.0)  # the price exchange from its first day on
    assert len(doc.history_times) == (TODAY - BINANCE_FROM).days  # daily, today's unfinished day left out


def test_one_exchange_down_stores_a_provisional_listing_and_nacks_then_completes(
    exchanges: list[FakePriceSource],
) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(exchanges, store)
    exchanges[2].down = True
    assert handler(delivery({"symbols": ["BTC"]})) is Verdict.NACK
    provisional = store.docs["BTC"]
    assert provisional.listing_complete is False and provisional.pending == ("binance",)
    assert provisional.exchange == "bitstamp"  # answered now, marked provisional
    exchanges[2].down = False
    assert handler(delivery({"symbols": ["BTC"]}, attempt=2)) is Verdict.ACK
    final = store.docs["BTC"]
    assert final.listing_complete is True and final.pending == ()
    assert final.exchange == "binance" and final.listing.date == BINANCE_FROM


def test_every_exchange_down_writes_nothing_keeps_the_document_and_nacks(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(exchanges, store)
    handler(delivery({"symbols": ["BTC"]}))
    good = store.docs["BTC"]
    for exchange in exchanges:
        exchange.down = True
    assert handler(delivery({"symbols": ["BTC"]})) is Verdict.NACK
    assert store.docs["BTC"] is good
    assert "ExchangeUnavailable" in store.failures["BTC"][0]


def test_a_new_symbol_with_an_exchange_down_is_retried_without_a_failure_record(
    exchanges: list[FakePriceSource],
) -> None:
    store = InMemoryCoinStore()
    exchanges[2].down = True
    assert handler_for(exchanges, store)(delivery({"symbols": ["NOPE"]})) is Verdict.NACK
    assert store.docs == {} and store.failures == {}


def test_a_final_listing_stays_final_when_an_exchange_fails_later(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(exchanges, store)
    handler(delivery({"symbols": ["ETH"]}))  # ETH: Kraken only; the others say "no such pair"
    assert store.docs["ETH"].listing_complete is True
    exchanges[1].failures["ETH"] = [RateLimited("slow down")]
    assert handler(delivery({"symbols": ["ETH"]})) is Verdict.NACK  # bitstamp is asked again
    assert store.docs["ETH"].listing_complete is True
    assert store.docs["ETH"].pending == ("bitstamp",)


def test_first_days_are_not_asked_again_but_forced_refreshes_ask_everything(
    exchanges: list[FakePriceSource],
) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(exchanges, store)
    handler(delivery({"symbols": ["BTC"]}))
    assert all(x.calls.count(("first_day", "BTC")) == 1 for x in exchanges)
    assert all(x.calls.count(("history", "BTC")) == 1 for x in exchanges)
    handler(delivery({"symbols": ["BTC"]}))
    assert all(x.calls.count(("first_day", "BTC")) == 1 for x in exchanges)
    assert all(x.calls.count(("history", "BTC")) == 1 for x in exchanges)  # only new days were read
    assert store.docs["BTC"].history_times[0] == int(BINANCE_FROM.timestamp())
    handler(delivery({"symbols": ["BTC"], "force": True}))
    assert all(x.calls.count(("first_day", "BTC")) == 2 for x in exchanges)


def test_a_refresh_keeps_past_days_and_appends_new_ones(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    later = NOW + timedelta(days=2)
    handler_for(exchanges, store)(delivery({"symbols": ["BTC"]}))
    before = store.docs["BTC"]
    for exchange in exchanges:
        old = exchange.coins["BTC"]
        more = daily_candles(TODAY, TODAY + timedelta(days=2), lambda i: 1_000.0)
        exchange.coins["BTC"] = FakeCoin(old.pair, old.daily[:-1] + more, old.quote)
    handler = RefreshHandler(sources=exchanges, store=store, coins=(), clock=lambda: later)
    assert handler(delivery({"symbols": ["BTC"]})) is Verdict.ACK
    after = store.docs["BTC"]
    assert after.as_of == TODAY + timedelta(days=2)
    assert list(after.history_times[: len(before.history_times)]) == list(before.history_times)
    assert list(after.history_closes[-2:]) == [1_000.0, 1_000.0]


def test_the_price_exchange_is_the_next_fresh_one_when_the_first_lags(exchanges: list[FakePriceSource]) -> None:
    kraken = exchanges[0].coins["BTC"]
    exchanges[0].coins["BTC"] = FakeCoin(kraken.pair, kraken.daily[:-6], kraken.quote)  # 5 days behind
    store = InMemoryCoinStore()
    handler_for(exchanges, store)(delivery({"symbols": ["BTC"]}))
    assert store.docs["BTC"].price_exchange == "bitstamp"
    assert store.docs["BTC"].as_of == TODAY


def test_kraken_weekly_history_fills_only_what_no_exchange_has_daily() -> None:
    listed = datetime(2013, 10, 3, tzinfo=UTC)  # a Thursday, as Kraken's weeks
    weekly = series(listed, NOW, WEEKLY_MINUTES, lambda i: 100.0 + i)
    recent = daily_candles(TODAY - timedelta(days=719), TODAY, lambda i: 5_000.0)
    kraken = FakeCoin(
        "XXBTZUSD", recent, coarse=weekly, daily_days=720, first=FirstDay(listed, 123.0, 4_000.0, price_is_vwap=True)
    )
    store = InMemoryCoinStore()
    handler_for([FakePriceSource("kraken", {"BTC": kraken})], store)(delivery({"symbols": ["BTC"]}))
    doc = store.docs["BTC"]
    assert doc.listing.date == listed and doc.listing.price_usd == 123.0
    gaps = [b - a for a, b in zip(doc.history_times, doc.history_times[1:], strict=False)]
    assert max(gaps) < 14 * 86400  # the week the daily candles start in is left to them
    first_daily = int((TODAY - timedelta(days=719)).timestamp())
    assert all(t % 86400 == 0 for t in doc.history_times)
    assert [c for t, c in zip(doc.history_times, doc.history_closes, strict=True) if t >= first_daily] == [
        5_000.0
    ] * 719
    assert doc.history_closes[0] == 100.0


def test_the_exchanges_are_asked_in_parallel() -> None:
    """Kraken's pair lookup waits until Bitstamp has been asked: done one after the other, it would time out."""
    asked = threading.Event()

    class Waiting(FakePriceSource):
        def pair_for(self, symbol: str) -> Pair:
            if not asked.wait(timeout=5):
                raise ExchangeUnavailable("bitstamp was not asked meanwhile")
            return super().pair_for(symbol)

    class Signalling(FakePriceSource):
        def pair_for(self, symbol: str) -> Pair:
            asked.set()
            return super().pair_for(symbol)

    store = InMemoryCoinStore()
    kraken = Waiting("kraken", {"BTC": coin("XXBTZUSD", KRAKEN_FROM, 100.0)})
    bitstamp = Signalling("bitstamp", {"BTC": coin("btcusd", BITSTAMP_FROM, 50.0)})
    assert handler_for([kraken, bitstamp], store)(delivery({"symbols": ["BTC"]})) is Verdict.ACK
    assert store.docs["BTC"].listing_complete is True


def test_all_means_the_configured_coins_without_fan_out(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    assert handler_for(exchanges, store)(delivery({"all": True})) is Verdict.ACK
    assert sorted(store.docs) == ["BTC", "ETH"]


def test_fan_out_covers_every_symbol_of_the_live_exchanges(exchanges: list[FakePriceSource]) -> None:
    exchanges[2].coins["SOL"] = coin("SOLUSDT", BINANCE_FROM, 3.3, quote="USDT")
    archive = FakePriceSource("archive", {"MTGOX": coin("BTCUSD", BINANCE_FROM, 1.0)})
    store, queue = InMemoryCoinStore(), RecordingQueue()
    handler = handler_for([archive, *exchanges], store, fan_out_queue=queue)
    assert handler(delivery({"all": True, "force": True})) is Verdict.ACK
    assert [json.loads(body) for body, _ in queue.published] == [
        {"symbols": [s], "force": True} for s in ("BTC", "ETH", "SOL")
    ]
    assert store.docs == {} and archive.calls == []


def test_fan_out_waits_only_when_no_exchange_lists_its_pairs(exchanges: list[FakePriceSource]) -> None:
    queue = RecordingQueue()
    for exchange in exchanges:
        exchange.down = True
    assert handler_for(exchanges, InMemoryCoinStore(), fan_out_queue=queue)(delivery({"all": True})) is Verdict.NACK
    exchanges[0].down = False
    assert handler_for(exchanges, InMemoryCoinStore(), fan_out_queue=queue)(delivery({"all": True})) is Verdict.ACK
    assert len(queue.published) == 2


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"symbols": "BTC"}', b'{"symbols": ["../etc"]}', b"\x00" * 70000]
)
def test_an_invalid_message_is_acked_and_changes_nothing(exchanges: list[FakePriceSource], body: bytes) -> None:
    store = InMemoryCoinStore()
    assert handler_for(exchanges, store)(delivery(body, attempt=3)) is Verdict.ACK
    assert store.docs == {} and all(x.calls == [] for x in exchanges)


def test_unknown_everywhere_is_acked_and_junk_leaves_no_trace(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    assert handler_for(exchanges, store)(delivery({"symbols": ["NOPE", "ETH"]})) is Verdict.ACK
    assert sorted(store.docs) == ["ETH"] and "NOPE" not in store.failures


def test_a_known_coin_that_vanished_everywhere_is_marked_failed_and_kept(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(exchanges, store)
    handler(delivery({"symbols": ["ETH"]}))
    good = store.docs["ETH"]
    del exchanges[0].coins["ETH"]
    assert handler(delivery({"symbols": ["ETH"]})) is Verdict.ACK
    assert store.docs["ETH"] is good
    assert "UnknownSymbol" in store.failures["ETH"][0]


def test_an_unusable_first_day_leaves_the_listing_provisional_without_a_retry_loop(
    exchanges: list[FakePriceSource],
) -> None:
    # Listed, but no candle with trades: bad data is not a definite "no such pair", so it must not make the
    # other exchanges' listing final; asking again at once would give the same answer, so it is not pending.
    exchanges[1].coins["BTC"] = FakeCoin("btcusd", (), "USD")
    store = InMemoryCoinStore()
    assert handler_for(exchanges, store)(delivery({"symbols": ["BTC"]})) is Verdict.ACK
    doc = store.docs["BTC"]
    assert doc.listing_complete is False and doc.pending == ()
    assert [x.exchange for x in doc.listings] == ["binance", "kraken"]
    # Once Bitstamp's answer is usable, the next refresh asks it again and the listing is final.
    exchanges[1].coins["BTC"] = coin("btcusd", BITSTAMP_FROM, 50.0)
    assert handler_for(exchanges, store)(delivery({"symbols": ["BTC"]})) is Verdict.ACK
    doc = store.docs["BTC"]
    assert doc.listing_complete is True and [x.exchange for x in doc.listings] == ["binance", "bitstamp", "kraken"]


def test_a_redelivered_message_leaves_identical_state(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(exchanges, store)
    handler(delivery({"symbols": ["BTC"]}))
    first = store.docs["BTC"]
    handler(delivery({"symbols": ["BTC"]}, attempt=2))
    assert store.docs["BTC"] is first


def test_an_older_answer_never_replaces_a_newer_document(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    handler_for(exchanges, store)(delivery({"symbols": ["ETH"]}))
    newer = store.docs["ETH"]
    eth = exchanges[0].coins["ETH"]
    exchanges[0].coins["ETH"] = FakeCoin(eth.pair, eth.daily[:-5], eth.quote)
    handler_for(exchanges, store)(delivery({"symbols": ["ETH"], "force": True}))
    assert store.docs["ETH"] is newer


def test_a_coin_quiet_for_months_is_still_answered_from_its_whole_daily_history(
    exchanges: list[FakePriceSource],
) -> None:
    quiet_since = TODAY - timedelta(days=90)
    exchanges[0].coins["OLD"] = coin("OLDUSD", KRAKEN_FROM, 3.0, last=quiet_since)
    store = InMemoryCoinStore()
    handler = handler_for(exchanges, store)
    assert handler(delivery({"symbols": ["OLD"]})) is Verdict.ACK
    assert handler(delivery({"symbols": ["OLD"]})) is Verdict.ACK  # incremental: nothing recent, reads it all
    doc = store.docs["OLD"]
    assert doc.as_of == quiet_since + timedelta(days=1)
    assert doc.last_month.candles == 30


def test_the_worker_reads_only_recent_daily_candles_once_the_coin_is_known(exchanges: list[FakePriceSource]) -> None:
    store = InMemoryCoinStore()
    handler = handler_for(exchanges, store)
    handler(delivery({"symbols": ["ETH"]}))
    calls = len(exchanges[0].calls)
    handler(delivery({"symbols": ["ETH"]}))
    assert exchanges[0].calls[calls:] == [("pair_for", "ETH"), ("daily", "ETH")]


def test_unusable_prices_from_one_exchange_keep_its_listing_and_are_not_retried() -> None:
    class Garbled(FakePriceSource):
        def history(self, pair: Pair) -> CandleSeries:
            raise BadPriceData("close '-1' is not a positive finite price")

    kraken = FakePriceSource("kraken", {"BTC": coin("XXBTZUSD", KRAKEN_FROM, 100.0)})
    bitstamp = Garbled("bitstamp", {"BTC": coin("btcusd", BITSTAMP_FROM, 50.0)})
    store = InMemoryCoinStore()
    assert handler_for([kraken, bitstamp], store)(delivery({"symbols": ["BTC"]})) is Verdict.ACK
    doc = store.docs["BTC"]
    assert (doc.exchange, doc.price_exchange, doc.listing_complete, doc.pending) == ("bitstamp", "kraken", True, ())
    assert doc.history_times[0] == int(KRAKEN_FROM.timestamp())  # no prices from bitstamp to chart


def test_bad_candles_from_one_exchange_cost_only_its_own_prices(exchanges: list[FakePriceSource]) -> None:
    bitstamp = exchanges[1].coins["BTC"]
    broken = bitstamp.daily[-3]._replace(close=-1.0)
    exchanges[1].coins["BTC"] = FakeCoin(bitstamp.pair, (*bitstamp.daily[:-3], broken, *bitstamp.daily[-2:]))
    store = InMemoryCoinStore()
    assert handler_for(exchanges, store)(delivery({"symbols": ["BTC"]})) is Verdict.ACK
    doc = store.docs["BTC"]
    assert doc.listing_on("bitstamp") is not None and doc.price_exchange == "kraken"
    assert doc.listing_complete is True


def test_a_schema_1_document_is_upgraded_by_asking_every_exchange_for_its_first_day(
    exchanges: list[FakePriceSource],
) -> None:
    store = InMemoryCoinStore()
    handler_for(exchanges[:1], store)(delivery({"symbols": ["BTC"]}))
    stored = to_dict(store.docs["BTC"])
    for key in ("listings", "listing_complete", "listing_quote", "listing_source", "price_exchange", "price_pair"):
        del stored[key]
    del stored["pending"]
    stored |= {"schema_version": 1, "listing": {**stored["listing"], "interval_minutes": WEEKLY_MINUTES}}
    store.docs["BTC"] = from_dict(stored)
    assert handler_for(exchanges, store)(delivery({"symbols": ["BTC"]})) is Verdict.ACK
    assert all(x.calls.count(("first_day", "BTC")) == 1 for x in exchanges[1:])
    assert exchanges[0].calls.count(("first_day", "BTC")) == 2  # the weekly-candle listing is read again
    doc = store.docs["BTC"]
    assert (doc.exchange, doc.listing.date, doc.listing.interval_minutes) == ("binance", BINANCE_FROM, 1440)
    assert doc.history_times[0] == int(BINANCE_FROM.timestamp())
