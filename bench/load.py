"""Load generators for AskLambo: h2load (nghttp2) when available, else a grpc.aio client in this process.

Both servers of a comparison are driven by the same generator with the same
request, so a ratio of their figures says something even when the generator's
own cost is in the numbers.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from delos.v1 import lambo_pb2 as pb

METHOD = "/delos.v1.LamboService/AskLambo"
H2LOAD_TIMEOUT_S = 120.0
APT_TIMEOUT_S = 180.0
MAX_CONNECTIONS = 8


@dataclass(frozen=True)
class LoadResult:
    """One bounded run: throughput, latency percentiles (ms) and what came back."""

    generator: str
    concurrency: int
    requests: int
    failed: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    bytes_per_response: float


def grpc_frame(request: pb.AskLamboRequest) -> bytes:
    """The request as gRPC puts it on the wire: 0 (not compressed), 4-byte big-endian length, message."""
    body = request.SerializeToString()
    return b"\x00" + len(body).to_bytes(4, "big") + body


def ensure_h2load() -> tuple[str | None, str]:
    """The h2load binary, installing Debian's nghttp2-client if missing; else (None, why not)."""
    found = shutil.which("h2load")
    if found:
        return found, ""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None, "h2load not installed and apt-get unavailable (or not root)"
    install = ["apt-get", "install", "-y", "-q", "nghttp2-client"]
    for commands in ([install], [["apt-get", "update", "-q"], install]):
        try:
            for command in commands:
                subprocess.run(command, check=True, capture_output=True, timeout=APT_TIMEOUT_S)  # nosec B603
        except (subprocess.SubprocessError, OSError):
            continue
        found = shutil.which("h2load")
        if found:
            return found, ""
    return None, "installing nghttp2-client with apt-get failed"


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def _shape(concurrency: int) -> tuple[int, int]:
    """Connections and streams per connection: up to 8 connections (so SO_REUSEPORT can spread them)."""
    connections = min(concurrency, MAX_CONNECTIONS)
    return connections, max(1, concurrency // connections)


def run_h2load(
    h2load: str, target: str, frame_file: Path, requests: int, concurrency: int, work_dir: Path
) -> LoadResult:
    """One h2load run of `requests` calls; latencies from its per-request log (microseconds)."""
    connections, streams = _shape(concurrency)
    log_file = work_dir / f"h2load-{time.monotonic_ns()}.log"
    command = [
        h2load, f"http://{target}{METHOD}",
        "-n", str(requests), "-c", str(connections), "-m", str(streams), "-t", "1",
        "-d", str(frame_file),
        "-H", "content-type: application/grpc", "-H", "te: trailers",
        "--log-file", str(log_file),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=H2LOAD_TIMEOUT_S, check=False)  # nosec B603
    out = done.stdout
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    counts = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded", out)
    traffic = re.search(r"traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers .*?\((\d+)\) data", out)
    if done.returncode != 0 or rate is None or counts is None:
        raise RuntimeError(f"h2load failed ({done.returncode}): {out[-800:]} {done.stderr[-800:]}")
    succeeded = int(counts.group(3))
    latencies = sorted(int(line.split("\t")[2]) / 1000 for line in log_file.read_text().splitlines() if line)
    log_file.unlink(missing_ok=True)
    data_bytes = int(traffic.group(3)) if traffic else 0
    return LoadResult(
        generator="h2load",
        concurrency=concurrency,
        requests=requests,
        failed=requests - succeeded,
        requests_per_s=float(rate.group(1)),
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        bytes_per_response=data_bytes / max(1, succeeded),
    )


async def _python_load(target: str, request: pb.AskLamboRequest, requests: int, concurrency: int) -> LoadResult:
    connections, _ = _shape(concurrency)
    # Distinct channel options force distinct connections, as h2load's -c does.
    channels = [grpc.aio.insecure_channel(target, options=[("bench.connection", i)]) for i in range(connections)]
    latencies: list[float] = []
    failed = 0
    sizes: list[int] = []
    remaining = requests

    async def worker(index: int) -> None:
        nonlocal remaining, failed
        call = channels[index % connections].unary_unary(
            METHOD, request_serializer=pb.AskLamboRequest.SerializeToString, response_deserializer=None
        )
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            try:
                answer = await call(request, timeout=10)
            except grpc.aio.AioRpcError:
                failed += 1
                continue
            latencies.append((time.perf_counter() - start) * 1000)
            if len(sizes) < 100:
                sizes.append(len(answer))

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        for channel in channels:
            await channel.close(None)
    latencies.sort()
    return LoadResult(
        generator="python",
        concurrency=concurrency,
        requests=requests,
        failed=failed,
        requests_per_s=requests / elapsed,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        bytes_per_response=statistics.fmean(sizes) + 5 if sizes else 0.0,  # + the gRPC frame prefix
    )


def run_python(target: str, request: pb.AskLamboRequest, requests: int, concurrency: int) -> LoadResult:
    """The fallback generator: `concurrency` callers sharing up to 8 connections, in this process."""
    return asyncio.run(_python_load(target, request, requests, concurrency))
