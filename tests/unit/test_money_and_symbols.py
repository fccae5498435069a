"""User-typed amounts and coin symbols: validated once, with messages a user can act on."""

from __future__ import annotations

import math

import pytest

from common.errors import InvalidRequest
from common.money import MAX_AMOUNT_USD, usd, validate_amount
from common.symbols import normalize_symbol

# --- amounts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(1000, 1000.0), (0.01, 0.01), (1e12, 1e12), (10**12, 1e12)])
def test_a_positive_finite_amount_up_to_a_trillion_is_accepted_as_a_float(value: float, expected: float) -> None:
    amount = validate_amount(value, "investment_usd")

    assert amount == expected
    assert type(amount) is float


def test_the_largest_amount_is_one_trillion_usd() -> None:
    assert MAX_AMOUNT_USD == 1e12


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "investment_usd is not a number"),
        (math.inf, "investment_usd must be finite"),
        (-math.inf, "investment_usd must be finite"),
        (0, "investment_usd must be greater than 0"),
        (0.0, "investment_usd must be greater than 0"),
        (-5.0, "investment_usd must be greater than 0"),
        (1e12 + 1e4, "investment_usd must be at most 1,000,000,000,000 USD"),
        (True, "investment_usd must be a number of USD"),
        (False, "investment_usd must be a number of USD"),
        ("1000", "investment_usd must be a number of USD"),
        (None, "investment_usd must be a number of USD"),
    ],
)
def test_a_bad_amount_is_an_invalid_request_saying_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_amount(value, "investment_usd")

    assert str(caught.value).startswith(message)


def test_the_amount_name_given_is_the_one_named_in_the_message() -> None:
    with pytest.raises(InvalidRequest, match="^lambo_price_usd "):
        validate_amount(-1, "lambo_price_usd")


def test_an_integer_too_large_for_a_float_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="at most"):
        validate_amount(10**400, "investment_usd")


# --- symbols -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("btc", "BTC"), ("  eth\t", "ETH"), ("Doge", "DOGE"), ("1INCH", "1INCH"), ("AB", "AB"), ("A" * 12, "A" * 12)],
)
def test_a_symbol_is_trimmed_and_upper_cased(raw: str, expected: str) -> None:
    assert normalize_symbol(raw) == expected


@pytest.mark.parametrize("raw", ["B", "A" * 13, "BTC-USD", "BT C", "BTC/", "ÉTH", "BTC\x00", "../etc", "₿TC"])
def test_a_symbol_outside_two_to_twelve_letters_or_digits_is_an_invalid_request(raw: str) -> None:
    with pytest.raises(InvalidRequest, match="must be 2 to 12 letters or digits"):
        normalize_symbol(raw)


@pytest.mark.parametrize("raw", ["", "   ", "\n\t"])
def test_an_empty_symbol_is_an_invalid_request(raw: str) -> None:
    with pytest.raises(InvalidRequest, match="symbol is empty"):
        normalize_symbol(raw)


@pytest.mark.parametrize("raw", [None, 42, b"BTC", ["BTC"]])
def test_a_symbol_that_is_not_a_string_is_an_invalid_request(raw: object) -> None:
    with pytest.raises(InvalidRequest, match="symbol must be a string"):
        normalize_symbol(raw)


def test_a_megabyte_symbol_is_refused_without_being_echoed_back() -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize_symbol("x" * 1_000_000)

    message = str(caught.value)
    assert len(message) < 200
    assert "X" * 20 + "'..." in message
    assert "X" * 21 not in message


def test_a_refused_symbol_is_shown_in_ascii_only() -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize_symbol("ÉTH")

    assert str(caught.value).isascii()
    assert "\\xc9TH" in str(caught.value)


@pytest.mark.parametrize("raw", ["\u017fol", "b\u0131tc", "\u00df\u00df"])
def test_a_symbol_with_letters_outside_ascii_is_refused_even_if_they_upper_case_to_ascii(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        normalize_symbol(raw)


def test_usd_writes_cents_below_100_and_whole_dollars_from_there_halves_to_even() -> None:
    assert [usd(x) for x in (0.5, 99.994, 99.996, 100.5, 101.5, 1_234_567.5)] == [
        "$0.50", "$99.99", "$100.00", "$100", "$102", "$1,234,568",
    ]  # fmt: skip
