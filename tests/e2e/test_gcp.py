"""Delos end to end in gcp mode: real `delos serve` and `delos worker` on the official emulators."""

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
from fake_exchange import FakeKraken, Fault
from tests.e2e.expected import expected_for
from tests.e2e.harness import DelosProcess, answered, delos_env, free_port, is_serving, run_cli, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
TOPIC, SUBSCRIPTION = "delos-refresh", "delos-ingest"


@pytest.fixture
def project(pubsub_emulator: str, firestore_emulator: str) -> str:
    """A project of its own: both emulators keep each project's data apart, so tests never see each other's."""
    name = f"delos-e2e-{uuid.uuid4().hex[:8]}"
    ensure_topic_and_subscription(name, TOPIC, SUBSCRIPTION, dead_letter_topic=f"{TOPIC}-dead")
    return name


@pytest.fixture
def env(project: str, pubsub_emulator: str, firestore_emulator: str, exchange: FakeKraken) -> dict[str, str]:
    return delos_env(
        {
            "DELOS_BACKEND": "gcp",
            "GOOGLE_CLOUD_PROJECT": project,
            "PUBSUB_EMULATOR_HOST": pubsub_emulator,
            "FIRESTORE_EMULATOR_HOST": firestore_emulator,
            "DELOS_KRAKEN_URL": exchange.base_url,
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_MAX_RETRIES": "0",
            "PORT": str(free_port()),
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


@pytest.fixture
def processes(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, DelosProcess, DelosProcess]]:
    """The query service first (nothing cached yet), then the worker; both stopped with SIGTERM."""
    target = f"127.0.0.1:{env['PORT']}"
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    wait_for(lambda: is_serving(target), 60, "the query service to report SERVING on an empty cache")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    yield target, serve, worker
    codes = (serve.stop(signal.SIGTERM), worker.stop(signal.SIGTERM))
    assert codes == (0, 0), f"serve log:\n{serve.logs()}\nworker log:\n{worker.logs()}"


def test_a_published_refresh_is_served_without_restart(
    processes: tuple[str, DelosProcess, DelosProcess], project: str, env: dict[str, str], exchange: FakeKraken
) -> None:
    target, _, _ = processes
    assert answered(target, "BTC") is None
    started = time.monotonic()
    publish(project, {"symbols": ["BTC"]})
    answer = wait_for(lambda: answered(target, "BTC"), 60, "BTC to be served", interval_s=0.05)
    print(f"gcp mode: publish -> answer in {time.monotonic() - started:.2f} s")
    expected = expected_for(exchange.market.by_symbol("BTC"), time.time())
    assert answer.pair == "XXBTZUSD"
    assert answer.listing_price_usd == pytest.approx(expected.listing_price, rel=1e-5)
    assert answer.sell_price_usd == pytest.approx(expected.mean_close, rel=1e-5)
    assert answer.as_of.seconds == expected.as_of

    # The operator's path: `delos publish` in gcp mode goes through Pub/Sub too.
    assert run_cli(["publish", "eth"], env).returncode == 0
    assert wait_for(lambda: answered(target, "ETH"), 60, "ETH to be served").pair == "XETHZUSD"


def test_all_fans_out_to_every_usd_pair_the_exchange_lists(
    processes: tuple[str, DelosProcess, DelosProcess], project: str, exchange: FakeKraken
) -> None:
    target, _, _ = processes
    every = {coin.symbol for coin in exchange.market if coin.quote in ("ZUSD", "USD")}
    publish(project, {"all": True})
    wait_for(lambda: listed(target) == every, 120, f"all {len(every)} coins to be served", interval_s=0.5)


def test_a_failed_first_delivery_is_redelivered_into_exactly_one_correct_document(
    processes: tuple[str, DelosProcess, DelosProcess], project: str, exchange: FakeKraken
) -> None:
    target, _, _ = processes
    exchange.inject(Fault.HTTP_503, times=1, path="OHLC", pair="XXBTZUSD")
    publish(project, {"symbols": ["BTC"]})
    answer = wait_for(lambda: answered(target, "BTC"), 60, "BTC to be served after a redelivery")
    expected = expected_for(exchange.market.by_symbol("BTC"), time.time())
    assert answer.listing_price_usd == pytest.approx(expected.listing_price, rel=1e-5)
    first = stored(project, "BTC")
    assert first is not None

    # A duplicate message leaves identical state.
    publish(project, {"symbols": ["BTC"]})
    requests_before = exchange.requests["OHLC"]
    wait_for(lambda: exchange.requests["OHLC"] >= requests_before + 2, 30, "the duplicate to be handled")
    time.sleep(1.0)
    assert stored(project, "BTC") == first
