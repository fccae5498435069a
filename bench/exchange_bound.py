"""Target 5: a full refresh is bounded by the exchanges' published rate limits, not by Delos.

The fake exchanges enforce each real exchange's limit and the adapters keep
their published spacing, both sped up by the same factor (Kraken's 1 request/s
alone would make a 200-coin first refresh last ten minutes). One refresh
message of every coin goes through the worker's handler. The floor is, per
exchange, the requests it admitted divided by its allowed (scaled) rate, the
exchanges working in parallel: floor = the largest. The fakes' arrival leeway
(fake_exchange.limits.SLACK_S) is not scaled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.ingest import Clock, InFlight, timed_sources, warm_pair_lists
from common import messages
from common.ports import CoinStore, Delivery, PriceSource, Verdict
from fake_exchange.limits import RateLimit
from fake_exchange.market import FakeMarket
from fake_exchange.registry import FAKES, fake_class
from fake_exchange.server import FakeExchange
from ingest_worker.handler import RefreshHandler

RATIO_MAX = 1.25


@dataclass(frozen=True)
class Bound:
    """One refresh against rate-limited exchanges: its wall time and each exchange's floor."""

    label: str
    coins: int
    wall_s: float
    floors_s: Mapping[str, float]
    admitted: Mapping[str, int]
    refused: int
    verdict: Verdict

    @property
    def floor_s(self) -> float:
        return max(self.floors_s.values())

    @property
    def ratio(self) -> float:
        return self.wall_s / self.floor_s if self.floor_s > 0 else float("inf")


@contextlib.contextmanager
def limited_exchanges(market: FakeMarket, speedup: float, clock: Clock) -> Iterator[dict[str, FakeExchange]]:
    """Every fake exchange enforcing its published limit, `speedup` times faster."""
    with contextlib.ExitStack() as stack:
        fakes = {}
        for exchange in FAKES:
            cls = fake_class(exchange)
            limit = RateLimit(cls.published_limit.requests, cls.published_limit.per_s / speedup)
            fake = cls(market, now=clock, enforce_rate_limit=True, rate_limit=limit)
            fake.start()
            stack.callback(fake.stop)
            fakes[exchange] = fake
        yield fakes


def spaced_sources(fakes: Mapping[str, FakeExchange], speedup: float) -> list[PriceSource]:
    """The adapters bootstrap builds, each keeping its published spacing divided by `speedup`."""
    sources = timed_sources(fakes, InFlight(), throttled=True)
    for source in sources:
        http = source._http  # type: ignore[attr-defined]  # noqa: SLF001 - the benchmark's look inside
        policy = http._policy  # noqa: SLF001
        http._policy = dataclasses.replace(policy, request_interval_s=policy.request_interval_s / speedup)  # noqa: SLF001
    return sources


def refresh_all(
    label: str,
    symbols: Sequence[str],
    fakes: Mapping[str, FakeExchange],
    sources: Sequence[PriceSource],
    store: CoinStore,
    now: datetime,
) -> Bound:
    """One message of every symbol through the handler; the wall time against each exchange's floor."""
    before = {name: (sum(fake.requests.values()), _refused(fake)) for name, fake in fakes.items()}
    handler = RefreshHandler(sources=sources, store=store, coins=(), clock=lambda: now)
    body = messages.encode(messages.RefreshRequest(symbols=tuple(symbols)))
    started = time.perf_counter()
    verdict = handler(Delivery(message_id=label, body=body))
    wall = time.perf_counter() - started
    admitted, floors, refused = {}, {}, 0
    for name, fake in fakes.items():
        asked = sum(fake.requests.values()) - before[name][0]
        refused_here = _refused(fake) - before[name][1]
        refused += refused_here
        admitted[name] = asked - refused_here
        limit = fake.window.limit if fake.window is not None else fake.published_limit
        floors[name] = admitted[name] / (limit.requests / limit.per_s)
    return Bound(label, len(symbols), wall, floors, admitted, refused, verdict)


def _refused(fake: FakeExchange) -> int:
    return fake.window.refused if fake.window is not None else 0


def run(market: FakeMarket, symbols: Sequence[str], store: CoinStore, now: datetime, speedup: float) -> list[Bound]:
    """A first refresh of `symbols` (no documents yet) a day ago, then today's daily one, on rate-limited exchanges."""
    clock = Clock(now - timedelta(days=1))
    # Refusals are counted and reported; their retry warnings (one line each) would bury the figures.
    quiet = logging.getLogger("backends.exchange_http")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        return _run(market, symbols, store, now, speedup, clock)
    finally:
        quiet.setLevel(level)


def _run(
    market: FakeMarket, symbols: Sequence[str], store: CoinStore, now: datetime, speedup: float, clock: Clock
) -> list[Bound]:
    with limited_exchanges(market, speedup, clock) as fakes:
        sources = spaced_sources(fakes, speedup)
        try:
            warm_pair_lists(sources)  # read hourly in production, not per refresh
            time.sleep(max(fake.window.limit.interval_s for fake in fakes.values() if fake.window is not None))
            first = refresh_all("first refresh", symbols, fakes, sources, store, clock.at)
            clock.at = now
            daily = refresh_all("daily refresh", symbols, fakes, sources, store, now)
        finally:
            for source in sources:
                source.close()
    return [first, daily]


def report(bound: Bound, speedup: float) -> None:
    """Floor, measured and ratio, with the exchange that sets the floor."""
    slowest = max(bound.floors_s, key=lambda name: bound.floors_s[name])
    ok = bound.ratio <= RATIO_MAX and bound.verdict is Verdict.ACK
    per_exchange = ", ".join(f"{name} {n}" for name, n in bound.admitted.items())
    print(f"{'PASS' if ok else 'FAIL'} {bound.label} of {bound.coins} coins: floor {bound.floor_s:.1f} s "
          f"({slowest}), measured {bound.wall_s:.1f} s, ratio {bound.ratio:.2f} (target 5: <= {RATIO_MAX}); "
          f"requests {per_exchange}; refused and retried {bound.refused}; message {bound.verdict.name}; "
          f"at the real limits: floor {bound.floor_s * speedup:.0f} s")  # fmt: skip
