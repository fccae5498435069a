"""The failures a fake exchange can be told to produce, as a one-shot queue shared by its handler threads.

The names are Kraken's where Kraken has one; every fake answers each fault it
supports in its own exchange's words (see each server's `fault_reply`).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass


class Fault(enum.Enum):
    """One misbehaviour of Kraken or of whatever sits between it and us."""

    RATE_LIMIT = "EAPI:Rate limit exceeded"
    TOO_MANY_REQUESTS = "EGeneral:Too many requests"
    LOCKOUT = "EGeneral:Temporary lockout"
    SERVICE_UNAVAILABLE = "EService:Unavailable"
    BUSY = "EService:Busy"
    INTERNAL_ERROR = "EGeneral:Internal error"
    INVALID_ARGUMENTS = "EGeneral:Invalid arguments"
    VANISHED = "EQuery:Unknown asset pair"
    HTTP_429 = "http 429"
    HTTP_500 = "http 500"
    HTTP_503 = "http 503"
    HANG = "hang"
    TRUNCATED_JSON = "truncated json"
    HTML = "html"
    NON_NUMERIC = "non-numeric price"
    NEGATIVE = "negative price"
    EMPTY = "empty history"
    REORDERED = "rows in reverse order"

    @property
    def kraken_error(self) -> str | None:
        """The entry Kraken puts in its `error` list for this fault (with HTTP 200), if it is one."""
        return self.value if self.value[0] == "E" and ":" in self.value else None


# Faults that change candle data rather than the whole answer: they only apply to candle endpoints.
DATA_FAULTS = frozenset({Fault.NON_NUMERIC, Fault.NEGATIVE, Fault.EMPTY, Fault.VANISHED, Fault.REORDERED})


@dataclass(slots=True)
class Injection:
    """A fault to produce `remaining` more times on matching requests."""

    fault: Fault
    remaining: int
    path: str | None
    pair: str | None
    retry_after_s: int


class FaultQueue:
    """Injected faults, consumed first-in first-out by the requests they match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Injection] = []

    def add(self, injection: Injection) -> None:
        with self._lock:
            self._pending.append(injection)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def take(self, path: str, pair_names: tuple[str, ...], *, data: bool) -> Injection | None:
        """The first injection matching this request, with one use consumed; None if none match.

        `data` says whether the request is for candles, the only ones data faults apply to.
        """
        with self._lock:
            for injection in self._pending:
                if injection.path not in (None, path):
                    continue
                if injection.pair is not None and injection.pair not in pair_names:
                    continue
                if injection.fault in DATA_FAULTS and not data:
                    continue
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._pending.remove(injection)
                return injection
            return None
