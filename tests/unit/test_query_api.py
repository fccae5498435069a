"""Both gRPC APIs served from an in-memory cache, over a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from common.coin import build_document
from common.document import CoinDocument
from common.lambo import answer, prepare
from common.listings import ExchangeListing
from delos.legacy import api_pb2, api_pb2_grpc
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from query_service.cache import CoinCache
from query_service.guard import add_guarded_service
from query_service.questions import MissNotes
from query_service.server import start
from query_service.servicer import LamboServicer
from tests.unit.fakes import coin_series

NOW = datetime.now(UTC)


LISTED = datetime(2021, 3, 4, tzinfo=UTC)


def document(
    symbol: str, now: datetime = NOW, first_price: float = 100.0, growth: float = 0.002, listed: datetime = LISTED
) -> CoinDocument:
    """Listed on Kraken first, then on Bitstamp at a higher price; priced on Coinbase."""
    candles = coin_series(listed, now, first_price, growth)
    doc = build_document(
        symbol=symbol, exchange="kraken", pair=f"{symbol}USD", weekly=candles[10080], daily=candles[1440], now=now
    )
    return replace(
        doc,
        listings=(
            ExchangeListing("kraken", f"{symbol}USD", "USD", "api", listed, doc.listing.price_usd, 1_500.0),
            ExchangeListing("bitstamp", f"{symbol.lower()}usd", "USD", "api", listed + timedelta(days=9), 250.0, 7.5),
        ),
        price_exchange="coinbase",
        price_pair=f"{symbol}-USD",
    )


def young_document() -> CoinDocument:
    return document("NEW", listed=NOW - timedelta(days=10))


Call = Callable[[Callable[[grpc.aio.Channel], Awaitable[Any]]], Any]


@pytest.fixture
def call() -> Iterator[Call]:
    """Run one client coroutine against a fresh server holding BTC (fresh), OLD (stale) and NEW (listed 10 days ago)."""

    def run(body: Callable[[grpc.aio.Channel], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            cache = CoinCache()
            cache.update([document("BTC"), document("OLD", now=NOW - timedelta(days=10)), young_document()])
            cache.loaded = True
            service = await start("127.0.0.1", 0, cache)
            await service.set_serving(True)
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
                    return await asyncio.wait_for(body(channel), timeout=20)
            finally:
                await service.stop(0.5, drain_s=0)

        return asyncio.run(main())

    yield run


def test_ask_lambo_answers_with_the_documented_arithmetic(call: Call) -> None:
    doc = document("BTC")
    answer = call(
        lambda ch: pb_grpc.LamboServiceStub(ch).AskLambo(pb.AskLamboRequest(symbol="btc", investment_usd=1000))
    )
    coins = 1000 / doc.listing.price_usd
    proceeds = coins * doc.last_month.mean_close
    assert answer.symbol == "BTC" and answer.pair == "BTCUSD" and answer.exchange == "kraken"
    assert answer.coins_bought == pytest.approx(coins)
    assert answer.proceeds_usd == pytest.approx(proceeds)
    assert answer.profit_usd == pytest.approx(proceeds - 1000)
    assert answer.growth_factor == pytest.approx(proceeds / 1000)
    assert answer.lambo_price_usd == 200_000
    assert answer.lambos == pytest.approx(proceeds / 200_000)
    assert answer.can_buy_lambo is (proceeds >= 200_000)
    assert answer.breakeven_investment_usd == pytest.approx(200_000 * doc.listing.price_usd / doc.last_month.mean_close)
    assert answer.last_month.candles == 30 and answer.sell == pb.SELL_PRICE_MEAN_CLOSE
    assert answer.stale is False and "BTC" in answer.verdict


def test_an_answer_says_where_the_listing_and_the_prices_come_from(call: Call) -> None:
    answer = call(lambda ch: pb_grpc.LamboServiceStub(ch).AskLambo(pb.AskLamboRequest(symbol="BTC", investment_usd=1)))
    assert (answer.listing_quote, answer.listing_source, answer.listing_complete) == ("USD", "api", True)
    assert (answer.price_exchange, answer.price_pair) == ("coinbase", "BTC-USD")
    assert [(x.exchange, x.listing_price_usd, x.listing_day_volume_usd) for x in answer.listings] == [
        ("kraken", pytest.approx(document("BTC").listing.price_usd), 1_500.0),
        ("bitstamp", 250.0, 7.5),
    ]


def test_asking_for_an_exchange_buys_at_its_listing(call: Call) -> None:
    doc = document("BTC")
    request = pb.AskLamboRequest(symbol="BTC", investment_usd=1000, exchange="Bitstamp")
    answer = call(lambda ch: pb_grpc.LamboServiceStub(ch).AskLambo(request))
    assert (answer.exchange, answer.pair, answer.listing_price_usd) == ("bitstamp", "btcusd", 250.0)
    assert answer.listing_date.ToDatetime(tzinfo=UTC) == datetime(2021, 3, 13, tzinfo=UTC)
    assert answer.coins_bought == pytest.approx(4.0)
    assert answer.proceeds_usd == pytest.approx(4.0 * doc.last_month.mean_close)


def test_sell_choice_and_lambo_price_are_honoured(call: Call) -> None:
    doc = document("BTC")
    request = pb.AskLamboRequest(symbol="BTC", investment_usd=50, lambo_price_usd=1000, sell=pb.SELL_PRICE_WORST_CLOSE)
    answer = call(lambda ch: pb_grpc.LamboServiceStub(ch).AskLambo(request))
    assert answer.sell_price_usd == pytest.approx(doc.last_month.worst_close)
    assert answer.lambos == pytest.approx(50 / doc.listing.price_usd * doc.last_month.worst_close / 1000)


def test_an_old_document_is_answered_but_marked_stale(call: Call) -> None:
    answer = call(lambda ch: pb_grpc.LamboServiceStub(ch).AskLambo(pb.AskLamboRequest(symbol="old", investment_usd=1)))
    assert answer.stale is True


@pytest.mark.parametrize(
    ("request_fields", "code", "words"),
    [
        ({"symbol": "", "investment_usd": 10}, grpc.StatusCode.INVALID_ARGUMENT, "empty"),
        ({"symbol": "B/TC", "investment_usd": 10}, grpc.StatusCode.INVALID_ARGUMENT, "letters or digits"),
        ({"symbol": "BTC", "investment_usd": 0}, grpc.StatusCode.INVALID_ARGUMENT, "greater than 0"),
        ({"symbol": "BTC", "investment_usd": -5}, grpc.StatusCode.INVALID_ARGUMENT, "greater than 0"),
        ({"symbol": "BTC", "investment_usd": math.nan}, grpc.StatusCode.INVALID_ARGUMENT, "NaN"),
        ({"symbol": "BTC", "investment_usd": math.inf}, grpc.StatusCode.INVALID_ARGUMENT, "finite"),
        ({"symbol": "BTC", "investment_usd": 2e12}, grpc.StatusCode.INVALID_ARGUMENT, "at most"),
        ({"symbol": "BTC", "investment_usd": 10, "lambo_price_usd": 0}, grpc.StatusCode.INVALID_ARGUMENT, "lambo"),
        ({"symbol": "BTC", "investment_usd": 10, "sell": 42}, grpc.StatusCode.INVALID_ARGUMENT, "sell"),
        ({"symbol": "DOGE", "investment_usd": 10}, grpc.StatusCode.NOT_FOUND, "no price data for DOGE"),
        ({"symbol": "BTC", "investment_usd": 10, "exchange": "gdax"}, grpc.StatusCode.INVALID_ARGUMENT, "exchange"),
        ({"symbol": "BTC", "investment_usd": 10, "exchange": "binance"}, grpc.StatusCode.NOT_FOUND, "no listing on"),
    ],
)
def test_bad_questions_get_a_clear_status_never_internal(
    call: Call, request_fields: dict[str, Any], code: grpc.StatusCode, words: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        call(lambda ch: pb_grpc.LamboServiceStub(ch).AskLambo(pb.AskLamboRequest(**request_fields)))
    assert raised.value.code() is code
    assert words in (raised.value.details() or "")
    assert "delos" not in (raised.value.details() or ""), "operator instructions belong in the logs"


def test_get_coin_returns_the_weekly_history_and_list_coins_every_coin(call: Call) -> None:
    async def body(ch: grpc.aio.Channel) -> tuple[pb.Coin, pb.ListCoinsResponse]:
        stub = pb_grpc.LamboServiceStub(ch)
        return await stub.GetCoin(pb.GetCoinRequest(symbol="Btc")), await stub.ListCoins(pb.ListCoinsRequest())

    coin, listing = call(body)
    doc = document("BTC")
    assert [p.close_usd for p in coin.history] == list(doc.history_closes)
    assert coin.history[0].time.seconds == doc.history_times[0]
    assert [(c.symbol, c.stale) for c in listing.coins] == [("BTC", False), ("NEW", False), ("OLD", True)]
    assert [c.listing_exchange for c in listing.coins] == ["kraken", "kraken", "kraken"]
    assert [x.exchange for x in coin.listings] == ["kraken", "bitstamp"]
    assert (coin.price_exchange, coin.listing_complete, coin.listing_source) == ("coinbase", True, "api")


def test_ask_lambo_tells_the_hindsight_of_the_one_answer_function(call: Call) -> None:
    doc = document("BTC")
    peak_close = prepare(doc).records.peak_close
    lambo_price = 1000 / doc.listing.price_usd * peak_close / 3  # reached well before the peak, and kept
    request = pb.AskLamboRequest(symbol="BTC", investment_usd=1000, lambo_price_usd=lambo_price)

    response = call(lambda ch: pb_grpc.LamboServiceStub(ch).AskLambo(request))

    told = answer(doc, 1000.0, NOW, lambo_price_usd=lambo_price).hindsight
    got = response.hindsight
    assert told.first_lambo_s is not None and told.days_to_first_lambo is not None and told.cagr is not None
    assert got.has_first_lambo and got.first_lambo_date.seconds == told.first_lambo_s
    assert got.days_to_first_lambo == told.days_to_first_lambo > 0 and got.first_lambo_lost is False
    assert (got.peak_date.seconds, got.peak_close_usd) == (told.peak_s, peak_close)
    assert got.peak_proceeds_usd == told.peak_proceeds_usd and got.peak_lambos == pytest.approx(3.0)
    assert got.HasField("cagr") and got.cagr == told.cagr and got.years_held == told.years_held
    assert got.story == told.story and "first Lamborghini" in got.story


def test_a_lambo_never_reached_and_a_coin_too_young_to_annualise_leave_those_fields_unset(call: Call) -> None:
    request = pb.AskLamboRequest(symbol="NEW", investment_usd=1, lambo_price_usd=1e9)

    response = call(lambda ch: pb_grpc.LamboServiceStub(ch).AskLambo(request))

    got = response.hindsight
    assert not got.HasField("first_lambo_date") and got.has_first_lambo is False and got.first_lambo_lost is False
    assert not got.HasField("cagr") and got.years_held == pytest.approx(10 / 365.25, rel=0.1)
    assert got.story.startswith("It never reached a Lamborghini")


def test_get_coin_returns_the_peak_since_listing(call: Call) -> None:
    coin = call(lambda ch: pb_grpc.LamboServiceStub(ch).GetCoin(pb.GetCoinRequest(symbol="BTC")))

    found = prepare(document("BTC")).records
    assert (coin.peak.time.seconds, coin.peak.close_usd) == (found.peak_s, found.peak_close)
    assert coin.peak.close_usd >= max(p.close_usd for p in coin.history)


def test_the_legacy_api_answers_with_the_original_keys_rounding_and_chart(call: Call) -> None:
    doc = document("BTC")
    answer = call(lambda ch: api_pb2_grpc.APIStub(ch).processRequest(api_pb2.apiRequest(symbol="btc", investment=1000)))
    message = json.loads(answer.message)
    coins = 1000 / doc.listing.price_usd
    proceeds = coins * doc.last_month.mean_close
    assert set(message) == {"NUMBERCOINS", "PROFIT", "GROWTHFACTOR", "LAMBOS", "INVESTMENT", "SYMBOL", "GENERATIONDATE"}
    # As the original: PROFIT, GROWTHFACTOR and LAMBOS rounded to cents, NUMBERCOINS whole.
    assert message["NUMBERCOINS"] == pytest.approx(coins, rel=1e-12)
    assert message["PROFIT"] == round(proceeds - 1000, 2)
    assert message["GROWTHFACTOR"] == round(proceeds / 1000, 2)
    assert message["LAMBOS"] == round(proceeds / 200_000, 2)
    assert message["SYMBOL"] == "BTC" and message["INVESTMENT"] == 1000
    assert datetime.fromisoformat(message["GENERATIONDATE"]).tzinfo is not None
    # The original's clients decode the chart twice: a JSON string holding pandas' to_json of columns x and y.
    graph = json.loads(json.loads(answer.graph_data))
    assert set(graph) == {"x", "y"}
    assert list(graph["x"]) == list(graph["y"]) == [str(i) for i in range(len(doc.history_closes))]
    assert graph["x"]["0"] == "2021-03-04 00:00:00"
    assert [graph["y"][key] for key in graph["y"]] == pytest.approx(list(doc.history_closes), rel=1e-9)


def test_the_typed_api_keeps_full_precision_where_the_legacy_api_rounds(call: Call) -> None:
    async def body(ch: grpc.aio.Channel) -> tuple[pb.AskLamboResponse, api_pb2.apiResponse]:
        typed = await pb_grpc.LamboServiceStub(ch).AskLambo(pb.AskLamboRequest(symbol="BTC", investment_usd=1000))
        legacy = await api_pb2_grpc.APIStub(ch).processRequest(api_pb2.apiRequest(symbol="BTC", investment=1000))
        return typed, legacy

    typed, legacy = call(body)
    message = json.loads(legacy.message)
    assert typed.profit_usd != round(typed.profit_usd, 2)  # the fixture's numbers have more than cents
    assert message["PROFIT"] == round(typed.profit_usd, 2)
    assert message["LAMBOS"] == round(typed.lambos, 2)
    assert message["NUMBERCOINS"] == typed.coins_bought


@pytest.mark.parametrize(
    ("symbol", "investment", "code", "details"),
    [
        ("BTC", 0, "INVALID_ARGUMENT", "investment must be a positive whole number of USD, got 0"),
        ("xyz", 5, "NOT_FOUND", "no price data for XYZ; check the symbol, or try again later"),
    ],
)
def test_the_legacy_api_fails_with_a_status_not_an_ok_carrying_an_error(
    call: Call, symbol: str, investment: int, code: str, details: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        call(
            lambda ch: api_pb2_grpc.APIStub(ch).processRequest(api_pb2.apiRequest(symbol=symbol, investment=investment))
        )
    assert raised.value.code().name == code
    assert raised.value.details() == details  # said to the caller, who may be a browser behind a proxy


def test_misses_give_the_operator_a_hint_in_the_logs_at_most_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    notes = MissNotes(interval_s=60)
    with caplog.at_level(logging.INFO, logger="query_service.questions"):
        logged = [notes.note(symbol, now_s) for symbol, now_s in [("XYZ", 0), ("ABC", 1), ("XYZ", 59), ("QQQ", 61)]]

    assert logged == [True, False, False, True]
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert "delos publish XYZ" in lines[0] and "(0 other misses" in lines[0]
    assert "delos publish QQQ" in lines[1] and "(2 other misses" in lines[1]


def test_health_reports_serving_for_both_services(call: Call) -> None:
    async def body(ch: grpc.aio.Channel) -> list[int]:
        stub = health_pb2_grpc.HealthStub(ch)
        names = ("", "delos.v1.LamboService", "API")
        return [(await stub.Check(health_pb2.HealthCheckRequest(service=n))).status for n in names]

    assert call(body) == [health_pb2.HealthCheckResponse.SERVING] * 3


def test_reflection_lists_every_service_though_only_the_answer_methods_are_registered(call: Call) -> None:
    async def body(ch: grpc.aio.Channel) -> list[str]:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for response in stub.ServerReflectionInfo(iter([request])):
            return sorted(service.name for service in response.list_services_response.service)
        return []

    assert call(body) == sorted(
        ["API", "delos.v1.LamboService", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"]
    )


class RecordingServer:
    """What add_guarded_service hands a server: generic handlers and registered methods, recorded."""

    def __init__(self) -> None:
        self.generic: list[grpc.GenericRpcHandler[Any, Any]] = []
        self.registered: dict[str, list[str]] = {}

    def add_generic_rpc_handlers(self, handlers: tuple[grpc.GenericRpcHandler[Any, Any], ...]) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        self.registered[service] = sorted(handlers)


def test_only_the_named_methods_are_registered_and_every_method_is_found_by_name() -> None:
    server = RecordingServer()
    service = pb.DESCRIPTOR.services_by_name["LamboService"]
    add_guarded_service(server, LamboServicer(CoinCache()), service, registered=("AskLambo",))  # type: ignore[arg-type]
    assert server.registered == {"delos.v1.LamboService": ["AskLambo"]}
    (generic,) = server.generic
    for method in ("AskLambo", "GetCoin", "ListCoins"):
        details = HandlerDetails(f"/delos.v1.LamboService/{method}")
        assert generic.service(details) is not None, method
    with pytest.raises(ValueError, match="Ask"):
        add_guarded_service(RecordingServer(), LamboServicer(CoinCache()), service, registered=("Ask",))  # type: ignore[arg-type]


class HandlerDetails(grpc.HandlerCallDetails):
    """What grpc asks a generic handler with: the method's path and the call's metadata."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()
