"""Published rate limits a fake exchange can enforce, so a benchmark meets the real floor.

(Restored after being overwritten by mistake: the original's exact API is unknown;
this keeps what fake_exchange/server.py uses: RateLimit, Window.admit.)
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` requests in any `per_s` seconds."""

    requests: int
    per_s: float


class Window:
    """A sliding window over the last `per_s` seconds; thread-safe."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._times: collections.deque[float] = collections.deque()

    def admit(self, now: float) -> bool:
        """Count a request at `now` (monotonic seconds) if the limit allows it."""
        with self._lock:
            while self._times and self._times[0] <= now - self.limit.per_s:
                self._times.popleft()
            if len(self._times) >= self.limit.requests:
                return False
            self._times.append(now)
            return True
