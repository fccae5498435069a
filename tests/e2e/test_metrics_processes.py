"""DELOS_METRICS on real processes: `log` writes metric entries at shutdown at the latest, `off` writes none."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import grpc
import pytest

from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from fake_exchange import FakeKraken
from tests.e2e.harness import KRAKEN_ONLY, DelosProcess, delos_env, is_serving, run_cli, wait_for

pytestmark = pytest.mark.timeout(120)


def metric_entries(logs: str) -> dict[str, list[dict[str, Any]]]:
    entries = [json.loads(line) for line in logs.splitlines() if line.strip()]
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if "metric" in entry:
            found.setdefault(entry["metric"], []).append(entry)
    return found


@pytest.mark.parametrize("mode", ["log", "off"])
def test_metrics_of_the_worker_and_the_query_service(mode: str, exchange: FakeKraken, tmp_path: Path) -> None:
    env = delos_env(
        {
            **KRAKEN_ONLY,
            "DELOS_BACKEND": "embedded",
            "DELOS_DATA_DIR": str(tmp_path),
            "DELOS_KRAKEN_URL": exchange.base_url,
            "DELOS_REQUEST_INTERVAL": "0",
            "DELOS_POLL_INTERVAL": "0.1",
            "DELOS_METRICS": mode,
            "PORT": "0",
        }
    )
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    worker = DelosProcess(["worker"], env, tmp_path / "worker.log")
    try:
        assert run_cli(["publish", "BTC", "--wait", "--timeout", "60"], env, timeout_s=90).returncode == 0
        target = serve.target()
        wait_for(lambda: is_serving(target), 30, "the query service to report SERVING")
        with grpc.insecure_channel(target) as channel:
            stub = pb_grpc.LamboServiceStub(channel)
            wait_for(lambda: stub.GetCoin(pb.GetCoinRequest(symbol="BTC"), timeout=5), 30, "BTC to be served")
            with pytest.raises(grpc.RpcError):
                stub.GetCoin(pb.GetCoinRequest(symbol="NOPE"), timeout=5)
    finally:
        codes = (serve.stop(signal.SIGTERM), worker.stop(signal.SIGTERM))
    assert codes == (0, 0), serve.logs() + worker.logs()
    served, refreshed = metric_entries(serve.logs()), metric_entries(worker.logs())
    if mode == "off":
        assert served == {} and refreshed == {}
        return
    calls = {
        (e["attributes"]["rpc.method"], e["attributes"]["rpc.grpc.status_code"]): e["value"]
        for e in served["rpc.server.calls"]
    }
    assert calls[("delos.v1.LamboService/GetCoin", "NOT_FOUND")] >= 1  # the unknown coin, and BTC while loading
    assert calls[("delos.v1.LamboService/GetCoin", "OK")] >= 1
    assert served["delos.coins.stale"][-1]["value"] == 0
    (btc,) = [
        e for e in refreshed["delos.refreshes"] if e["attributes"] == {"outcome": "refreshed", "exchange": "kraken"}
    ]
    assert btc["value"] >= 1 and refreshed["delos.refresh.duration"][-1]["count"] >= 1
