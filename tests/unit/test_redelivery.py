"""The embedded queue's retry policy: doubling backoff to a cap, and dead-lettering by attempts and time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.redelivery import Redelivery

FIFTEEN_MINUTES_S = 15 * 60


def outage_survived_s(policy: Redelivery) -> float:
    """The longest exchange outage a refresh outlives: when its last delivery is nacked, handling taking no time."""
    now_s, attempt = 0.0, 1
    while not policy.exhausted(attempt, now_s):
        now_s += policy.backoff_s(attempt)
        attempt += 1
    return now_s


def test_the_backoff_doubles_from_the_minimum_and_holds_at_the_cap() -> None:
    policy = Redelivery(backoff_min_s=10, backoff_max_s=600)

    assert [policy.backoff_s(attempt) for attempt in range(1, 10)] == [10, 20, 40, 80, 160, 320, 600, 600, 600]


def test_a_message_is_exhausted_only_with_both_its_attempts_and_its_time_used() -> None:
    policy = Redelivery(budget_s=1200, max_attempts=5)

    assert not policy.exhausted(4, 5000)
    assert not policy.exhausted(50, 1199)
    assert policy.exhausted(5, 1200)


def test_the_default_policy_outlives_a_fifteen_minute_outage_and_gives_up_within_the_hour() -> None:
    survived_s = outage_survived_s(Redelivery())

    assert survived_s >= FIFTEEN_MINUTES_S + 5 * 60  # with margin
    assert survived_s <= 3600


@settings(deadline=None)
@given(
    backoff_min_s=st.floats(1, 60),  # at least a second: the walk below stays short
    growth=st.floats(1, 100),
    budget_s=st.floats(0, 3600),
    max_attempts=st.integers(1, 20),
)
def test_no_message_is_dead_lettered_before_its_budget_nor_before_its_attempts(
    backoff_min_s: float, growth: float, budget_s: float, max_attempts: int
) -> None:
    policy = Redelivery(backoff_min_s, backoff_min_s * growth, budget_s, max_attempts)
    now_s, attempt = 0.0, 1
    while not policy.exhausted(attempt, now_s):
        now_s += policy.backoff_s(attempt)
        attempt += 1
    assert now_s >= budget_s and attempt >= max_attempts


@pytest.mark.parametrize(
    "arguments",
    [{"backoff_min_s": 5, "backoff_max_s": 1}, {"backoff_min_s": -1}, {"budget_s": -1}, {"max_attempts": 0}],
)
def test_an_impossible_policy_is_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Redelivery(**arguments)  # type: ignore[arg-type]
