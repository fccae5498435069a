"""One failing dependency seen from a retry loop: how long to back off, and when to say so.

A store that cannot be written (read-only, disk full) is a state that lasts, not
an event per attempt: the first failure is reported, then at most one line per
`report_every_s` while it lasts, and the recovery once. Pure: times are passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Outage:
    """Capped exponential backoff between attempts, and rate-limited reporting of one ongoing failure."""

    base_s: float = 0.5
    cap_s: float = 15.0
    report_every_s: float = 60.0
    since: float | None = None
    failures: int = 0
    last_error: str = ""
    _reported_at: float = field(default=-math.inf, repr=False)

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: str, now: float) -> tuple[float, bool]:
        """Record a failure at `now` (unix seconds): (seconds to wait before the next attempt, report it now?)."""
        if self.since is None:
            self.since = now
        self.failures += 1
        self.last_error = error
        report = now - self._reported_at >= self.report_every_s
        if report:
            self._reported_at = now
        return min(self.cap_s, self.base_s * 2 ** min(self.failures - 1, 30)), report

    def recovered(self, now: float) -> float | None:
        """Record a success: how long the outage lasted (report it), or None when there was none."""
        if self.since is None:
            return None
        lasted = now - self.since
        self.since, self.failures, self.last_error, self._reported_at = None, 0, "", -math.inf
        return lasted

    def status(self, now: float) -> str:
        """One line for logs and status commands: "ok", or what fails, since when, how often."""
        if self.since is None:
            return "ok"
        return f"failing for {now - self.since:.0f} s ({self.failures} attempts): {self.last_error}"
