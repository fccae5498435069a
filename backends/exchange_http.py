"""What every exchange adapter shares: one throttle per exchange, retries with backoff, one HTTP translation.

Each adapter owns an `ExchangeHttp` built around the `httpx.Client` that
bootstrap gives it, and passes a `decode` function that turns one answer
(status, headers, body) into JSON or the exchange's own domain error: that
function is the one place per adapter where the exchange's errors are read.
Transient failures (ExchangeUnavailable, RateLimited included) are retried with
capped, fully jittered exponential backoff, never sooner than a `Retry-After`.
Each exchange has its own throttle, so one exchange's limit never slows another.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from common.errors import ExchangeUnavailable, RateLimited

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer as an adapter's decoder sees it."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    source: str = ""  # "<exchange> <what>": named in errors, so that an operator knows whose answer was bad

    def json(self) -> Any:
        """The body as JSON; ExchangeUnavailable when it is not (cut off, or a proxy's HTML page)."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            prefix = f"{self.source}: " if self.source else ""
            raise ExchangeUnavailable(f"{prefix}HTTP {self.status}: answer is not JSON") from exc

    @property
    def retry_after_s(self) -> float | None:
        """Retry-After as seconds; the HTTP-date form is ignored (backoff applies instead)."""
        return seconds(self.headers.get("retry-after"))


Decode = Callable[[Answer, str], Any]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one logical request."""

    request_interval_s: float = 1.0  # the exchange's published rate: at most one request per interval
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0


class ExchangeHttp:
    """Throttled, retried GETs against one exchange; safe to share between threads."""

    def __init__(
        self,
        exchange: str,
        client: httpx.Client,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.exchange = exchange
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng
        self._throttle_lock = threading.Lock()
        self._next_slot = -math.inf
        self.requests = 0  # answers received, for benchmarks and tests

    def get(self, path: str, params: Mapping[str, str], what: str, decode: Decode) -> Any:
        """One logical request: throttled, retried while the failure is transient; decoded by `decode`."""
        policy = self._policy
        for attempt in range(policy.max_retries + 1):
            try:
                return decode(self._fetch(path, params, what), what)
            except ExchangeUnavailable as exc:  # RateLimited included; everything else is permanent
                if attempt >= policy.max_retries:
                    raise
                delay = self._backoff(attempt, exc)
                log.warning(
                    "%s %s for %s failed (%s); retry %d of %d in %.2f s",
                    self.exchange, path, what, exc, attempt + 1, policy.max_retries, delay,
                )  # fmt: skip
                self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        """Close the pooled connections of the client this adapter was given."""
        self._client.close()

    def _backoff(self, attempt: int, exc: ExchangeUnavailable) -> float:
        """Full jitter (a random wait up to the exponential bound), never less than the exchange's Retry-After."""
        policy = self._policy
        delay = self._rng() * min(policy.backoff_cap_s, policy.backoff_base_s * 2.0**attempt)
        if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
            delay = max(delay, exc.retry_after_s)
        return min(delay, policy.backoff_cap_s)

    def _wait_turn(self) -> None:
        """Space this exchange's requests at least `request_interval_s` apart, across threads."""
        with self._throttle_lock:
            now = self._monotonic()
            if now < self._next_slot:
                self._sleep(self._next_slot - now)
            self._next_slot = max(now, self._next_slot) + self._policy.request_interval_s

    def _fetch(self, path: str, params: Mapping[str, str], what: str) -> Answer:
        """GET one path; the one place where httpx's errors become domain errors."""
        self._wait_turn()
        try:
            response = self._client.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise ExchangeUnavailable(f"{self.exchange} {what}: no answer in time") from exc
        except httpx.HTTPError as exc:
            raise ExchangeUnavailable(f"{self.exchange} {what}: {type(exc).__name__}") from exc
        self.requests += 1
        return Answer(response.status_code, response.headers, response.content, f"{self.exchange} {what}")


def seconds(header: str | None) -> float | None:
    """A non-negative finite number of seconds from a header value, or None."""
    try:
        value = float(header) if header is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def http_client(base_url: str, timeout_s: float) -> httpx.Client:
    """The client bootstrap gives an exchange adapter; trust_env=False: proxies come from settings, not the env."""
    return httpx.Client(base_url=base_url, timeout=timeout_s, trust_env=False, headers={"User-Agent": "delos-ingest"})
