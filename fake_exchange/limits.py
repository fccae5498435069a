"""Published rate limits the fake exchanges can enforce, so a benchmark meets the real floor.

A sliding window per server (the exchanges limit per IP, and loopback is one
IP): at most `requests` (weight units, for exchanges that weigh requests)
within any `per_s` seconds; the request over it gets the exchange's own
rate-limit answer. Refused requests do not count, and arrivals get `SLACK_S`
of leeway, so a client spacing its requests exactly at the published rate is
never refused for scheduling jitter (a tenth of a second: CI machines are busy).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

SLACK_S = 0.1


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` (weight units) per `per_s` seconds."""

    requests: int
    per_s: float

    @property
    def interval_s(self) -> float:
        """The steady spacing of weight-1 requests that stays within the limit."""
        return self.per_s / self.requests


class Window:
    """The requests admitted in the last `per_s` seconds; thread-safe."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._admitted: collections.deque[tuple[float, int]] = collections.deque()
        self._used = 0
        self._lock = threading.Lock()
        self.refused = 0

    def admit(self, now: float, weight: int = 1) -> bool:
        """True (and counted) if a request of `weight` arriving at monotonic `now` is within the limit."""
        with self._lock:
            horizon = now + SLACK_S - self.limit.per_s
            while self._admitted and self._admitted[0][0] <= horizon:
                self._used -= self._admitted.popleft()[1]
            if self._used + weight > self.limit.requests:
                self.refused += 1
                return False
            self._admitted.append((now, weight))
            self._used += weight
            return True
