"""In gcp mode a Firestore that cannot be read at start is not an empty collection: NOT_SERVING, logged, retried.

The "emulator" here is a loopback port nobody listens on, so no gcloud is needed: every read fails the way an
unreachable Firestore does.
"""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.harness import NO_EXCHANGE, DelosProcess, delos_env, wait_for
from tests.faults.processes import bound_target

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]


def health(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        return int(reply.status)


def test_an_unreadable_firestore_at_start_keeps_serve_not_serving_and_says_why(tmp_path: Path) -> None:
    env = delos_env(
        {
            "DELOS_BACKEND": "gcp",
            "GOOGLE_CLOUD_PROJECT": "delos-unreachable",
            "FIRESTORE_EMULATOR_HOST": NO_EXCHANGE.removeprefix("http://"),  # nothing listens there
            "PORT": "0",
        }
    )
    serve = DelosProcess(["serve"], env, tmp_path / "serve.log")
    try:
        target = bound_target(serve)
        wait_for(lambda: "cannot load the cache yet" in serve.logs(), 45, "a log line saying the load failed")
        assert health(target) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert serve.proc.poll() is None
        assert "cache loaded" not in serve.logs()
    finally:
        code = serve.stop(signal.SIGTERM)
    assert code == 0, serve.logs()
    assert "Traceback" not in serve.logs()
