"""Properties of the lambo math, symbols and refresh messages, checked over generated inputs."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.candles import DAILY_MINUTES, Candle, CandleSeries
from common.document import CoinDocument, from_dict, to_dict
from common.errors import BadPriceData, InvalidMessage, InvalidRequest
from common.lambo import SellChoice, answer
from common.messages import RefreshRequest, decode, encode
from common.prices import Listing, last_month_from
from common.symbols import normalize_symbol
from tests.unit.fakes import month_coin

DAY = timedelta(days=1)
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
NOW = AS_OF + timedelta(hours=1)

prices = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
amounts = st.floats(min_value=0.01, max_value=1e9, allow_nan=False, allow_infinity=False)
month_closes = st.lists(prices, min_size=1, max_size=30).map(tuple)
choices = st.sampled_from(SellChoice)
symbols = st.from_regex(r"[A-Z0-9]{2,12}", fullmatch=True)


def coin(listing_price: float, closes: tuple[float, ...]) -> CoinDocument:
    return month_coin(listing_price, closes, AS_OF)


@given(listing=prices, closes=month_closes, investment=amounts, factor=st.floats(min_value=0.001, max_value=1000))
def test_proceeds_scale_linearly_with_the_investment(
    listing: float, closes: tuple[float, ...], investment: float, factor: float
) -> None:
    one = answer(coin(listing, closes), investment, now=NOW)
    scaled = answer(coin(listing, closes), investment * factor, now=NOW)

    assert scaled.proceeds_usd == pytest.approx(one.proceeds_usd * factor, rel=1e-9)


@given(listing=prices, closes=month_closes, investment=amounts, choice=choices)
def test_the_growth_factor_is_the_sell_price_over_the_listing_price(
    listing: float, closes: tuple[float, ...], investment: float, choice: SellChoice
) -> None:
    told = answer(coin(listing, closes), investment, now=NOW, sell=choice)

    assert told.growth_factor == pytest.approx(told.sell_price_usd / listing, rel=1e-9)
    assert told.profit_usd == pytest.approx(told.proceeds_usd - investment, rel=1e-9, abs=1e-6)


@given(listing=prices, closes=month_closes, choice=choices, lambo=st.floats(min_value=1.0, max_value=1e7))
def test_the_breakeven_investment_buys_exactly_one_lambo(
    listing: float, closes: tuple[float, ...], choice: SellChoice, lambo: float
) -> None:
    breakeven = answer(coin(listing, closes), 1000.0, now=NOW, lambo_price_usd=lambo, sell=choice)

    told = answer(
        coin(listing, closes), breakeven.breakeven_investment_usd, now=NOW, lambo_price_usd=lambo, sell=choice
    )

    assert told.lambos == pytest.approx(1.0, rel=1e-9)


@given(listing=prices, closes=month_closes, investment=amounts)
def test_the_worst_close_is_at_most_the_mean_and_the_mean_at_most_the_best(
    listing: float, closes: tuple[float, ...], investment: float
) -> None:
    def price(choice: SellChoice) -> float:
        return answer(coin(listing, closes), investment, now=NOW, sell=choice).sell_price_usd

    worst, mean, best = price(SellChoice.WORST), price(SellChoice.MEAN), price(SellChoice.BEST)

    assert worst <= mean <= best
    assert worst <= price(SellChoice.LATEST) <= best


@given(listing=prices, closes=month_closes, investment=amounts, lambo=st.floats(min_value=1.0, max_value=1e7))
def test_a_lambo_is_affordable_exactly_when_the_count_reaches_one(
    listing: float, closes: tuple[float, ...], investment: float, lambo: float
) -> None:
    told = answer(coin(listing, closes), investment, now=NOW, lambo_price_usd=lambo)

    assert told.can_buy_lambo == (told.lambos >= 1)
    assert ("yes" in told.verdict) == told.can_buy_lambo
    assert "ETH" in told.verdict


@given(raw=st.text(max_size=40))
def test_a_normalised_symbol_is_always_two_to_twelve_ascii_letters_or_digits(raw: str) -> None:
    try:
        symbol = normalize_symbol(raw)
    except InvalidRequest:
        return
    assert re.fullmatch(r"[A-Z0-9]{2,12}", symbol)


@given(symbol=symbols, padding=st.sampled_from(["", " ", "\t", "  \n"]))
def test_a_valid_symbol_in_any_case_normalises_to_its_upper_case(symbol: str, padding: str) -> None:
    assert normalize_symbol(padding + symbol.lower() + padding) == symbol


@given(raw=st.binary(max_size=2048))
def test_decoding_arbitrary_bytes_raises_nothing_but_invalid_message(raw: bytes) -> None:
    try:
        request = decode(raw)
    except InvalidMessage:
        return
    assert request.all != bool(request.symbols)


@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=15),
        lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
        max_leaves=20,
    )
)
def test_decoding_arbitrary_json_raises_nothing_but_invalid_message(value: object) -> None:
    try:
        request = decode(json.dumps(value).encode())
    except InvalidMessage:
        return
    assert request.all != bool(request.symbols)


@given(listed=st.lists(symbols, min_size=1, max_size=50, unique=True), force=st.booleans())
def test_an_encoded_refresh_request_decodes_to_itself(listed: list[str], force: bool) -> None:
    request = RefreshRequest(symbols=tuple(listed), force=force)

    assert decode(encode(request)) == request


@given(listing=prices, closes=month_closes, truncated=st.booleans(), sample=st.booleans())
def test_any_document_survives_the_round_trip_through_its_stored_form(
    listing: float, closes: tuple[float, ...], truncated: bool, sample: bool
) -> None:
    doc = coin(listing, closes)
    doc = CoinDocument(
        symbol=doc.symbol,
        exchange=doc.exchange,
        pair=doc.pair,
        listing=Listing(doc.listing.date, listing, 21600, truncated),
        last_month=doc.last_month,
        history_times=[1_452_124_800 + 604_800 * i for i in range(len(closes))],
        history_closes=closes,
        computed_at=NOW,
        sample_data=sample,
    )

    assert from_dict(to_dict(doc)) == doc


@given(
    present=st.lists(st.booleans(), min_size=31, max_size=31),
    hours_past_end=st.integers(min_value=0, max_value=23),
)
def test_the_last_month_never_holds_more_than_30_days_nor_the_forming_candle(
    present: list[bool], hours_past_end: int
) -> None:
    start = AS_OF - 30 * DAY
    opens = [start + DAY * i for i in range(31) if present[i]]
    series = CandleSeries(DAILY_MINUTES, tuple(Candle(t, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0) for t in opens))
    complete_opens = [t for t in opens if t + DAY <= AS_OF]
    now = AS_OF + timedelta(hours=hours_past_end)
    if not complete_opens:
        with pytest.raises(BadPriceData):
            last_month_from(series, now=now)
        return

    month = last_month_from(series, now=now)

    assert month.end == complete_opens[-1] + DAY
    assert month.candles + month.missing_days == 30
    assert all(month.end - 30 * DAY <= t < month.end for t in month.close_times)
    assert math.isclose(month.mean_close, 1.0)
