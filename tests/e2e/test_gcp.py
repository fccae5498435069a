"""Delos end to end in gcp mode: real `delos serve` and `delos worker` on the official emulators, against all five
exchanges on loopback and the shipped archive."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.cloud import firestore, pubsub_v1

from backends.pubsub_queue import ensure_topic_and_subscription
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from fake_exchange import Fault
from tests.e2e.exchanges import Exchanges
from tests.e2e.expected import archive_listings, assert_answer, expected_for
from tests.e2e.harness import DelosProcess, answered, delos_env, is_serving, run_cli, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
TOPIC, SUBSCRIPTION = "delos-refresh", "delos-ingest"


@pytest.fixture
def project(pubsub_emulator: str, firestore_emulator: str) -> str:
    """A project of its own: both emulators keep each project's data apart, so tests never see each other's."""
    name = f"delos-e2e-{uuid.uuid4().hex[:8]}"
    ensure_topic_and_subscription(name, TOPIC, SUBSCRIPTION, dead_letter_topic=f"{TOPIC}-dead")
    return name


@pytest.fixture
def env(project: str, pubsub_emulator: str, firestore_emulator: str, exchanges: Exchanges) -> dict[str, str]:
    return delos_env(
        {
            **exchanges.env(),
            "DELOS_BACKEND": "gcp",
            "GOOGLE_CLOUD_PROJECT": project,
            "PUBSUB_EMULATOR_HOST": pubsub_emulator,
            "FIRESTORE_EMULATOR_HOST": firestore_emulator,
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_MAX_RETRIES": "0",
            "PORT": "0",
        }
    )


def publish(project: str, body: dict[str, object]) -> None:
    """Publish as Cloud Scheduler or any Pub/Sub client would: plain JSON bytes."""
    client = pubsub_v1.PublisherClient()
    try:
        client.publish(client.topic_path(project, TOPIC), json.dumps(body).encode()).result(timeout=10)
    finally:
        client.stop()


def listed(target: str) -> set[str]:
    with grpc.insecure_channel(target) as channel:
        reply = pb_grpc.LamboServiceStub(channel).ListCoins(pb.ListCoinsRequest(), timeout=5)
    return {c.symbol for c in reply.coins}


def stored(project: str, symbol: str) -> dict[str, object] | None:
    client = firestore.Client(project=project)
    try:
        return client.collection("coins").document(symbol).get(timeout=10).to_dict()
    finally:
        client.close()  # type: ignore[no-untyped-call]


def settled(target: str, symbol: str, price_exchange: str) -> pb.AskLamboResponse | None:
    """The answer once its listing is final and its month read from `price_exchange`, else None.

    An exchange whose prices failed after giving its first day leaves the listing final but its
    prices pending: the answer meanwhile takes its month from the next exchange in order.
    """
    answer = answered(target, symbol)
    done = answer is not None and answer.listing_complete and answer.price_exchange == price_exchange
    return answer if done else None


@pytest.fixture
def processes(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, DelosProcess, DelosProcess]]:
    """The query service first (nothing cached yet), then the worker; both stopped with SIGTERM."""
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    target = serve.target(60)
    wait_for(lambda: is_serving(target), 60, "the query service to report SERVING on an empty cache")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    yield target, serve, worker
    codes = (serve.stop(signal.SIGTERM), worker.stop(signal.SIGTERM))
    assert codes == (0, 0), f"serve log:\n{serve.logs()}\nworker log:\n{worker.logs()}"


def test_a_published_refresh_is_served_without_restart(
    processes: tuple[str, DelosProcess, DelosProcess], project: str, env: dict[str, str], exchanges: Exchanges
) -> None:
    target, _, _ = processes
    assert answered(target, "BTC") is None
    started = time.monotonic()
    publish(project, {"symbols": ["BTC", "SOL"]})
    answer = wait_for(lambda: answered(target, "BTC"), 60, "BTC to be served", interval_s=0.05)
    print(f"gcp mode: publish -> answer in {time.monotonic() - started:.2f} s")
    now = time.time()
    # From the archive's Bitcoin Market, with Mt. Gox and every live exchange in `listings`.
    assert_answer(answer, expected_for(exchanges.market.by_symbol("BTC"), now, archive=archive_listings("BTC")))
    assert (answer.exchange, answer.listing_source) == ("bitcoinmarket", "archive")
    assert [x.exchange for x in answer.listings][:2] == ["bitcoinmarket", "mtgox"]
    # Listed on five exchanges, earliest on Binance (USDT).
    sol = wait_for(lambda: answered(target, "SOL"), 60, "SOL to be served")
    assert_answer(sol, expected_for(exchanges.market.by_symbol("SOL"), now))
    assert sol.exchange == "binance"

    # The operator's path: `delos publish` in gcp mode goes through Pub/Sub too.
    assert run_cli(["publish", "eth"], env).returncode == 0
    assert wait_for(lambda: answered(target, "ETH"), 60, "ETH to be served").pair == "XETHZUSD"


def test_all_fans_out_to_every_coin_an_exchange_lists(
    processes: tuple[str, DelosProcess, DelosProcess], project: str, exchanges: Exchanges
) -> None:
    target, _, _ = processes
    every = {coin.symbol for coin in exchanges.market}
    publish(project, {"all": True})
    wait_for(lambda: listed(target) == every, 120, f"all {len(every)} coins to be served", interval_s=0.5)


def test_a_failed_first_delivery_is_redelivered_into_exactly_one_correct_document(
    processes: tuple[str, DelosProcess, DelosProcess], project: str, exchanges: Exchanges
) -> None:
    target, _, worker = processes
    kraken = exchanges["kraken"]
    kraken.inject(Fault.HTTP_503, times=1, path="OHLC", pair="XXBTZUSD")
    publish(project, {"symbols": ["BTC"]})
    # Kraken's prices failed once: answered from the others first, from Kraken's after the redelivery.
    expected = expected_for(exchanges.market.by_symbol("BTC"), time.time(), archive=archive_listings("BTC"))
    answer = wait_for(lambda: settled(target, "BTC", expected.price_exchange), 60, "BTC's redelivered refresh")
    assert_answer(answer, expected)
    first = stored(project, "BTC")
    assert first is not None

    # A duplicate message leaves identical state.
    unchanged = worker.logs().count("BTC unchanged since")
    publish(project, {"symbols": ["BTC"]})
    wait_for(lambda: worker.logs().count("BTC unchanged since") > unchanged, 30, "the duplicate to be handled")
    assert stored(project, "BTC") == first
