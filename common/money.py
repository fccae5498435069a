"""Validation of amounts of money typed by users, and how answers write amounts."""

from __future__ import annotations

import math

from common.errors import InvalidRequest

MAX_AMOUNT_USD = 1e12


def validate_amount(value: object, name: str) -> float:
    """A positive, finite amount of USD no larger than MAX_AMOUNT_USD."""
    if type(value) is float and 0.0 < value <= MAX_AMOUNT_USD:
        return value  # the usual case (a protobuf double) in one test: NaN fails both comparisons, inf the second
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"{name} must be a number of USD")
    if isinstance(value, int) and value > MAX_AMOUNT_USD:
        raise InvalidRequest(f"{name} must be at most {MAX_AMOUNT_USD:,.0f} USD")
    amount = float(value)
    if math.isnan(amount):
        raise InvalidRequest(f"{name} is not a number (NaN)")
    if math.isinf(amount):
        raise InvalidRequest(f"{name} must be finite")
    if amount <= 0:
        raise InvalidRequest(f"{name} must be greater than 0 USD")
    if amount > MAX_AMOUNT_USD:
        raise InvalidRequest(f"{name} must be at most {MAX_AMOUNT_USD:,.0f} USD")
    return amount


def usd(amount: float) -> str:
    """An amount as the answers' sentences write it: cents below $100, whole dollars from there."""
    return f"${amount:,.2f}" if amount < 100 else f"${amount:,.0f}"
