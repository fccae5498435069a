"""A misbehaving exchange: bounded retries, then the coin is marked failed with a readable reason, its previous
document untouched, and the next coin still refreshed. The real handler, Kraken adapter and SQLite store run
in-process against the loopback exchange; one scenario runs the whole worker process."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backends.exchange_http import RetryPolicy, http_client
from backends.kraken import KrakenPriceSource
from backends.sqlite_queue import SQLiteRefreshQueue
from backends.sqlite_store import SQLiteCoinStore
from common import messages
from common.ports import Delivery, Verdict
from fake_exchange import FakeKraken, Fault, sample_market
from ingest_worker.handler import RefreshHandler
from ingest_worker.refresh import refresh_coin
from tests.e2e.harness import DelosProcess, wait_for
from tests.faults.helpers import queue_counts, stored_rows

pytestmark = [pytest.mark.faults, pytest.mark.timeout(60)]

MAX_RETRIES = 2
HTTP_TIMEOUT_S = 0.3
FAILING, HEALTHY = "ETH", "BTC"
FAILING_PAIR = "XETHZUSD"


class Clock:
    """The exchange's "now", movable so that a later refresh has a newer day to report."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) - timedelta(days=2)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeKraken]:
    server = FakeKraken(sample_market(datetime.now(UTC)), now=clock, hang_s=2.0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteCoinStore]:
    coins = SQLiteCoinStore(tmp_path / "coins.sqlite3")
    yield coins
    coins.close()


@pytest.fixture
def handler(fake: FakeKraken, store: SQLiteCoinStore) -> Iterator[RefreshHandler]:
    policy = RetryPolicy(request_interval_s=0, max_retries=MAX_RETRIES, backoff_base_s=0.01, backoff_cap_s=0.05)
    source = KrakenPriceSource(http_client(fake.base_url, HTTP_TIMEOUT_S), policy=policy)
    yield RefreshHandler(sources=[source], store=store, coins=(), clock=lambda: datetime.now(UTC))
    source.close()


def deliver(handler: RefreshHandler, *symbols: str) -> Verdict:
    body = messages.encode(messages.RefreshRequest(symbols=symbols))
    return handler(Delivery(message_id="m", body=body))


# What the coin's failure record says when Kraken, its only exchange, gave no usable answer.
NO_ANSWER = "ExchangeUnavailable: no usable answer yet; kraken: "
# fault -> (transient: retried then nacked; reason the operator reads)
TRANSIENT_FAULTS = {
    Fault.RATE_LIMIT: NO_ANSWER + "RateLimited: Kraken OHLC XETHZUSD: EAPI:Rate limit exceeded",
    Fault.HTTP_429: NO_ANSWER + "RateLimited: Kraken OHLC XETHZUSD: HTTP 429",
    Fault.HTTP_500: NO_ANSWER + "ExchangeUnavailable: Kraken OHLC XETHZUSD: HTTP 500",
    Fault.HTTP_503: NO_ANSWER + "ExchangeUnavailable: Kraken OHLC XETHZUSD: HTTP 503",
    Fault.HANG: NO_ANSWER + "ExchangeUnavailable: kraken OHLC XETHZUSD: no answer in time",
    Fault.TRUNCATED_JSON: NO_ANSWER + "ExchangeUnavailable: kraken OHLC XETHZUSD: HTTP 200: answer is not JSON",
    Fault.HTML: NO_ANSWER + "ExchangeUnavailable: kraken OHLC XETHZUSD: HTTP 200: answer is not JSON",
}
# The document cannot be built from Kraken's bad candles: the reason says so and names Kraken's.
NO_PRICES = "BadPriceData: no live exchange has a complete daily candle; kraken: "
NO_PAIR = "UnknownSymbol: no enabled exchange has a pair for this symbol"
# fault -> (permanent: never retried; reason the operator reads)
PERMANENT_FAULTS = {
    Fault.NON_NUMERIC: NO_PRICES + "Kraken OHLC row [",
    Fault.NEGATIVE: NO_PRICES + "close -",
    Fault.EMPTY: NO_PRICES + "Kraken OHLC XETHZUSD: no candle with trades",
    Fault.VANISHED: NO_PAIR,
}
# Requests a permanent fault costs: the daily candles since the stored month, then (none of them being usable)
# the whole daily history once, as for a coin quiet for a month; an unknown pair ends it at the first.
PERMANENT_REQUESTS = {Fault.NON_NUMERIC: 2, Fault.NEGATIVE: 2, Fault.EMPTY: 2, Fault.VANISHED: 1}


def seed_then_advance(handler: RefreshHandler, store: SQLiteCoinStore, clock: Clock) -> dict[str, object]:
    """A good document of the failing coin from two days ago; the exchange then moves on to today."""
    assert deliver(handler, FAILING) is Verdict.ACK
    seeded = stored_rows(store.path)[FAILING]
    clock.now = datetime.now(UTC)
    return seeded


@pytest.mark.parametrize("fault", [*TRANSIENT_FAULTS, *PERMANENT_FAULTS], ids=lambda f: f.name)
def test_a_failing_coin_is_retried_within_bounds_then_marked_failed_and_the_next_coin_refreshed(
    fault: Fault, handler: RefreshHandler, store: SQLiteCoinStore, fake: FakeKraken, clock: Clock
) -> None:
    seeded = seed_then_advance(handler, store, clock)
    transient = fault in TRANSIENT_FAULTS
    fake.inject(fault, times=100, path="OHLC", pair=FAILING_PAIR)
    requests_before = fake.requests["OHLC"]

    started = time.monotonic()
    verdict = deliver(handler, FAILING, HEALTHY)
    elapsed = time.monotonic() - started

    assert verdict is (Verdict.NACK if transient else Verdict.ACK)  # transient: the message comes back later
    stored = stored_rows(store.path)
    assert stored[FAILING] == seeded  # the previous good document, byte for byte
    assert HEALTHY in stored and stored[HEALTHY]["as_of"] > seeded["as_of"]  # the worker kept going
    failure = store.failure(FAILING)
    assert failure is not None
    reason, _ = failure
    expected = TRANSIENT_FAULTS.get(fault) or PERMANENT_FAULTS[fault]
    assert reason.startswith(expected), reason
    assert "Traceback" not in reason and len(reason) <= 500
    # Bounded: 1 + MAX_RETRIES attempts of the failing request when transient, no retry when permanent,
    # plus the healthy coin's two (weekly and daily).
    attempts = fake.requests["OHLC"] - requests_before - 2
    assert attempts == (1 + MAX_RETRIES if transient else PERMANENT_REQUESTS[fault])
    assert elapsed < (1 + MAX_RETRIES) * HTTP_TIMEOUT_S + 3.0
    assert store.failure(HEALTHY) is None


def test_a_pair_delisted_from_the_exchange_marks_the_coin_failed_without_retrying(
    handler: RefreshHandler, store: SQLiteCoinStore, fake: FakeKraken, clock: Clock
) -> None:
    seeded = seed_then_advance(handler, store, clock)
    fake.market.remove(FAILING_PAIR)
    policy = RetryPolicy(request_interval_s=0, max_retries=MAX_RETRIES)
    with KrakenPriceSource(http_client(fake.base_url, 10.0), policy=policy) as fresh:
        handler.sources = [fresh]  # a new adapter: the pair list it caches is fetched after the delisting
        assert deliver(handler, FAILING, HEALTHY) is Verdict.ACK
    assert stored_rows(store.path)[FAILING] == seeded
    failure = store.failure(FAILING)
    assert failure is not None and failure[0] == NO_PAIR
    assert store.failure(HEALTHY) is None


def test_retry_after_is_honoured_between_attempts(fake: FakeKraken, store: SQLiteCoinStore, clock: Clock) -> None:
    fake.inject(Fault.HTTP_429, times=1, path="OHLC", pair=FAILING_PAIR, retry_after_s=1)
    policy = RetryPolicy(request_interval_s=0, max_retries=1, backoff_base_s=0.01, backoff_cap_s=5)
    with KrakenPriceSource(http_client(fake.base_url, 10.0), policy=policy) as source:
        handler = RefreshHandler(sources=[source], store=store, coins=(), clock=lambda: datetime.now(UTC))
        started = time.monotonic()
        assert deliver(handler, FAILING) is Verdict.ACK
    assert time.monotonic() - started >= 1.0  # waited for the exchange's Retry-After, then succeeded
    assert FAILING in stored_rows(store.path)


@pytest.mark.timeout(90)
def test_the_worker_process_marks_a_failing_coin_and_keeps_handling_the_next_messages(
    embedded_env: dict[str, str], exchange: FakeKraken, data_dir: Path, tmp_path: Path
) -> None:
    # A coin the store knows: only those get a failure record while an exchange is down (an unknown
    # symbol cannot be told from a coin listed only there, and junk must not grow the store).
    data_dir.mkdir(parents=True)
    known = SQLiteCoinStore(data_dir / "coins.sqlite3")
    with KrakenPriceSource(http_client(exchange.base_url, 10.0), policy=RetryPolicy(request_interval_s=0)) as kraken:
        refresh_coin(FAILING, [kraken], known, datetime.now(UTC))
    known.close()
    seeded = stored_rows(data_dir / "coins.sqlite3")[FAILING]
    exchange.inject(Fault.HTTP_503, times=10_000, path="OHLC", pair=FAILING_PAIR)
    queue = SQLiteRefreshQueue(data_dir / "queue.sqlite3")
    for symbol in (FAILING, HEALTHY, "DOGE"):
        queue.publish(messages.encode(messages.RefreshRequest(symbols=(symbol,))))
    queue.close()
    # A retry budget of attempts only (no time): test_retry_budget.py covers the time budget.
    count_only = {"DELOS_RETRY_BACKOFF_MIN": "0.2", "DELOS_RETRY_BACKOFF_MAX": "1", "DELOS_RETRY_BUDGET": "0"}
    worker = DelosProcess(
        ["worker"], {**embedded_env, **count_only, "DELOS_MAX_OUTSTANDING": "1"}, tmp_path / "worker.log"
    )
    try:
        wait_for(lambda: {HEALTHY, "DOGE"} <= set(stored_rows(data_dir / "coins.sqlite3")), 30, "the next coins")
        store = SQLiteCoinStore(data_dir / "coins.sqlite3")
        failure = wait_for(lambda: store.failure(FAILING), 10, "the failure record")
        store.close()
        assert failure[0] == NO_ANSWER + "ExchangeUnavailable: Kraken OHLC XETHZUSD: HTTP 503"
        assert stored_rows(data_dir / "coins.sqlite3")[FAILING] == seeded
        # Nacked with backoff, redelivered, and dead-lettered after the queue's five attempts: never lost silently.
        wait_for(lambda: queue_counts(data_dir / "queue.sqlite3") == (0, 1), 30, "the message to be dead-lettered")
        assert worker.proc.poll() is None
    finally:
        code = worker.stop(signal.SIGTERM)
    assert code == 0, worker.logs()
    logs = worker.logs()
    assert f"refresh of ETH failed: {NO_ANSWER}ExchangeUnavailable: Kraken OHLC XETHZUSD: HTTP 503" in logs
    assert "Traceback" not in logs
