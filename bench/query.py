"""Query-side measurements: servers started as real processes, then throughput, latency, start-up and memory."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench import load
from bench.processes import Processes, delos_env, free_port, is_serving, rss_mib, wait_serving
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc

START_TIMEOUT_S = 60.0
# Wait this long after SERVING before reading memory: the change feed's first poll rereads every document.
SETTLE_S = 3.0


@dataclass
class Server:
    """A running server process and where it listens."""

    name: str
    process: subprocess.Popen[bytes]
    target: str

    @property
    def rss_mib(self) -> float:
        return rss_mib(self.process.pid)


@dataclass(frozen=True)
class ColdStart:
    seconds: float
    rss_at_serving_mib: float
    rss_settled_mib: float


def start_delos(
    procs: Processes, name: str, env_extra: dict[str, str], data_dir: Path, timeout_s: float = START_TIMEOUT_S
) -> tuple[Server, float]:
    """`python -m cli serve` on a free port; returns it once SERVING, with the seconds from spawn to SERVING."""
    port = free_port()
    started = time.perf_counter()
    process = procs.python(name, ["cli", "serve"], delos_env(data_dir, port, **env_extra))
    target = f"127.0.0.1:{port}"
    try:
        wait_serving(target, timeout_s, lambda: process.poll() is None)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{procs.log(name)}") from None
    return Server(name, process, target), time.perf_counter() - started


def wait_all_serving(target: str, connections: int, timeout_s: float = START_TIMEOUT_S) -> None:
    """With several processes on one port, wait until `connections` fresh connections in a row find SERVING."""
    deadline = time.monotonic() + timeout_s
    in_a_row = 0
    while in_a_row < connections:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every process on {target} is SERVING")
        in_a_row = in_a_row + 1 if is_serving(target) else 0


def cold_start(procs: Processes, data_dir: Path, env_extra: dict[str, str], settle_s: float = SETTLE_S) -> ColdStart:
    """Spawn to SERVING, and memory at SERVING and once the change feed has settled."""
    server, seconds = start_delos(procs, "cold-start", env_extra, data_dir)
    try:
        at_serving = server.rss_mib
        time.sleep(settle_s)
        return ColdStart(seconds, at_serving, server.rss_mib)
    finally:
        procs.stop(server.process)


def ask_once(target: str, request: pb.AskLamboRequest) -> pb.AskLamboResponse:
    with grpc.insecure_channel(target) as channel:
        answer: pb.AskLamboResponse = pb_grpc.LamboServiceStub(channel).AskLambo(request, timeout=10)
        return answer


def start_baseline(procs: Processes, response: pb.AskLamboResponse, work_dir: Path) -> Server:
    """The bare server, answering with `response`; returned once it answers."""
    response_file = work_dir / "baseline-response.bin"
    response_file.write_bytes(response.SerializeToString())
    port = free_port()
    process = procs.python(
        "baseline", ["bench.baseline_server", str(port), str(response_file)], delos_env(work_dir, port)
    )
    target = f"127.0.0.1:{port}"
    request = pb.AskLamboRequest(symbol="X", investment_usd=1)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            ask_once(target, request)
            return Server("baseline", process, target)
        except grpc.RpcError:
            time.sleep(0.05)
    raise RuntimeError(f"the baseline server did not answer\n{procs.log('baseline')}")


Driver = Callable[[str, int, int], load.LoadResult]


def driver(h2load: str | None, request: pb.AskLamboRequest, work_dir: Path) -> Driver:
    """One function that loads a target with (requests, concurrency), by h2load or the Python client."""
    if h2load is None:
        return lambda target, requests, concurrency: load.run_python(target, request, requests, concurrency)
    frame_file = work_dir / "request.grpc"
    frame_file.write_bytes(load.grpc_frame(request))
    return lambda target, requests, concurrency: load.run_h2load(
        h2load, target, frame_file, requests, concurrency, work_dir
    )


def best_of(
    run: Driver, servers: list[Server], requests: int, concurrency: int, rounds: int
) -> dict[str, tuple[load.LoadResult, float]]:
    """Each server's best run of `rounds`, interleaved so that both see the same machine; with RSS after."""
    best: dict[str, tuple[load.LoadResult, float]] = {}
    for round_index in range(rounds):
        order = servers if round_index % 2 == 0 else list(reversed(servers))
        for server in order:
            run(server.target, max(50, requests // 20), concurrency)  # warm-up: connections, caches
            result = run(server.target, requests, concurrency)
            if server.name not in best or result.requests_per_s > best[server.name][0].requests_per_s:
                best[server.name] = (result, server.rss_mib)
    return best
