"""Hindsight over random histories: its properties, and a brute-force scan that must agree with the bisect."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.document import CoinDocument
from common.lambo import LamboAnswer, SellChoice, answer, hindsight_points, prepare
from common.prices import LastMonth, Listing

DAY = timedelta(days=1)
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
NOW = AS_OF + timedelta(hours=1)

prices = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
amounts = st.floats(min_value=0.01, max_value=1e9, allow_nan=False, allow_infinity=False)


@st.composite
def coins(draw: st.DrawFn) -> CoinDocument:
    """A coin with gappy history (1 to 30 days between closes), some before the listing, and a short last month."""
    gaps = draw(st.lists(st.integers(min_value=1, max_value=30), min_size=0, max_size=40))
    month = draw(st.lists(prices, min_size=1, max_size=8))
    first_month_day = AS_OF - DAY * len(month)
    start = first_month_day - DAY * (sum(gaps) + 1)
    days = [start + DAY * sum(gaps[:i]) for i in range(len(gaps))]
    closes = draw(st.lists(prices, min_size=len(days), max_size=len(days)))
    everything = [*days, first_month_day]
    listed = everything[draw(st.integers(min_value=0, max_value=len(everything) - 1))]
    return CoinDocument(
        symbol="RND",
        exchange="kraken",
        pair="RNDUSD",
        listing=Listing(listed, draw(prices), 10080, may_be_truncated=False),
        last_month=LastMonth(
            start=AS_OF - 30 * DAY,
            end=AS_OF,
            close_times=tuple(first_month_day + DAY * i for i in range(len(month))),
            closes=tuple(month),
        ),
        history_times=[int(t.timestamp()) for t in days],
        history_closes=closes,
        computed_at=AS_OF,
    )


def lambo_prices(data: st.DataObject, doc: CoinDocument, investment: float) -> float:
    """Any price, or one exactly on the boundary of a close in the series (coins x close)."""
    coins_bought = investment / doc.listing.price_usd
    closes = list(hindsight_points(doc)[1])
    on_boundary = st.sampled_from(closes).map(lambda close: coins_bought * close)
    lambo = data.draw(st.one_of(amounts, on_boundary))
    return lambo if math.isfinite(lambo) and lambo > 0 else 1.0


def scan(doc: CoinDocument, told: LamboAnswer) -> tuple[int | None, int, float]:
    """Brute force: first day worth one lambo, the peak's day and close, looking at every close since listing."""
    listing_s = int(told.listing.date.timestamp())
    since = [(t, c) for t, c in zip(*hindsight_points(doc), strict=True) if t >= listing_s] or [
        (listing_s, told.listing.price_usd)
    ]
    first = next((t for t, c in since if told.coins_bought * c >= told.lambo_price_usd), None)
    peak = max(c for _, c in since)
    return first, next(t for t, c in since if c == peak), peak


@settings(max_examples=2000, deadline=None)
@given(st.data(), coins(), amounts, st.sampled_from(SellChoice))
def test_the_bisect_answer_equals_a_brute_force_scan(
    data: st.DataObject, doc: CoinDocument, investment: float, choice: SellChoice
) -> None:
    lambo = lambo_prices(data, doc, investment)

    told = answer(doc, investment, NOW, lambo_price_usd=lambo, sell=choice)

    first, peak_s, peak = scan(doc, told)
    assert told.hindsight.first_lambo_s == first
    assert (told.hindsight.peak_s, told.hindsight.peak_close_usd) == (peak_s, peak)
    assert told.hindsight.first_lambo_lost is (first is not None and told.coins_bought * told.sell_price_usd < lambo)


@given(st.data(), coins(), amounts)
def test_a_first_lambo_day_exists_iff_the_peak_proceeds_reach_the_lambo_price(
    data: st.DataObject, doc: CoinDocument, investment: float
) -> None:
    lambo = lambo_prices(data, doc, investment)

    told = answer(doc, investment, NOW, lambo_price_usd=lambo).hindsight

    assert (told.first_lambo_s is not None) is (told.peak_proceeds_usd >= lambo)


@given(st.data(), coins(), amounts)
def test_the_first_lambo_day_is_never_after_the_peak_nor_before_the_listing(
    data: st.DataObject, doc: CoinDocument, investment: float
) -> None:
    told = answer(doc, investment, NOW, lambo_price_usd=lambo_prices(data, doc, investment)).hindsight

    if told.first_lambo_s is not None:
        assert int(doc.listing.date.timestamp()) <= told.first_lambo_s <= told.peak_s
        assert told.days_to_first_lambo is not None and told.days_to_first_lambo >= 0


@given(st.data(), coins(), amounts)
def test_doubling_the_investment_never_makes_the_first_lambo_later(
    data: st.DataObject, doc: CoinDocument, investment: float
) -> None:
    lambo = lambo_prices(data, doc, investment)
    prepared = prepare(doc)

    once = answer(prepared, investment, NOW, lambo_price_usd=lambo).hindsight
    twice = answer(prepared, investment * 2, NOW, lambo_price_usd=lambo).hindsight

    if once.first_lambo_s is not None:
        assert twice.first_lambo_s is not None and twice.first_lambo_s <= once.first_lambo_s


@given(coins(), amounts, st.sampled_from(SellChoice))
def test_cagr_compounds_to_the_growth_factor_over_the_years_held(
    doc: CoinDocument, investment: float, choice: SellChoice
) -> None:
    told = answer(doc, investment, NOW, sell=choice)

    years = told.hindsight.years_held
    assert years == pytest.approx((AS_OF - doc.listing.date) / timedelta(days=365.25))
    if told.hindsight.cagr is None:
        assert years < 30 / 365.25
    elif 1 + told.hindsight.cagr > 1e-6 and math.isfinite(told.hindsight.cagr):
        # (1 + cagr) carries an absolute rounding error of ~1e-16: compare where that is small relatively
        assert (1 + told.hindsight.cagr) ** years == pytest.approx(told.growth_factor, rel=1e-8)
    else:
        assert told.growth_factor < 1 or not math.isfinite(told.hindsight.cagr)


@given(coins(), amounts)
def test_the_peak_is_worth_at_least_any_sale(doc: CoinDocument, investment: float) -> None:
    for choice in SellChoice:
        told = answer(doc, investment, NOW, sell=choice)
        assert told.hindsight.peak_proceeds_usd >= told.proceeds_usd or math.isclose(
            told.hindsight.peak_proceeds_usd, told.proceeds_usd
        )
