"""The lambo answer: hand-computed arithmetic over a small cached document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from common.document import CoinDocument
from common.lambo import LAMBO_PRICE_USD, SellChoice, answer, is_stale, sell_price, verdict
from tests.unit.fakes import month_coin

DAY = timedelta(days=1)
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
FRESH = AS_OF + timedelta(hours=6)


def coin(listing_price: float = 0.5, closes: tuple[float, ...] = (2.0, 8.0, 4.0, 6.0)) -> CoinDocument:
    """Listed at `listing_price`; last month closes mean 5, best 8, worst 2, latest 6 by default."""
    return month_coin(listing_price, closes, AS_OF)


def test_the_default_lambo_costs_200000_usd() -> None:
    assert LAMBO_PRICE_USD == 200_000.0


def test_a_thousand_dollars_at_listing_sold_at_the_mean_close_is_hand_computed() -> None:
    told = answer(coin(), 1000.0, now=FRESH)

    # 1000 / 0.5 = 2000 coins; mean of 2, 8, 4, 6 is 5; 2000 x 5 = 10000.
    assert told.sell is SellChoice.MEAN
    assert told.coins_bought == 2000.0
    assert told.sell_price_usd == 5.0
    assert told.proceeds_usd == 10_000.0
    assert told.profit_usd == 9_000.0
    assert told.growth_factor == 10.0
    assert told.lambos == pytest.approx(0.05)
    assert told.can_buy_lambo is False
    assert told.breakeven_investment_usd == 20_000.0
    assert told.lambo_price_usd == 200_000.0
    assert told.investment_usd == 1000.0
    assert told.stale is False


@pytest.mark.parametrize(
    ("choice", "price", "proceeds", "lambos", "breakeven"),
    [
        (SellChoice.MEAN, 5.0, 10_000.0, 0.05, 20_000.0),
        (SellChoice.BEST, 8.0, 16_000.0, 0.08, 12_500.0),
        (SellChoice.WORST, 2.0, 4_000.0, 0.02, 50_000.0),
        (SellChoice.LATEST, 6.0, 12_000.0, 0.06, 100_000.0 / 6.0),
    ],
)
def test_each_way_of_selling_uses_its_own_close(
    choice: SellChoice, price: float, proceeds: float, lambos: float, breakeven: float
) -> None:
    told = answer(coin(), 1000.0, now=FRESH, sell=choice)

    assert sell_price(coin().last_month, choice) == price
    assert told.sell_price_usd == price
    assert told.proceeds_usd == pytest.approx(proceeds)
    assert told.lambos == pytest.approx(lambos)
    assert told.breakeven_investment_usd == pytest.approx(breakeven)


def test_sell_choices_are_named_as_the_api_spells_them() -> None:
    assert [c.value for c in SellChoice] == ["mean", "best", "worst", "latest"]


def test_a_losing_coin_has_a_negative_profit_and_a_growth_factor_below_one() -> None:
    told = answer(coin(listing_price=10.0, closes=(5.0,)), 1000.0, now=FRESH)

    assert told.proceeds_usd == 500.0
    assert told.profit_usd == -500.0
    assert told.growth_factor == 0.5


def test_proceeds_of_exactly_the_lambo_price_can_buy_the_lambo() -> None:
    told = answer(coin(), 20_000.0, now=FRESH)

    assert told.proceeds_usd == 200_000.0
    assert told.lambos == 1.0
    assert told.can_buy_lambo is True


def test_proceeds_a_cent_short_of_the_lambo_price_cannot_buy_it() -> None:
    told = answer(coin(), 19_999.999, now=FRESH)

    assert told.proceeds_usd < 200_000.0
    assert told.can_buy_lambo is False


def test_a_custom_lambo_price_changes_the_count_and_the_breakeven() -> None:
    told = answer(coin(), 1000.0, now=FRESH, lambo_price_usd=250_000.0)

    assert told.lambos == pytest.approx(0.04)
    assert told.breakeven_investment_usd == 25_000.0


def test_an_answer_exactly_three_days_old_is_not_stale() -> None:
    assert is_stale(AS_OF, now=AS_OF + 3 * DAY) is False
    assert answer(coin(), 1000.0, now=AS_OF + 3 * DAY).stale is False


def test_an_answer_a_second_more_than_three_days_old_is_stale() -> None:
    assert is_stale(AS_OF, now=AS_OF + 3 * DAY + timedelta(seconds=1)) is True
    assert answer(coin(), 1000.0, now=AS_OF + 3 * DAY + timedelta(seconds=1)).stale is True


def test_a_coin_without_recent_prices_is_still_answered_but_marked_stale() -> None:
    with freeze_time("2027-02-01 09:00:00"):
        told = answer(coin(), 1000.0, now=datetime.now(UTC))

    assert told.stale is True
    assert told.proceeds_usd == 10_000.0


def test_a_verdict_without_a_lambo_says_no_and_names_the_coin() -> None:
    told = answer(coin(), 1000.0, now=FRESH)

    assert told.verdict == (
        "$1,000 of ETH bought at listing would sell for $10,000: no Lamborghini, that is 5.00% of one at $200,000."
    )


def test_a_verdict_with_one_lambo_says_yes() -> None:
    told = answer(coin(), 20_000.0, now=FRESH)

    assert "ETH" in told.verdict
    assert told.verdict.endswith("yes, enough for a Lamborghini.")


def test_a_verdict_with_several_lambos_counts_whole_lambos() -> None:
    told = answer(coin(), 100_000.0, now=FRESH)

    # 200000 coins x 5 = 1,000,000 USD = 5 lambos.
    assert (
        told.verdict == "$100,000 of ETH bought at listing would sell for $1,000,000: yes, enough for 5 Lamborghinis."
    )


def test_small_amounts_in_a_verdict_show_cents() -> None:
    assert verdict("DOGE", 12.5, 0.25, 0.00000125, LAMBO_PRICE_USD).startswith(
        "$12.50 of DOGE bought at listing would sell for $0.25: no Lamborghini"
    )
