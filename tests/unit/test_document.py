"""The cached coin document: its stored form and when a new one may replace an old one."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.document import SCHEMA_VERSION, CoinDocument, from_dict, is_improvement, to_dict
from common.errors import BadPriceData
from common.listings import ExchangeListing
from common.packing import pack
from common.prices import LastMonth, Listing

DAY = timedelta(days=1)
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)  # unix 1795132800
LISTED = datetime(2016, 1, 7, tzinfo=UTC)  # unix 1452124800


def document(as_of: datetime = AS_OF, *, sample_data: bool = False, complete: bool = True) -> CoinDocument:
    return CoinDocument(
        symbol="ETH",
        exchange="kraken",
        pair="XETHZUSD",
        listing=Listing(LISTED, 0.75, 10080, may_be_truncated=True),
        last_month=LastMonth(
            start=as_of - 30 * DAY,
            end=as_of,
            close_times=(as_of - 2 * DAY, as_of - DAY),
            closes=(3000.5, 3100.25),
        ),
        history_times=[1452124800, 1452729600],
        history_closes=[0.9, 1.1],
        computed_at=as_of + timedelta(hours=1),
        sample_data=sample_data,
        listings=(
            ExchangeListing("kraken", "XETHZUSD", "USD", "api", LISTED, 0.75, 1_234.5),
            ExchangeListing("binance", "ETHUSDT", "USDT", "api", LISTED + 200 * DAY, 1.5, 99.0),
        ),
        listing_complete=complete,
        price_exchange="coinbase",
        price_pair="ETH-USD",
        pending=() if complete else ("bitstamp",),
    )


def test_the_stored_form_holds_unix_seconds_plain_lists_and_packed_history() -> None:
    assert to_dict(document(complete=False)) == {
        "schema_version": 3,
        "symbol": "ETH",
        "exchange": "kraken",
        "pair": "XETHZUSD",
        "listings": [
            {
                "exchange": "kraken",
                "pair": "XETHZUSD",
                "quote": "USD",
                "source": "api",
                "date": 1452124800,
                "price_usd": 0.75,
                "day_volume_usd": 1_234.5,
            },
            {
                "exchange": "binance",
                "pair": "ETHUSDT",
                "quote": "USDT",
                "source": "api",
                "date": 1452124800 + 200 * 86400,
                "price_usd": 1.5,
                "day_volume_usd": 99.0,
            },
        ],
        "listing_complete": False,
        "listing_quote": "USD",
        "listing_source": "api",
        "price_exchange": "coinbase",
        "price_pair": "ETH-USD",
        "pending": ["bitstamp"],
        "listing": {"date": 1452124800, "price_usd": 0.75, "interval_minutes": 10080, "may_be_truncated": True},
        "last_month": {
            "start": 1795132800 - 30 * 86400,
            "end": 1795132800,
            "close_times": {"runs": [1795132800 - 2 * 86400, 86400, 2]},
            "closes": pack("d", [3000.5, 3100.25]),
        },
        "history": {
            "encoding": "f64le-blocks;time-runs",
            "times": {"runs": [1452124800, 604800, 2]},
            "closes": {"b0": pack("d", [0.9, 1.1])},
        },
        "as_of": 1795132800,
        "computed_at": 1795132800 + 3600,
        "sample_data": False,
    }


def test_a_document_survives_a_round_trip_through_its_stored_form() -> None:
    original = document(sample_data=True)

    restored = from_dict(to_dict(original))

    assert restored == original
    assert restored.as_of == AS_OF
    assert restored.listing.date.tzinfo is not None


def test_the_round_trip_survives_json() -> None:
    original = document()

    assert from_dict(json.loads(json.dumps(to_dict(original)))) == original


def test_the_binary_stored_form_holds_bytes_where_the_json_form_holds_base64() -> None:
    original = document()
    binary, text = to_dict(original, binary=True), to_dict(original)

    assert binary["history"]["closes"]["b0"] == base64.b64decode(text["history"]["closes"]["b0"])
    assert binary["last_month"]["closes"] == base64.b64decode(text["last_month"]["closes"])
    assert from_dict(binary) == original


def test_a_schema_2_document_with_one_packed_string_of_closes_is_still_read() -> None:
    original = document()
    stored = to_dict(original)
    stored["schema_version"] = 2
    stored["history"] = {
        "encoding": "f64le-base64;time-runs",
        "times": {"runs": [1452124800, 604800, 2]},
        "closes": pack("d", [0.9, 1.1]),
    }

    assert from_dict(stored) == original


def test_as_of_is_the_end_of_the_last_month() -> None:
    assert document().as_of == AS_OF


def test_history_is_stored_as_packed_arrays() -> None:
    doc = document()

    assert doc.history_times.typecode == "q"  # type: ignore[attr-defined]
    assert doc.history_closes.typecode == "d"  # type: ignore[attr-defined]


def test_history_times_and_closes_of_different_lengths_are_bad_price_data() -> None:
    with pytest.raises(BadPriceData, match="differ in length"):
        CoinDocument(
            symbol="ETH",
            exchange="kraken",
            pair="XETHZUSD",
            listing=document().listing,
            last_month=document().last_month,
            history_times=[1, 2],
            history_closes=[1.0],
            computed_at=AS_OF,
        )


def test_with_listing_replaces_only_the_listing() -> None:
    kept = Listing(datetime(2015, 8, 7, tzinfo=UTC), 2.77, 21600, may_be_truncated=False)

    doc = document().with_listing(kept)

    assert doc.listing == kept
    assert doc.last_month == document().last_month
    assert list(doc.history_closes) == [0.9, 1.1]


def test_a_missing_sample_data_field_reads_as_real_data() -> None:
    stored = to_dict(document())
    del stored["sample_data"]

    assert from_dict(stored).sample_data is False


def without(key: str) -> dict[str, Any]:
    stored = to_dict(document())
    del stored[key]
    return stored


@pytest.mark.parametrize(
    "stored",
    [
        without("listing"),
        without("symbol"),
        without("history"),
        {**to_dict(document()), "listing": {"date": 1452124800}},
        {**to_dict(document()), "computed_at": "yesterday"},
        {**to_dict(document()), "history": {"times": [1, 2], "closes": [1.0]}},
        {**to_dict(document()), "last_month": None},
        {},
    ],
)
def test_a_malformed_stored_document_is_bad_price_data(stored: dict[str, Any]) -> None:
    with pytest.raises(BadPriceData):
        from_dict(stored)


def test_a_stored_document_of_another_schema_version_is_refused() -> None:
    stored = {**to_dict(document()), "schema_version": SCHEMA_VERSION + 1}

    with pytest.raises(BadPriceData, match=f"unsupported schema_version {SCHEMA_VERSION + 1}"):
        from_dict(stored)


def test_a_schema_1_document_reads_as_a_complete_listing_on_its_exchange() -> None:
    stored = to_dict(document())
    for key in ("listings", "listing_complete", "listing_quote", "listing_source", "price_exchange", "price_pair"):
        del stored[key]
    del stored["pending"]
    stored["schema_version"] = 1

    doc = from_dict(stored)

    assert doc.listing_complete is True and doc.pending == ()
    assert (doc.price_exchange, doc.price_pair, doc.listing_quote, doc.listing_source) == (
        "kraken",
        "XETHZUSD",
        "USD",
        "api",
    )
    (only,) = doc.listings
    assert (only.exchange, only.listing_date, only.listing_price_usd) == ("kraken", LISTED, 0.75)
    assert only.volume_known is False  # read off a weekly candle: a refresh asks for the first day again


def test_a_final_listing_is_never_replaced_by_a_provisional_one_even_when_newer() -> None:
    assert is_improvement(document(AS_OF + DAY, complete=False), document(AS_OF)) is False


def test_a_final_listing_replaces_a_provisional_one_even_with_an_older_as_of() -> None:
    assert is_improvement(document(AS_OF - DAY), document(AS_OF, complete=False)) is True


def test_a_provisional_listing_replaces_an_older_provisional_one() -> None:
    assert is_improvement(document(AS_OF + DAY, complete=False), document(AS_OF, complete=False)) is True
    assert is_improvement(document(AS_OF - DAY, complete=False), document(AS_OF, complete=False)) is False


def test_sample_data_never_replaces_real_data_even_when_final() -> None:
    assert is_improvement(document(AS_OF, sample_data=True), document(AS_OF, complete=False)) is False


def test_the_price_exchange_defaults_to_the_listing_exchange() -> None:
    doc = replace(document(), price_exchange="", price_pair="")

    assert (doc.price_exchange, doc.price_pair) == ("kraken", "XETHZUSD")


def test_the_archive_never_prices_the_last_month() -> None:
    with pytest.raises(BadPriceData, match="archive"):
        replace(document(), price_exchange="archive")


def test_any_document_improves_on_none() -> None:
    assert is_improvement(document(), None) is True
    assert is_improvement(document(sample_data=True), None) is True


def test_a_newer_document_improves_on_an_older_one() -> None:
    assert is_improvement(document(AS_OF + DAY), document(AS_OF)) is True


def test_an_older_document_does_not_replace_a_newer_one() -> None:
    assert is_improvement(document(AS_OF - DAY), document(AS_OF)) is False


def test_a_document_with_the_same_as_of_may_replace_it() -> None:
    assert is_improvement(document(AS_OF), document(AS_OF)) is True


def test_sample_data_never_replaces_real_data_even_when_newer() -> None:
    assert is_improvement(document(AS_OF + DAY, sample_data=True), document(AS_OF)) is False


def test_real_data_replaces_sample_data_of_the_same_date() -> None:
    assert is_improvement(document(AS_OF), document(AS_OF, sample_data=True)) is True
