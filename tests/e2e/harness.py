"""Real Delos processes on 127.0.0.1 for end-to-end tests; every wait is bounded."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.exchanges import LIVE_EXCHANGES
from delos.v1 import lambo_pb2 as pb
from delos.v1 import lambo_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
NO_EXCHANGE = "http://127.0.0.1:9"  # the discard port: nothing listens there
# For a test about something other than the exchanges: Kraken alone, no archive, so every listing is final.
KRAKEN_ONLY = {"DELOS_EXCHANGES": "kraken", "DELOS_ARCHIVE_DIR": ""}
# What `delos serve` and `delos run` log once bound: started with PORT=0, the port the system gave them.
LISTENING = re.compile(r"listening on [\d.]+:(\d+)")
LISTEN_TIMEOUT_S = 30.0


def exchange_urls(urls: Mapping[str, str]) -> dict[str, str]:
    """DELOS_<EXCHANGE>_URL for each exchange -> base URL given."""
    return {f"DELOS_{name.upper()}_URL": url for name, url in urls.items()}


def wait_for(probe: Callable[[], T | None], timeout_s: float, what: str, interval_s: float = 0.1) -> T:
    """Poll `probe` until it returns something truthy, or fail saying what never happened."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except Exception as exc:  # the probe's target may not be up yet
            last_error = exc
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last error: {last_error!r})")


def delos_env(base: Mapping[str, str], **overrides: str) -> dict[str, str]:
    """The child environment: the test's settings, nothing inherited from the developer's DELOS_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DELOS_")}
    # Never a real exchange: a child that is not given a fake's URL meets a closed loopback port.
    env.update(exchange_urls(dict.fromkeys(LIVE_EXCHANGES, NO_EXCHANGE)))
    env.update(base)
    env.update(overrides)
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class DelosProcess:
    """`python -m cli <args>` as a child process, logs kept in a file for failure messages."""

    def __init__(self, args: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv of our own CLI
            [sys.executable, "-m", "cli", *args],
            cwd=REPO,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def target(self, timeout_s: float = LISTEN_TIMEOUT_S) -> str:
        """The 127.0.0.1:PORT the process reports it listens on (start it with PORT=0); bounded wait."""

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = LISTENING.search(self.logs())
            if match is not None:
                return f"127.0.0.1:{match.group(1)}"
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode} before listening:\n{self.logs()}")
            time.sleep(0.05)
        raise AssertionError(f"no listening line after {timeout_s:.0f} s:\n{self.logs()}")

    def logs(self) -> str:
        if not self._log.closed:  # still running; after stop() the file is complete
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> int:
        """Signal the process and wait; SIGKILL (and fail loudly in the return code) past the timeout."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
                self._log.close()
                return -999
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def run_cli(args: list[str], env: Mapping[str, str], timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    """A one-shot CLI command (publish, ask), bounded in time."""
    return subprocess.run(  # noqa: S603 - fixed argv of our own CLI
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def is_serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def answered(target: str, symbol: str, investment_usd: float = 1000) -> pb.AskLamboResponse | None:
    """The AskLambo answer, or None while the coin is NOT_FOUND (not cached yet); other errors raise."""
    with grpc.insecure_channel(target) as channel:
        try:
            return pb_grpc.LamboServiceStub(channel).AskLambo(
                pb.AskLamboRequest(symbol=symbol, investment_usd=investment_usd), timeout=5
            )
        except grpc.RpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise
