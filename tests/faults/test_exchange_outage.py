"""One of five exchanges down or answering bad data while real `delos serve` and `delos worker` refresh.

Issue 9's rules at the process level: a listing is final only when every exchange
answered, so an exchange killed (or answering 503s) during a refresh leaves the
listing provisional, answered and marked so, and final after the next refresh
once it is back, with nothing lost; bad data (negative prices, truncated JSON,
empty arrays, Binance's geo-block) never makes a later listing final and never
replaces the previous document; and the other exchanges are never held up.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from delos.v1 import lambo_pb2 as pb
from fake_exchange import Fault, sample_market
from fake_exchange.binance_server import FakeBinance
from fake_exchange.registry import fake_class
from tests.e2e.exchanges import Exchanges, running_exchanges
from tests.e2e.expected import Expected, answered_days, assert_answer, days_of, expected_for
from tests.e2e.harness import DelosProcess, answered, delos_env, run_cli, wait_for
from tests.faults.helpers import stored_rows

pytestmark = [pytest.mark.faults, pytest.mark.timeout(150)]

COIN = "SOL"  # first traded on Binance (USDT), then on Kraken, Bitfinex, Coinbase and Bitstamp
OTHER = "DOGE"  # first traded on Kraken; on Binance too
WITHOUT_BINANCE = ("kraken", "coinbase", "bitstamp", "bitfinex")
WAIT_S = 60.0


@pytest.fixture
def exchanges() -> Iterator[Exchanges]:
    with running_exchanges(sample_market(datetime.now(UTC)), hang_s=5.0) as running:
        yield running


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def env(exchanges: Exchanges, data_dir: Path) -> dict[str, str]:
    """All five exchanges and the archive; short HTTP timeouts, quick redeliveries, no dead-lettering in time."""
    return delos_env(
        {
            **exchanges.env(),
            "DELOS_BACKEND": "embedded",
            "DELOS_DATA_DIR": str(data_dir),
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_HTTP_TIMEOUT": "1",
            "DELOS_MAX_RETRIES": "1",
            "DELOS_BACKOFF_BASE": "0.01",
            "DELOS_BACKOFF_CAP": "0.05",
            "DELOS_RETRY_BACKOFF_MIN": "0.5",
            "DELOS_RETRY_BACKOFF_MAX": "1",
            "DELOS_RETRY_BUDGET": "600",
            "DELOS_POLL_INTERVAL": "0.1",
            "PORT": "0",
        }
    )


@pytest.fixture
def delos(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, DelosProcess]]:
    """The query service and the worker; both must stop cleanly, without a traceback."""
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    yield serve.target(), worker
    codes = (serve.stop(signal.SIGTERM), worker.stop(signal.SIGTERM))
    assert codes == (0, 0), f"serve log:\n{serve.logs()}\nworker log:\n{worker.logs()}"
    assert "Traceback" not in worker.logs(), worker.logs()


def when(target: str, symbol: str, complete: bool) -> Callable[[], pb.AskLamboResponse | None]:
    """A probe: the answer once its listing_complete is `complete`."""

    def probe() -> pb.AskLamboResponse | None:
        answer = answered(target, symbol)
        return answer if answer is not None and answer.listing_complete is complete else None

    return probe


def stored(data_dir: Path, symbol: str) -> dict[str, Any]:
    return stored_rows(data_dir / "coins.sqlite3")[symbol]


def assert_provisional(answer: pb.AskLamboResponse, without: Expected) -> None:
    """Answered from the exchanges that did answer, marked provisional: their earliest day, their listings."""
    assert answer.listing_complete is False
    assert (answer.exchange, answer.listing_date.seconds) == (without.listing.exchange, without.listing_time)
    assert answered_days(answer) == days_of(without.listings)
    assert "binance" not in {x.exchange for x in answer.listings}
    assert answer.price_exchange == without.price_exchange and answer.stale is False


def refreshes(worker: DelosProcess, symbol: str) -> int:
    """How many refreshes of `symbol` the worker has finished (one log line each, whatever the outcome)."""
    return worker.logs().count(f"refresh of {symbol}: ")


def refresh_again(env: dict[str, str], worker: DelosProcess, *args: str) -> None:
    """Publish a refresh of COIN and wait (bounded) until the worker has handled it."""
    before = refreshes(worker, COIN)
    assert run_cli(["publish", *args, COIN], env).returncode == 0
    wait_for(lambda: refreshes(worker, COIN) > before, WAIT_S, f"another refresh of {COIN}")


@pytest.mark.parametrize("outage", ["killed", "http_503"])
def test_an_exchange_down_during_a_refresh_leaves_the_listing_provisional_then_final_with_nothing_lost(
    outage: str, exchanges: Exchanges, env: dict[str, str], delos: tuple[str, DelosProcess], data_dir: Path
) -> None:
    target, worker = delos
    binance = exchanges["binance"]
    port = int(binance.base_url.rsplit(":", 1)[1])
    if outage == "killed":
        # Every klines request hangs until the kill: neither coin's refresh can get Binance's answer before
        # it dies, whichever coin reaches it first and however late the stop comes after the first request.
        binance.inject(Fault.HANG, times=100_000, path="klines")
    else:
        binance.inject(Fault.HTTP_503, times=100_000)
    started = time.monotonic()
    assert run_cli(["publish", COIN, OTHER], env).returncode == 0
    if outage == "killed":
        wait_for(lambda: binance.requests["klines"] >= 1, WAIT_S, "the refresh to reach Binance")
        binance.stop()

    now = time.time()
    sol = wait_for(when(target, COIN, complete=False), WAIT_S, f"{COIN} answered provisionally")
    assert_provisional(sol, expected_for(exchanges.market.by_symbol(COIN), now, WITHOUT_BINANCE))
    # The others are not held up: the coin Kraken lists first is answered too, from every other exchange.
    doge = wait_for(when(target, OTHER, complete=False), WAIT_S, f"{OTHER} answered provisionally")
    assert_provisional(doge, expected_for(exchanges.market.by_symbol(OTHER), now, WITHOUT_BINANCE))
    print(f"\n{outage}: both coins answered provisionally {time.monotonic() - started:.2f} s after the publish")
    assert stored(data_dir, COIN)["pending"] == ["binance"]
    asked = run_cli(["ask", COIN, "--invest", "1000", "--target", target], env)
    assert asked.returncode == 0 and "provisional" in asked.stdout

    # Binance back: the redelivered refresh (the message was nacked while it was pending) completes both.
    if outage == "killed":
        revived = fake_class("binance")(exchanges.market, port=port)
        revived.start()
    else:
        binance.clear_faults()
    try:
        expected = expected_for(exchanges.market.by_symbol(COIN), time.time())
        assert_answer(wait_for(when(target, COIN, complete=True), WAIT_S, f"{COIN} final"), expected)
        assert expected.listing.exchange == "binance"
        other = expected_for(exchanges.market.by_symbol(OTHER), time.time())
        assert_answer(wait_for(when(target, OTHER, complete=True), WAIT_S, f"{OTHER} final"), other)
        assert stored(data_dir, COIN)["pending"] == [] and stored(data_dir, OTHER)["pending"] == []
    finally:
        if outage == "killed":
            revived.stop()


BAD_DATA = {
    "negative prices": Fault.NEGATIVE,
    "truncated JSON": Fault.TRUNCATED_JSON,
    "empty arrays": Fault.EMPTY,
    "geo-block 451": None,
}


def misbehave(binance: FakeBinance, fault: Fault | None) -> None:
    if fault is None:
        binance.geo_blocked = True
    else:
        binance.inject(fault, times=100_000, path="klines")


def behave(binance: FakeBinance) -> None:
    binance.geo_blocked = False
    binance.clear_faults()


@pytest.mark.parametrize("bad", BAD_DATA)
def test_bad_data_from_one_exchange_never_fixes_a_wrong_listing_nor_loses_the_previous_document(
    bad: str, exchanges: Exchanges, env: dict[str, str], delos: tuple[str, DelosProcess], data_dir: Path
) -> None:
    target, worker = delos
    binance = exchanges["binance"]
    assert isinstance(binance, FakeBinance)
    coin = exchanges.market.by_symbol(COIN)

    # First sight with Binance's answers unusable: answered from the others, never final, refresh after refresh.
    misbehave(binance, BAD_DATA[bad])
    refresh_again(env, worker)
    without = expected_for(coin, time.time(), WITHOUT_BINANCE)
    assert_provisional(wait_for(when(target, COIN, complete=False), WAIT_S, f"{COIN} provisional"), without)
    refresh_again(env, worker)
    assert stored(data_dir, COIN)["listing_complete"] is False
    assert_provisional(wait_for(when(target, COIN, complete=False), WAIT_S, f"{COIN} still provisional"), without)

    # Usable again: the next refresh (the scheduler's, published here) finds Binance's earlier listing: final.
    behave(binance)
    refresh_again(env, worker)
    expected = expected_for(coin, time.time())
    assert_answer(wait_for(when(target, COIN, complete=True), WAIT_S, f"{COIN} final"), expected)
    good = stored(data_dir, COIN)

    # Bad again: neither a refresh nor a forced one (which recomputes the listing) replaces the final document.
    misbehave(binance, BAD_DATA[bad])
    refresh_again(env, worker)
    refresh_again(env, worker, "--force")
    kept = stored(data_dir, COIN)
    assert kept["listing_complete"] is True and kept["listings"] == good["listings"]
    assert_answer(wait_for(lambda: answered(target, COIN), WAIT_S, f"{COIN} answered"), expected)
