"""Pytest plugin: the official Pub/Sub and Firestore emulators, started once per session.

Fixtures `pubsub_emulator` and `firestore_emulator` return the emulator's host:port
and, for the rest of the session, set PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST
and GOOGLE_CLOUD_PROJECT so Google clients talk to them. Emulators already running
(DELOS_TEST_PUBSUB_EMULATOR_HOST / DELOS_TEST_FIRESTORE_EMULATOR_HOST, e.g. started
once by CI) are reused; otherwise they are started with gcloud on 127.0.0.1 port 0
(no port picked then released, for another process to take in between) and the port
the emulator's process tree listens on is read from /proc; their whole process group
is stopped at the end. Without gcloud, every test
needing them is skipped with one loud reason, repeated in the terminal summary.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = "delos-test"
PUBSUB_HOST_VAR = "DELOS_TEST_PUBSUB_EMULATOR_HOST"
FIRESTORE_HOST_VAR = "DELOS_TEST_FIRESTORE_EMULATOR_HOST"
GCLOUD_MISSING = (
    "gcloud not found: Pub/Sub and Firestore emulator tests SKIPPED "
    "(install the Google Cloud CLI with the pubsub-emulator and cloud-firestore-emulator components)"
)
READY_TIMEOUT_S = 90.0  # the Firestore emulator is a JVM: several seconds, more on a busy machine
STOP_TIMEOUT_S = 10.0


ANY_PORT = "127.0.0.1:0"
LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp*


def process_tree(pid: int) -> list[int]:
    """`pid` and every descendant (gcloud starts a shell that starts the emulator's JVM)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                queue.extend(int(child) for child in children.read_text().split())
            except OSError:  # the thread or process ended meanwhile
                continue
    return found


def listening_ports(pid: int) -> set[int]:
    """The TCP ports the process tree of `pid` listens on: its sockets' inodes matched in /proc/<pid>/net/tcp*."""
    inodes: set[str] = set()
    tree = process_tree(pid)
    for member in tree:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{member}/fd").iterdir()]
        except OSError:
            continue
        inodes.update(link[len("socket:[") : -1] for link in links if link.startswith("socket:["))
    ports = set()
    for member in tree:
        for table in ("tcp", "tcp6"):
            try:
                rows = Path(f"/proc/{member}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                fields = row.split()
                if fields[3] == LISTEN and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def bound_host(process: subprocess.Popen[bytes], log_path: Path) -> str:
    """The 127.0.0.1:PORT an emulator started on port 0 answers on (it prints 0): found in /proc, bounded."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        for port in sorted(listening_ports(process.pid)):
            host = f"127.0.0.1:{port}"
            if answers_ok(host):
                return host
        time.sleep(0.25)
    tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
    raise RuntimeError(f"emulator not listening after {READY_TIMEOUT_S:.0f} s:\n{tail}")


def answers_ok(host: str) -> bool:
    """Both emulators answer "Ok" (HTTP 200) at their root once ready."""
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=1.0) as answer:  # noqa: S310 (loopback)
            return bool(answer.status == 200)
    except (OSError, http.client.HTTPException):  # not up yet, or another of the JVM's ports (HTTP/2 only)
        return False


def wait_until_ready(host: str, process: subprocess.Popen[bytes] | None, log_path: Path | None) -> None:
    """Poll the emulator's root URL (both answer "Ok") until it does, the process dies, or time runs out."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        if answers_ok(host):
            return
        time.sleep(0.25)
    tail = log_path.read_text(errors="replace")[-2000:] if log_path and log_path.exists() else ""
    raise RuntimeError(f"emulator at {host} not ready after {READY_TIMEOUT_S:.0f} s:\n{tail}")


def start(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start an emulator in its own process group: gcloud forks a JVM that must be stopped with it."""
    with log_path.open("wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the emulator's whole process group, politely first."""
    for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _emulator(
    kind: str, given_var: str, env_var: str, command: list[str], tmp: pytest.TempPathFactory
) -> Iterator[str]:
    host = os.environ.get(given_var)
    process = None
    if host:
        wait_until_ready(host, None, None)
    else:
        if shutil.which("gcloud") is None:
            pytest.skip(GCLOUD_MISSING)
        log_path = tmp.mktemp(kind) / "emulator.log"
        process = start([*command, f"--host-port={ANY_PORT}"], log_path)
        try:
            host = bound_host(process, log_path)
        except BaseException:
            stop(process)
            raise
    patch = pytest.MonkeyPatch()
    patch.setenv(env_var, host)
    patch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    try:
        yield host
    finally:
        patch.undo()
        if process is not None:
            stop(process)


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Pub/Sub emulator's host:port; PUBSUB_EMULATOR_HOST points at it."""
    command = ["gcloud", "beta", "emulators", "pubsub", "start", f"--project={PROJECT}", "--quiet"]
    yield from _emulator("pubsub", PUBSUB_HOST_VAR, "PUBSUB_EMULATOR_HOST", command, tmp_path_factory)


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Firestore emulator's host:port; FIRESTORE_EMULATOR_HOST points at it."""
    command = ["gcloud", "emulators", "firestore", "start", "--quiet"]
    yield from _emulator("firestore", FIRESTORE_HOST_VAR, "FIRESTORE_EMULATOR_HOST", command, tmp_path_factory)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test using an emulator fixture, so `-m "not emulator"` deselects it."""
    for item in items:
        if {"pubsub_emulator", "firestore_emulator"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.emulator)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """Repeat the skip reason once more, last, where nobody can miss it."""
    yield
    skipped = terminalreporter.stats.get("skipped", [])
    if any(GCLOUD_MISSING in str(getattr(report, "longrepr", "")) for report in skipped):
        terminalreporter.write_sep("!", f"WARNING: {GCLOUD_MISSING}", red=True, bold=True)
