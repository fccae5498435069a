"""Child processes of the benchmark (servers, emulator): started in their own session, always stopped.

Each child gets its own process group so that stopping it also stops what it
started (`delos serve` with several processes, gcloud's JVM).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

STOP_TIMEOUT_S = 10.0
POLL_S = 0.005
# Fast reconnects: grpc's default backoff (1 s and up) would be measured as start-up time.
FAST_RECONNECT = (
    ("grpc.initial_reconnect_backoff_ms", 5),
    ("grpc.min_reconnect_backoff_ms", 5),
    ("grpc.max_reconnect_backoff_ms", 20),
)


def reserved_port() -> socket.socket:
    """A loopback port held by a bound, never listening, SO_REUSEPORT socket: close it when the server stops.

    For servers that must be told their port (several processes sharing one): they bind it
    beside this socket (SO_REUSEPORT), and since it is held until they stop, nothing else
    can take it in between. Every other server binds port 0 and says which port it got.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def port_from_log(
    procs: Processes, name: str, pattern: re.Pattern[str], timeout_s: float, alive: Callable[[], bool]
) -> int:
    """The port a child wrote in its log (group 1 of `pattern`); RuntimeError if it exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = pattern.search(procs.output_since_spawn(name))
        if found:
            return int(found.group(1))
        if not alive():
            raise RuntimeError(f"{name} exited before saying its port\n{procs.log(name)}")
        time.sleep(POLL_S)
    raise RuntimeError(f"{name} did not say its port within {timeout_s:.0f} s\n{procs.log(name)}")


def rss_mib(pid: int) -> float:
    """Resident set size of a process, in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, all its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), counted after the name
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def is_serving(target: str, timeout_s: float = 0.5) -> bool:
    """One health check on a fresh connection."""
    with grpc.insecure_channel(target, options=FAST_RECONNECT) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def wait_serving(target: str, timeout_s: float, alive: Callable[[], bool]) -> None:
    """Poll health on one channel until SERVING; RuntimeError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    request = health_pb2.HealthCheckRequest()
    with grpc.insecure_channel(target, options=FAST_RECONNECT) as channel:
        check = health_pb2_grpc.HealthStub(channel).Check
        while time.monotonic() < deadline:
            if not alive():
                raise RuntimeError(f"the server for {target} exited before SERVING")
            try:
                if check(request, timeout=0.5).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(POLL_S)
    raise RuntimeError(f"{target} not SERVING after {timeout_s:.0f} s")


class Processes:
    """Every child the benchmark starts; leaving the `with` block stops them all, on errors and Ctrl-C too."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[subprocess.Popen[bytes]] = []
        self.spawned_at: dict[str, int] = {}

    def spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """Start `argv` with its output in `<log_dir>/<name>.log`."""
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.spawned_at[name] = log.tell()
            child = subprocess.Popen(  # nosec B603 - argv is built by the benchmark, never from input
                argv, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.children.append(child)
        return child

    def python(self, name: str, module_args: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """Run `python -m ...` with this interpreter."""
        return self.spawn(name, [sys.executable, "-m", *module_args], env)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def output_since_spawn(self, name: str) -> str:
        """What the latest child of that name wrote (a name's log keeps every run's output)."""
        with (self.log_dir / f"{name}.log").open("rb") as log:
            log.seek(self.spawned_at.get(name, 0))
            return log.read().decode(errors="replace")

    def stop(self, child: subprocess.Popen[bytes]) -> None:
        """SIGTERM the child's process group, SIGKILL if it lingers."""
        for signum in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(child.pid, signum)
            except ProcessLookupError:
                break
            try:
                child.wait(timeout=STOP_TIMEOUT_S)
                break
            except subprocess.TimeoutExpired:
                continue
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in list(reversed(self.children)):
            self.stop(child)

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()


def delos_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a `delos serve` child: embedded by default; INFO logs say the port bound (none per call)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DELOS_") and key not in ("PORT", "FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")
    }
    env.update(
        DELOS_BACKEND="embedded",
        DELOS_DATA_DIR=str(data_dir),
        PORT=str(port),
        DELOS_HOST="127.0.0.1",
        DELOS_LOG_LEVEL="INFO",
        DELOS_LOG_FORMAT="text",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    env.update(extra)
    return env
