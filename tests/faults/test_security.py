"""Security: no secrets in the repository, no amounts in logs, no exception text to clients, bounded requests."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import query_service.servicer as servicer_module
from delos.legacy import api_pb2, api_pb2_grpc
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from fake_exchange import FakeKraken
from query_service.cache import CoinCache
from query_service.guard import GENERIC_MESSAGE
from query_service.server import MAX_REQUEST_BYTES
from tests.e2e.harness import REPO, DelosProcess, is_serving, run_cli, wait_for
from tests.faults.helpers import InProcessServer, fresh_document

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]

# Built from pieces, so that this file does not match itself.
SECRET_PATTERNS = {
    "PEM private key": re.compile("-----BEGIN " + r"[A-Z ]*PRIVATE KEY-----"),
    "Google API key": re.compile("AIza" + r"[0-9A-Za-z_\-]{35}"),
    "service account key": re.compile('"private' + r'_key"\s*:\s*"-'),
    "AWS access key": re.compile("AKIA" + r"[0-9A-Z]{16}"),
    "GitHub token": re.compile("gh" + r"[pousr]_[0-9A-Za-z]{36}"),
    "Slack token": re.compile("xox" + r"[abpr]-[0-9A-Za-z-]{10,}"),
}
AMOUNT = "123456.789"
REQUIRED_LOG_KEYS = {"severity", "message", "time", "logging.googleapis.com/sourceLocation"}


def test_no_tracked_file_holds_a_secret() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=30
    ).stdout.split(b"\0")
    findings = []
    for name in filter(None, tracked):
        path = REPO / name.decode()
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        findings += [f"{name.decode()}: {kind}" for kind, pattern in SECRET_PATTERNS.items() if pattern.search(text)]
    assert len(tracked) > 50 and findings == []


def ask_with_cli(env: dict[str, str], target: str) -> subprocess.CompletedProcess[str] | None:
    asked = run_cli(["ask", "BTC", "--invest", AMOUNT, "--lambo-price", AMOUNT, "--target", target], env)
    return asked if asked.returncode == 0 else None


def test_logs_of_a_worker_and_service_run_never_hold_the_amounts_asked(
    embedded_env: dict[str, str], exchange: FakeKraken, tmp_path: Path
) -> None:
    env = {**embedded_env, "DELOS_LOG_LEVEL": "DEBUG"}
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    target = serve.target()
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    try:
        assert run_cli(["publish", "BTC"], env).returncode == 0
        wait_for(lambda: is_serving(target), 30, "the query service to report SERVING")
        asked = wait_for(lambda: ask_with_cli(env, target), 60, "BTC to be answered", interval_s=0.5)
        assert "Lamborghini" in asked.stdout
        with grpc.insecure_channel(target) as channel:
            api_pb2_grpc.APIStub(channel).processRequest(api_pb2.apiRequest(symbol="BTC", investment=123456), timeout=5)
            with pytest.raises(grpc.RpcError):
                pb_grpc.LamboServiceStub(channel).AskLambo(
                    pb.AskLamboRequest(symbol="BTC", investment_usd=-123456.789), timeout=5
                )
    finally:
        codes = (serve.stop(signal.SIGTERM), worker.stop(signal.SIGTERM))
    logs = serve.logs() + worker.logs()
    assert codes == (0, 0), logs
    # Written to files, not a terminal: every line is one Cloud Logging JSON entry.
    entries = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert entries and all(set(entry) >= REQUIRED_LOG_KEYS for entry in entries), logs
    assert {entry["severity"] for entry in entries} & {"DEBUG", "INFO"}  # the logs were really captured
    assert any(entry.get("rpc") and entry.get("status") == "OK" for entry in entries), "RPCs are logged at DEBUG"
    refreshed = [entry for entry in entries if entry.get("symbol") == "BTC" and entry.get("outcome") == "refreshed"]
    assert refreshed and {"message_id", "delivery_attempt", "exchange", "duration_ms"} <= set(refreshed[0])
    for shown in ("123456", "123,456", "1.23456", "1234567"):
        assert shown not in logs, f"{shown} appears in the logs"


@pytest.fixture(scope="module")
def server() -> Iterator[InProcessServer]:
    cache = CoinCache()
    # Per-exchange listings refuse a zero price, so the document's own listing is broken after the fact,
    # as a store written by a buggy version or edited by hand could hold it.
    zero = fresh_document("ZERO")
    cache.update([fresh_document("BTC"), replace(zero, listing=replace(zero.listing, price_usd=0.0))])
    running = InProcessServer(cache)
    yield running
    running.close()


def status_of(call: object) -> tuple[grpc.StatusCode, str]:
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


def test_a_document_that_breaks_the_arithmetic_gives_internal_without_its_text(server: InProcessServer) -> None:
    with grpc.insecure_channel(server.target) as channel:
        ask = pb.AskLamboRequest(symbol="ZERO", investment_usd=1000)
        legacy = api_pb2.apiRequest(symbol="ZERO", investment=1000)
        for call in (
            lambda: pb_grpc.LamboServiceStub(channel).AskLambo(ask, timeout=5),
            lambda: api_pb2_grpc.APIStub(channel).processRequest(legacy, timeout=5),
        ):
            assert status_of(call) == (grpc.StatusCode.INTERNAL, GENERIC_MESSAGE)
        assert (
            status_of(lambda: pb_grpc.LamboServiceStub(channel).GetCoin(pb.GetCoinRequest(symbol="BTC"), timeout=5))[0]
            is grpc.StatusCode.OK
        )


def test_an_unexpected_error_in_a_dependency_gives_internal_without_its_text(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> bool:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(servicer_module, "is_stale", broken)
    monkeypatch.setattr(servicer_module, "answer", broken)
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.LamboServiceStub(channel)
        for call in (
            lambda: stub.ListCoins(pb.ListCoinsRequest(), timeout=5),
            lambda: stub.GetCoin(pb.GetCoinRequest(symbol="BTC"), timeout=5),
            lambda: stub.AskLambo(pb.AskLamboRequest(symbol="BTC", investment_usd=10), timeout=5),
        ):
            code, details = status_of(call)
            assert code is grpc.StatusCode.INTERNAL and details == GENERIC_MESSAGE
            assert "secret" not in details and "RuntimeError" not in details


def test_a_request_over_the_size_limit_is_refused_and_the_server_keeps_serving(server: InProcessServer) -> None:
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.LamboServiceStub(channel)
        huge = pb.AskLamboRequest(symbol="B" * (MAX_REQUEST_BYTES + 1024), investment_usd=1)
        code, _ = status_of(lambda: stub.AskLambo(huge, timeout=10))
        assert code is grpc.StatusCode.RESOURCE_EXHAUSTED
        answer = stub.AskLambo(pb.AskLamboRequest(symbol="BTC", investment_usd=1000), timeout=5)
        assert answer.symbol == "BTC"


def test_client_deadlines_are_respected(server: InProcessServer) -> None:
    with grpc.insecure_channel(server.target) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=0.5)
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as ended:
            for _ in watch:
                pass  # the stream has no end of its own: only the deadline stops it
        assert ended.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        assert 0.4 <= time.monotonic() - started < 3.0
        stub = pb_grpc.LamboServiceStub(channel)  # and the server still answers
        assert stub.AskLambo(pb.AskLamboRequest(symbol="BTC", investment_usd=1), timeout=5).symbol == "BTC"


def test_bandit_finds_nothing_in_the_product_code() -> None:
    bandit = Path(sys.executable).with_name("bandit")
    sources = ["common", "backends", "ingest_worker", "query_service", "cli", "fake_exchange", "bootstrap.py"]
    result = subprocess.run(
        [str(bandit), "-q", "-r", *sources], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
