"""Query-side measurements: servers started as real processes, then throughput, latency, start-up and memory."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench import baseline_server, load
from bench.processes import Processes, delos_env, is_serving, port_from_log, reserved_port, rss_mib, wait_serving
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc

START_TIMEOUT_S = 60.0
# Wait this long after SERVING before reading memory: the change feed's first poll rereads every document.
SETTLE_S = 3.0
# The line `delos serve` logs once bound (query_service/server.py), text or JSON logs alike.
LISTENING = re.compile(r"query service listening on [^\s\"]+:(\d+)")


@dataclass
class Server:
    """A running server process and where it listens."""

    name: str
    process: subprocess.Popen[bytes]
    target: str
    reservation: socket.socket | None = None  # holds a port given to several processes until they stop

    @property
    def rss_mib(self) -> float:
        return rss_mib(self.process.pid)

    def stop(self, procs: Processes) -> None:
        """Stop the process, then free the port it was given."""
        procs.stop(self.process)
        if self.reservation is not None:
            self.reservation.close()


@dataclass(frozen=True)
class ColdStart:
    seconds: float
    rss_at_serving_mib: float
    rss_settled_mib: float


def start_delos(
    procs: Processes, name: str, env_extra: dict[str, str], data_dir: Path, timeout_s: float = START_TIMEOUT_S
) -> tuple[Server, float]:
    """`python -m cli serve`; returns it once SERVING, with the seconds from spawn to SERVING.

    One process binds port 0 and its log says the port it got. Several share a port they
    must be told: it is held by a reserved socket until the server stops (Server.reservation).
    """
    several = int(env_extra.get("DELOS_QUERY_PROCESSES", "1")) > 1
    reservation = reserved_port() if several else None
    port = reservation.getsockname()[1] if reservation is not None else 0
    started = time.perf_counter()
    process = procs.python(name, ["cli", "serve"], delos_env(data_dir, port, **env_extra))
    try:
        if reservation is None:
            port = port_from_log(procs, name, LISTENING, timeout_s, lambda: process.poll() is None)
        target = f"127.0.0.1:{port}"
        wait_serving(target, timeout_s, lambda: process.poll() is None)
    except RuntimeError as exc:
        if reservation is not None:
            reservation.close()
        raise RuntimeError(f"{exc}\n{procs.log(name)}") from None
    return Server(name, process, target, reservation), time.perf_counter() - started


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
        server.stop(procs)


def ask_once(target: str, request: pb.AskLamboRequest) -> pb.AskLamboResponse:
    with grpc.insecure_channel(target) as channel:
        answer: pb.AskLamboResponse = pb_grpc.LamboServiceStub(channel).AskLambo(request, timeout=10)
        return answer


def start_baseline(procs: Processes, response: pb.AskLamboResponse, work_dir: Path) -> Server:
    """The bare server, answering with `response`; returned once it answers."""
    response_file = work_dir / "baseline-response.bin"
    response_file.write_bytes(response.SerializeToString())
    process = procs.python("baseline", ["bench.baseline_server", "0", str(response_file)], delos_env(work_dir, 0))
    alive = lambda: process.poll() is None  # noqa: E731
    target = f"127.0.0.1:{port_from_log(procs, 'baseline', baseline_server.LISTENING, START_TIMEOUT_S, alive)}"
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
