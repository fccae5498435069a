"""The query service process under load: many concurrent clients, then SIGTERM in the middle of it.

Calls that meet the shutdown get UNAVAILABLE, except those grpc core holds but has not yet handed to
the aio server at the instant `server.stop()` begins: core ends those with CANCELLED (grpc/grpc#41785,
still open in grpcio 1.85), and no handler or interceptor ever sees them. So the SIGTERM scenario counts
them and pins them to that instant: never during normal serving, never during the drain, at most one
per client.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from delos.legacy import api_pb2, api_pb2_grpc
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc
from query_service.server import DRAIN_S
from tests.e2e.harness import DelosProcess, is_serving, wait_for
from tests.faults.helpers import seed_store

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]

SYMBOLS = ("BTC", "ETH", "DOGE", "SOL", "ADA", "XRP")
CLIENTS = 64
CALLS_PER_CLIENT = 25
LOADERS = 16
# How far apart, in client-observed time, the calls that meet the start of server.stop() may begin.
SHUTDOWN_INSTANT_S = 0.25


def one_call(channel: grpc.Channel, rng: random.Random) -> None:
    """A random one of the four RPCs, answered OK or raising."""
    symbol = rng.choice(SYMBOLS)
    kind = rng.randrange(4)
    if kind == 0:
        pb_grpc.LamboServiceStub(channel).AskLambo(
            pb.AskLamboRequest(symbol=symbol, investment_usd=rng.uniform(1, 1e6)), timeout=10
        )
    elif kind == 1:
        pb_grpc.LamboServiceStub(channel).GetCoin(pb.GetCoinRequest(symbol=symbol), timeout=10)
    elif kind == 2:
        pb_grpc.LamboServiceStub(channel).ListCoins(pb.ListCoinsRequest(), timeout=10)
    else:
        api_pb2_grpc.APIStub(channel).processRequest(api_pb2.apiRequest(symbol=symbol, investment=1000), timeout=10)


@pytest.fixture
def serve(embedded_env: dict[str, str], data_dir: Path, tmp_path: Path) -> DelosProcess:
    seed_store(data_dir / "coins.sqlite3", SYMBOLS)
    process = DelosProcess(["serve"], embedded_env, tmp_path / "serve.log")
    try:
        target = process.target()
        wait_for(lambda: is_serving(target), 30, "the query service to report SERVING")
    except BaseException:
        process.stop()
        raise
    return process


def test_64_concurrent_clients_get_no_error(serve: DelosProcess, embedded_env: dict[str, str]) -> None:
    target = serve.target()

    def client(seed: int) -> int:
        rng = random.Random(seed)
        with grpc.insecure_channel(target) as channel:
            for _ in range(CALLS_PER_CLIENT):
                one_call(channel, rng)
        return CALLS_PER_CLIENT

    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            answered = sum(pool.map(client, range(CLIENTS), timeout=60))
    finally:
        code = serve.stop(signal.SIGTERM)
    assert answered == CLIENTS * CALLS_PER_CLIENT  # any RpcError would have been raised by map
    assert code == 0, serve.logs()


@pytest.mark.parametrize("run", range(3))
def test_sigterm_under_load_turns_health_not_serving_first_finishes_calls_and_exits_in_time(
    serve: DelosProcess, embedded_env: dict[str, str], run: int
) -> None:
    target = serve.target()
    health: list[tuple[float, int]] = []
    outcomes: list[tuple[float, grpc.StatusCode]] = []
    stop_load = threading.Event()

    def watch_health() -> None:
        with grpc.insecure_channel(target) as channel:
            stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
            try:
                for reply in stream:
                    health.append((time.monotonic(), reply.status))
            except grpc.RpcError:
                pass  # the stream ends with the server

    def load(seed: int) -> None:
        rng = random.Random(seed)
        with grpc.insecure_channel(target) as channel:
            while not stop_load.is_set():
                began = time.monotonic()
                try:
                    one_call(channel, rng)
                    outcomes.append((began, grpc.StatusCode.OK))
                except grpc.RpcError as exc:
                    outcomes.append((began, exc.code()))
                    time.sleep(0.01)

    watcher = threading.Thread(target=watch_health, daemon=True)
    watcher.start()
    wait_for(lambda: health, 10, "the health stream's first status")
    loaders = [
        threading.Thread(target=load, args=(seed,), daemon=True) for seed in range(run * LOADERS, (run + 1) * LOADERS)
    ]
    for thread in loaders:
        thread.start()
    wait_for(lambda: len(outcomes) > 200, 30, "the load to be running")
    terminated_at = time.monotonic()
    code = serve.stop(signal.SIGTERM, timeout_s=10.0)
    exited_after = time.monotonic() - terminated_at
    time.sleep(0.5)  # calls now meet a closed port
    stop_load.set()
    for thread in (*loaders, watcher):
        thread.join(timeout=15)

    assert code == 0 and exited_after < 10.0, f"exit {code} after {exited_after:.1f} s:\n{serve.logs()}"
    before = Counter(status for began, status in outcomes if began < terminated_at)
    after = Counter(status for began, status in outcomes if began >= terminated_at)
    refused = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}
    assert set(before) | set(after) <= {grpc.StatusCode.OK} | refused, (before, after)  # never INTERNAL, UNKNOWN
    assert after[grpc.StatusCode.UNAVAILABLE] > 0, "new calls were not refused after the process exited"
    assert health[0][1] == health_pb2.HealthCheckResponse.SERVING
    not_serving = [t for t, status in health if status == health_pb2.HealthCheckResponse.NOT_SERVING]
    assert not_serving, f"health never turned NOT_SERVING: {health}"
    first_refused = min(began for began, status in outcomes if began >= terminated_at and status in refused)
    assert terminated_at <= not_serving[0] <= first_refused + 0.05
    assert before[grpc.StatusCode.OK] > 0
    # CANCELLED only for calls in flight at the instant server.stop() began (DRAIN_S after NOT_SERVING):
    # grpc core ends the calls it holds unmatched then with CANCELLED (grpc/grpc#41785); see the README.
    cancelled = [began for began, status in outcomes if status == grpc.StatusCode.CANCELLED]
    first_unavailable = min(began for began, status in outcomes if status == grpc.StatusCode.UNAVAILABLE)
    stop_began = not_serving[0] + DRAIN_S
    assert len(cancelled) <= LOADERS, "at most the one call each client had in flight"
    assert all(
        stop_began - SHUTDOWN_INSTANT_S <= began <= first_unavailable + SHUTDOWN_INSTANT_S for began in cancelled
    ), f"CANCELLED outside the shutdown instant: {sorted(b - not_serving[0] for b in cancelled)} s after NOT_SERVING"
