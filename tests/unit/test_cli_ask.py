"""`delos ask` says where the listing came from and shows every exchange's first day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cli.__main__ import parser
from cli.ask import describe
from delos.v1 import lambo_pb2 as pb


def at(day: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(day)
    return stamp


def answer(complete: bool) -> pb.AskLamboResponse:
    first = datetime(2010, 4, 25, tzinfo=UTC)
    return pb.AskLamboResponse(
        symbol="BTC",
        exchange="archive",
        pair="BTCUSD",
        listing_date=at(first),
        listing_price_usd=0.003,
        listing_quote="USD",
        listing_source="archive",
        listing_complete=complete,
        price_exchange="kraken",
        price_pair="XXBTZUSD",
        listings=[
            pb.ExchangeListing(
                exchange="archive", pair="BTCUSD", listing_date=at(first), listing_price_usd=0.003, source="archive"
            ),
            pb.ExchangeListing(
                exchange="binance",
                pair="BTCUSDT",
                quote="USDT",
                listing_date=at(datetime(2017, 8, 17, tzinfo=UTC)),
                listing_price_usd=4_285.08,
                listing_day_volume_usd=3_454_770.05,
            ),
        ],
    )


def test_the_answer_names_the_listing_source_and_tabulates_first_days() -> None:
    text = describe(answer(complete=True), None)
    assert "listing: archive BTCUSD (from the archive shipped with Delos), final" in text
    assert "last month's prices: kraken XXBTZUSD" in text
    rows = [line.split() for line in text.splitlines() if line.strip().startswith(("archive ", "binance "))]
    assert rows == [["archive", "2010-04-25", "$0.003", "unknown"], ["binance", "2017-08-17", "$4,285", "$3,454,770"]]


def test_a_provisional_listing_is_said_to_be_so() -> None:
    assert "provisional" in describe(answer(complete=False), None)


def test_exchange_takes_only_known_names() -> None:
    assert parser().parse_args(["ask", "BTC", "--invest", "1", "--exchange", "bitstamp"]).exchange == "bitstamp"
    with pytest.raises(SystemExit):
        parser().parse_args(["ask", "BTC", "--invest", "1", "--exchange", "gdax"])
