"""When the embedded queue redelivers a nacked message, and when it gives up on it.

A refresh fails while the exchange is down, and an outage lasts minutes, not
seconds: a budget counted only in attempts (five deliveries a few seconds apart)
dead-letters a refresh half a minute into an outage. So the queue waits a capped,
doubling backoff between deliveries, and dead-letters only when a message has
been both delivered `max_attempts` times and retried for `budget_s` seconds since
its first delivery. With the defaults (10 s doubling to 600 s, 5 attempts, 20
minutes) deliveries fall at about 0, 10, 30, 70, 150, 310, 630 and 1230 s, so a
refresh survives an exchange outage of at least 15 minutes, plus margin.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BACKOFF_MIN_S = 10.0
DEFAULT_BACKOFF_MAX_S = 600.0  # Pub/Sub's own ceiling for a subscription's retry policy
DEFAULT_BUDGET_S = 20 * 60.0  # a 15-minute outage, plus a third for margin
DEFAULT_MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Redelivery:
    """The retry policy of the embedded queue: the backoff between deliveries and the dead-letter rule."""

    backoff_min_s: float = DEFAULT_BACKOFF_MIN_S
    backoff_max_s: float = DEFAULT_BACKOFF_MAX_S
    budget_s: float = DEFAULT_BUDGET_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if not 0 <= self.backoff_min_s <= self.backoff_max_s:
            raise ValueError(f"backoff must satisfy 0 <= min <= max, got {self.backoff_min_s}, {self.backoff_max_s}")
        if self.budget_s < 0 or self.max_attempts < 1:
            raise ValueError(f"budget must be >= 0 s and attempts >= 1, got {self.budget_s}, {self.max_attempts}")

    def backoff_s(self, delivery_attempt: int) -> float:
        """Seconds a message stays invisible after its `delivery_attempt`-th delivery (1-based) is nacked."""
        exponent = min(max(delivery_attempt - 1, 0), 32)  # 2**32 x any sane minimum is far past the cap
        return min(self.backoff_min_s * 2.0**exponent, self.backoff_max_s)

    def exhausted(self, delivery_attempts: int, retrying_for_s: float) -> bool:
        """True once a failing message has had both its attempts and its time: then it is dead-lettered."""
        return delivery_attempts >= self.max_attempts and retrying_for_s >= self.budget_s
