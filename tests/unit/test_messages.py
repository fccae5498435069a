"""Refresh messages: what a valid body looks like and why a poison one is dropped."""

from __future__ import annotations

import json

import pytest

from common.errors import InvalidMessage
from common.messages import MAX_MESSAGE_BYTES, MAX_SYMBOLS_PER_MESSAGE, RefreshRequest, decode, encode


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def test_a_list_of_symbols_is_normalised_and_de_duplicated_in_order() -> None:
    request = decode(body({"symbols": ["eth", "BTC", " eth ", "btc", "SOL"]}))

    assert request == RefreshRequest(symbols=("ETH", "BTC", "SOL"), all=False, force=False)


def test_all_coins_can_be_asked_for() -> None:
    assert decode(body({"all": True})) == RefreshRequest(symbols=(), all=True, force=False)


def test_force_is_read_when_given() -> None:
    assert decode(body({"symbols": ["BTC"], "force": True})) == RefreshRequest(("BTC",), all=False, force=True)
    assert decode(body({"all": True, "force": False})) == RefreshRequest((), all=True, force=False)


@pytest.mark.parametrize(
    "request_",
    [
        RefreshRequest(symbols=("BTC", "ETH")),
        RefreshRequest(symbols=("BTC",), force=True),
        RefreshRequest(all=True),
        RefreshRequest(all=True, force=True),
    ],
)
def test_an_encoded_request_decodes_to_the_same_request(request_: RefreshRequest) -> None:
    assert decode(encode(request_)) == request_


def test_the_encoded_body_is_compact_json() -> None:
    assert encode(RefreshRequest(symbols=("BTC",), force=True)) == b'{"symbols":["BTC"],"force":true}'
    assert encode(RefreshRequest(all=True)) == b'{"all":true}'


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not JSON"),
        (b"symbols=BTC", "not JSON"),
        (b'{"symbols": ["BTC"]', "not JSON"),
        (b"\xff\xfe\xfa", "not JSON"),
        (b'["BTC"]', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'"BTC"', "must be a JSON object"),
        (b'{"all": "yes"}', "true or false"),
        (b'{"all": 1}', "true or false"),
        (b'{"symbols": ["BTC"], "force": "true"}', "true or false"),
        (b'{"symbols": "BTC"}', "must be a list"),
        (b'{"symbols": {"BTC": 1}}', "must be a list"),
        (b"{}", "either"),
        (b'{"force": true}', "either"),
        (b'{"symbols": []}', "either"),
        (b'{"all": false}', "either"),
        (b'{"all": true, "symbols": ["BTC"]}', "either"),
        (b'{"symbols": ["BTC", 7]}', "symbol must be a string"),
        (b'{"symbols": ["BTC", null]}', "symbol must be a string"),
        (b'{"symbols": ["BTC-USD"]}', "2 to 12 letters or digits"),
        (b'{"symbols": [""]}', "symbol is empty"),
    ],
)
def test_a_message_that_can_never_be_processed_is_an_invalid_message(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        decode(raw)


def test_a_message_over_64_kib_is_an_invalid_message() -> None:
    padded = b'{"all": true}' + b" " * (MAX_MESSAGE_BYTES - len(b'{"all": true}') + 1)

    with pytest.raises(InvalidMessage, match="exceeds 65536"):
        decode(padded)


def test_a_message_of_exactly_64_kib_is_read() -> None:
    padded = b'{"all": true}' + b" " * (MAX_MESSAGE_BYTES - len(b'{"all": true}'))

    assert len(padded) == 64 * 1024
    assert decode(padded) == RefreshRequest(all=True)


def test_a_thousand_symbols_are_accepted() -> None:
    symbols = [f"C{i:04d}" for i in range(MAX_SYMBOLS_PER_MESSAGE)]

    assert len(decode(body({"symbols": symbols})).symbols) == 1000


def test_more_than_a_thousand_symbols_is_an_invalid_message() -> None:
    symbols = [f"C{i:04d}" for i in range(MAX_SYMBOLS_PER_MESSAGE + 1)]

    with pytest.raises(InvalidMessage, match="at most 1000 symbols"):
        decode(body({"symbols": symbols}))


def test_an_invalid_message_about_a_huge_symbol_does_not_echo_it() -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(body({"symbols": ["A" * 60_000]}))

    assert len(str(caught.value)) < 200


def test_deeply_nested_json_is_an_invalid_message() -> None:
    with pytest.raises(InvalidMessage):
        decode(b"[" * 5000)


def test_an_unknown_key_is_refused_so_a_typo_never_silently_drops_an_option() -> None:
    with pytest.raises(InvalidMessage, match="forced"):
        decode(b'{"all": true, "forced": true}')
