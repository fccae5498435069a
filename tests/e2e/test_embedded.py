"""Delos end to end on one machine: real `delos serve` and `delos worker` processes, embedded backend."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import grpc
import pytest

from delos.legacy import api_pb2, api_pb2_grpc
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from fake_exchange import FakeKraken
from tests.e2e.expected import expected_for
from tests.e2e.harness import DelosProcess, answered, delos_env, free_port, is_serving, run_cli, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


@pytest.fixture
def env(exchange: FakeKraken, tmp_path: Path) -> dict[str, str]:
    return delos_env(
        {
            "DELOS_BACKEND": "embedded",
            "DELOS_DATA_DIR": str(tmp_path / "data"),
            "DELOS_KRAKEN_URL": exchange.base_url,
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_POLL_INTERVAL": "0.1",
            "PORT": str(free_port()),
        }
    )


def test_publish_refresh_and_ask_both_apis_across_real_processes(
    env: dict[str, str], exchange: FakeKraken, tmp_path: Path
) -> None:
    target = f"127.0.0.1:{env['PORT']}"
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    try:
        wait_for(lambda: is_serving(target), 30, "the query service to report SERVING")
        with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as missing:
            pb_grpc.LamboServiceStub(channel).AskLambo(pb.AskLamboRequest(symbol="BTC", investment_usd=1), timeout=5)
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND

        published_at = time.monotonic()
        publish = run_cli(["publish", "BTC", "doge"], env)
        assert publish.returncode == 0, publish.stderr
        answer = wait_for(lambda: answered(target, "BTC"), 60, "BTC to be answerable")
        wait_for(lambda: answered(target, "DOGE"), 60, "DOGE to be answerable")
        print(f"publish -> answer took {time.monotonic() - published_at:.2f} s")

        expected = expected_for(exchange.market.by_symbol("BTC"), time.time())
        assert answer.pair == "XXBTZUSD" and answer.exchange == "kraken"
        assert answer.listing_date.seconds == expected.listing_time
        assert answer.listing_price_usd == pytest.approx(expected.listing_price, rel=1e-5)
        assert answer.sell_price_usd == pytest.approx(expected.mean_close, rel=1e-5)
        assert answer.as_of.seconds == expected.as_of
        assert answer.coins_bought == pytest.approx(1000 / expected.listing_price, rel=1e-5)
        assert answer.stale is False

        with grpc.insecure_channel(target) as channel:
            legacy = api_pb2_grpc.APIStub(channel).processRequest(
                api_pb2.apiRequest(symbol="btc", investment=1000), timeout=5
            )
        message = json.loads(legacy.message)
        assert message["SYMBOL"] == "BTC"
        assert message["NUMBERCOINS"] == pytest.approx(answer.coins_bought)
        assert message["LAMBOS"] == round(answer.lambos, 2)  # rounded to cents, as the original did
        chart = json.loads(json.loads(legacy.graph_data))  # encoded twice, as the original did
        assert chart["y"][str(len(chart["y"]) - 1)] > 0

        as_json = run_cli(["ask", "DOGE", "--invest", "250", "--json", "--target", target], env)
        assert as_json.returncode == 0, as_json.stderr
        assert json.loads(as_json.stdout)["pair"] == "XDGUSD"
        human = run_cli(["ask", "btc", "--invest", "1000", "--target", target], env)
        assert human.returncode == 0 and "Lamborghini" in human.stdout and "weekly close" in human.stdout
        assert answer.hindsight.story in human.stdout and "P peak" in human.stdout and "L listing" in human.stdout

        bad = run_cli(["ask", "BTC", "--invest", "-1", "--target", target], env)
        assert bad.returncode == 1 and "INVALID_ARGUMENT" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        codes = (serve.stop(signal.SIGTERM), worker.stop(signal.SIGTERM))
    assert codes == (0, 0), f"serve log:\n{serve.logs()}\nworker log:\n{worker.logs()}"


def test_a_message_published_before_the_worker_starts_is_processed_when_it_does(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run_cli(["publish", "ETH"], env).returncode == 0
    target = f"127.0.0.1:{env['PORT']}"
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    try:
        answer = wait_for(lambda: answered(target, "ETH"), 60, "ETH to be answerable")
        assert answer.pair == "XETHZUSD"
    finally:
        serve.stop()
        worker.stop()
