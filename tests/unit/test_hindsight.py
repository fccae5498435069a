"""Hindsight: the first-lambo day, the peak and the growth per year, on hand-made histories."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from common.document import CoinDocument
from common.hindsight import DAY_S, cagr, day, first_reaching, records
from common.lambo import SellChoice, answer, hindsight_points, prepare
from common.prices import LastMonth, Listing

DAY = timedelta(days=1)
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
NOW = AS_OF + timedelta(hours=6)
LISTED = datetime(2016, 1, 7, tzinfo=UTC)


def unix(when: datetime) -> int:
    return int(when.timestamp())


def coin(
    history: Sequence[tuple[datetime, float]],
    month: Sequence[float] = (2.0, 8.0, 4.0, 6.0),
    listed: datetime = LISTED,
    listing_price: float = 1.0,
    as_of: datetime = AS_OF,
) -> CoinDocument:
    """Listed at `listing_price` on `listed`; `history` before the last month, whose daily closes are `month`."""
    close_times = tuple(as_of - DAY * (len(month) - i) for i in range(len(month)))
    return CoinDocument(
        symbol="ETH",
        exchange="kraken",
        pair="XETHZUSD",
        listing=Listing(listed, listing_price, 10080, may_be_truncated=False),
        last_month=LastMonth(start=as_of - 30 * DAY, end=as_of, close_times=close_times, closes=tuple(month)),
        history_times=[unix(t) for t, _ in history],
        history_closes=[c for _, c in history],
        computed_at=as_of,
    )


def weekly(closes: Sequence[float], start: datetime = LISTED) -> list[tuple[datetime, float]]:
    return [(start + timedelta(weeks=w), c) for w, c in enumerate(closes)]


def test_records_keep_only_new_maxima_with_where_each_was_reached() -> None:
    found = records([(10, 3.0), (20, 2.0), (30, 5.0), (40, 5.0), (50, 7.0)], listing_s=10, listing_price_usd=3.0)

    assert list(found.maxima) == [3.0, 5.0, 7.0]
    assert list(found.times_s) == [10, 30, 50]
    assert (found.peak_close, found.peak_s) == (7.0, 50)


def test_points_before_the_listing_date_are_ignored() -> None:
    found = records([(5, 100.0), (10, 3.0), (20, 4.0)], listing_s=10, listing_price_usd=3.0)

    assert list(found.maxima) == [3.0, 4.0]


def test_with_no_point_since_listing_the_listing_itself_is_the_peak() -> None:
    found = records([(5, 100.0)], listing_s=10, listing_price_usd=3.0)

    assert (found.peak_close, found.peak_s) == (3.0, 10)


def test_the_last_month_replaces_the_history_from_its_first_day() -> None:
    doc = coin(weekly([1.0, 2.0]) + [(AS_OF - DAY, 99.0)], month=(5.0, 6.0))

    points = list(zip(*hindsight_points(doc), strict=True))

    assert points == [(unix(LISTED), 1.0), (unix(LISTED) + 7 * DAY_S, 2.0), (unix(AS_OF - 2 * DAY), 5.0),
                      (unix(AS_OF - DAY), 6.0)]  # fmt: skip


@pytest.mark.parametrize(
    ("close", "coins", "lambo"),
    [
        # lambo / coins rounds above the close although coins * close == lambo: bisect alone would miss it
        (54.18710603207031, 2459.8044940561, 133289.68693758096),
        # lambo / coins rounds down to the close although coins * close < lambo: bisect alone would take it
        (95.60782376173601, 9478.7965957229, 906247.1143972185),
    ],
)
def test_the_bisect_agrees_with_coins_times_close_at_least_the_lambo_price(
    close: float, coins: float, lambo: float
) -> None:
    found = records([(0, close)], listing_s=0, listing_price_usd=close)

    reached = first_reaching(found, coins, lambo)

    assert (reached == 0) is (coins * close >= lambo)


def test_a_coin_that_never_reached_one_lambo_has_no_first_lambo_day() -> None:
    told = answer(coin(weekly([1.0, 3.0, 2.0])), 1000.0, NOW)

    assert told.hindsight.first_lambo_s is None and told.hindsight.days_to_first_lambo is None
    assert told.hindsight.first_lambo_lost is False
    assert told.hindsight.peak_close_usd == 8.0  # the last month's best close
    assert told.hindsight.peak_proceeds_usd == 8000.0 and told.hindsight.peak_lambos == 8000.0 / 200_000
    assert told.hindsight.story.startswith("It never reached a Lamborghini")


def test_a_lambo_price_the_listing_day_affords_makes_the_listing_date_the_first_lambo_day() -> None:
    told = answer(coin(weekly([1.0, 3.0])), 1000.0, NOW, lambo_price_usd=1000.0)

    assert told.hindsight.first_lambo_s == unix(LISTED) and told.hindsight.days_to_first_lambo == 0
    assert "the day you bought" in told.hindsight.story


def test_the_first_lambo_day_is_the_first_close_worth_one_after_a_gap_in_the_history() -> None:
    gap = [(LISTED, 1.0), (LISTED + timedelta(weeks=1), 50.0), (LISTED + timedelta(weeks=9), 250.0)]

    told = answer(coin(gap), 1000.0, NOW)

    assert told.hindsight.first_lambo_s == unix(LISTED + timedelta(weeks=9))
    assert told.hindsight.days_to_first_lambo == 63
    assert told.hindsight.story.startswith(
        f"You would have had your first Lamborghini on {day(unix(LISTED) + 63 * DAY_S)}"
    )


def test_a_lambo_reached_then_lost_says_so() -> None:
    told = answer(coin(weekly([1.0, 400.0, 900.0, 300.0]), month=(3.0, 2.0)), 1000.0, NOW)

    assert told.can_buy_lambo is False
    assert told.hindsight.first_lambo_s == unix(LISTED + timedelta(weeks=1))
    assert told.hindsight.first_lambo_lost is True
    assert told.hindsight.peak_s == unix(LISTED + timedelta(weeks=2)) and told.hindsight.peak_lambos == 4.5
    assert "fallen below one" in told.hindsight.story and "4 of them" in told.hindsight.story


@pytest.mark.parametrize("choice", list(SellChoice))
def test_the_first_lambo_day_and_the_peak_do_not_depend_on_the_sell_choice_but_cagr_follows_it(
    choice: SellChoice,
) -> None:
    doc = coin(weekly([1.0, 300.0, 150.0]))
    mean = answer(doc, 1000.0, NOW).hindsight
    told = answer(doc, 1000.0, NOW, sell=choice)

    assert told.hindsight.first_lambo_s == mean.first_lambo_s and told.hindsight.peak_s == mean.peak_s
    assert told.hindsight.peak_proceeds_usd == mean.peak_proceeds_usd
    assert told.hindsight.cagr == pytest.approx(told.growth_factor ** (1 / told.hindsight.years_held) - 1)


def test_years_held_run_from_the_listing_date_to_as_of_in_years_of_365_25_days() -> None:
    listed = AS_OF - timedelta(days=2 * 365.25)

    told = answer(coin(weekly([1.0], start=listed), month=(4.0,), listed=listed), 1000.0, NOW)

    assert told.hindsight.years_held == pytest.approx(2.0)
    assert told.hindsight.cagr == pytest.approx(1.0)  # x4 in two years is x2 a year


def test_a_coin_younger_than_a_month_has_no_cagr_and_still_an_answer() -> None:
    listed = AS_OF - 10 * DAY

    told = answer(coin([], month=(1.0, 9.0, 3.0), listed=listed), 1000.0, NOW)

    assert told.hindsight.cagr is None
    assert told.hindsight.years_held == pytest.approx(10 / 365.25)
    assert told.hindsight.peak_close_usd == 9.0 and told.hindsight.story


def test_a_stale_coin_tells_the_same_story_marked_stale() -> None:
    doc = coin(weekly([1.0, 300.0]))

    fresh, stale = answer(doc, 1000.0, NOW), answer(doc, 1000.0, NOW + 30 * DAY)

    assert stale.stale is True and fresh.stale is False
    assert stale.hindsight == fresh.hindsight


def test_another_listing_buys_at_its_price_and_ignores_closes_before_its_date() -> None:
    doc = coin(weekly([1.0, 900.0, 2.0, 5.0]))
    later = Listing(LISTED + timedelta(weeks=2), 2.0, 10080, may_be_truncated=False)

    told = answer(prepare(doc), 1000.0, NOW, listing=later)

    assert told.coins_bought == 500.0 and told.listing == later
    assert told.hindsight.peak_close_usd == 8.0 and told.hindsight.first_lambo_s is None


def test_cagr_of_an_overflowing_growth_is_infinite_not_an_error() -> None:
    assert cagr(1e300, 0.1) == math.inf
    assert cagr(2.0, 29 / 365.25) is None
