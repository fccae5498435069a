"""Delos end to end on one machine: real `delos serve` and `delos worker` processes, embedded backend,
against all five exchanges on loopback and the shipped archive."""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from delos.legacy import api_pb2, api_pb2_grpc
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from tests.e2e.exchanges import Exchanges
from tests.e2e.expected import archive_listings, assert_answer, days_of, expected_for
from tests.e2e.harness import DelosProcess, answered, delos_env, is_serving, run_cli, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


@pytest.fixture
def env(exchanges: Exchanges, tmp_path: Path) -> dict[str, str]:
    return delos_env(
        {
            **exchanges.env(),
            "DELOS_BACKEND": "embedded",
            "DELOS_DATA_DIR": str(tmp_path / "data"),
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_POLL_INTERVAL": "0.1",
            "PORT": "0",
        }
    )


def test_publish_refresh_and_ask_both_apis_across_real_processes(
    env: dict[str, str], exchanges: Exchanges, tmp_path: Path
) -> None:
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    try:
        target = serve.target()
        wait_for(lambda: is_serving(target), 30, "the query service to report SERVING")
        with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as missing:
            pb_grpc.LamboServiceStub(channel).AskLambo(pb.AskLamboRequest(symbol="BTC", investment_usd=1), timeout=5)
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND

        published_at = time.monotonic()
        publish = run_cli(["publish", "BTC", "doge", "SOL"], env)
        assert publish.returncode == 0, publish.stderr
        answer = wait_for(lambda: answered(target, "BTC"), 60, "BTC to be answerable")
        doge = wait_for(lambda: answered(target, "DOGE"), 60, "DOGE to be answerable")
        sol = wait_for(lambda: answered(target, "SOL"), 60, "SOL to be answerable")
        print(f"publish -> answer took {time.monotonic() - published_at:.2f} s")

        # BTC: the archive's Bitcoin Market first, Mt. Gox and every live exchange after it.
        archived = archive_listings("BTC")
        assert days_of(archived) == [
            ("bitcoinmarket", datetime(2010, 4, 25, tzinfo=UTC)),
            ("mtgox", datetime(2010, 7, 17, tzinfo=UTC)),
        ]
        now = time.time()
        assert_answer(answer, expected_for(exchanges.market.by_symbol("BTC"), now, archive=archived))
        assert answer.pair == "bitcoinmarket:BTC-USD"
        # SOL and DOGE are listed on several exchanges: the earliest day among them wins (Binance, Kraken here).
        assert_answer(sol, expected_for(exchanges.market.by_symbol("SOL"), now))
        assert (sol.exchange, sol.listing_quote) == ("binance", "USDT")
        assert_answer(doge, expected_for(exchanges.market.by_symbol("DOGE"), now))

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
        assert human.returncode == 0 and "Lamborghini" in human.stdout and "close, log scale" in human.stdout
        assert "from the archive shipped with Delos" in human.stdout and "mtgox" in human.stdout
        assert answer.hindsight.story in human.stdout and "P peak" in human.stdout and "L listing" in human.stdout

        bad = run_cli(["ask", "BTC", "--invest", "-1", "--target", target], env)
        assert bad.returncode == 1 and "INVALID_ARGUMENT" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        codes = (serve.stop(signal.SIGTERM), worker.stop(signal.SIGTERM))
    assert codes == (0, 0), f"serve log:\n{serve.logs()}\nworker log:\n{worker.logs()}"


def test_without_the_archive_btc_is_listed_from_bitstamps_first_day(
    env: dict[str, str], exchanges: Exchanges, tmp_path: Path
) -> None:
    env = {**env, "DELOS_ARCHIVE_DIR": ""}
    assert run_cli(["publish", "BTC"], env).returncode == 0
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    try:
        target = serve.target()
        answer = wait_for(lambda: answered(target, "BTC"), 60, "BTC to be answerable")
        expected = expected_for(exchanges.market.by_symbol("BTC"), time.time())
        assert (expected.listing.exchange, expected.listing.listing_date) == (
            "bitstamp",
            datetime(2011, 9, 13, tzinfo=UTC),
        )
        assert_answer(answer, expected)
        assert answer.listing_source == "api" and answer.pair == "btcusd"
    finally:
        codes = (serve.stop(), worker.stop())
    assert codes == (0, 0), f"serve log:\n{serve.logs()}\nworker log:\n{worker.logs()}"


def test_a_message_published_before_the_worker_starts_is_processed_when_it_does(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run_cli(["publish", "ETH"], env).returncode == 0
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    try:
        target = serve.target()
        answer = wait_for(lambda: answered(target, "ETH"), 60, "ETH to be answerable")
        assert answer.pair == "XETHZUSD"
    finally:
        serve.stop()
        worker.stop()
