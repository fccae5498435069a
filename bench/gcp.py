"""The Firestore emulator for the gcp-mode figures: started with gcloud on port 0, or skipped.

gcloud passes `--host-port=127.0.0.1:0` on but reports port 0, so the port the
emulator got is read from the kernel: the TCP sockets listening on 127.0.0.1
that belong to the process tree it started (/proc/<pid>/fd inodes matched in
/proc/net/tcp), the one that answers the emulator's HTTP health page (it listens on a few).
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.processes import Processes

READY_TIMEOUT_S = 90.0  # a JVM: several seconds, more on a busy machine
PROJECT = "delos-bench"
LISTEN = "0A"  # the TCP state of a listening socket in /proc/net/tcp
# 127.0.0.1 and "any" as /proc/net/tcp and tcp6 write them (IPv4-mapped in tcp6).
LOOPBACKS = frozenset({"0100007F", "00000000", "0000000000000000FFFF00000100007F", "0" * 32})


def start_firestore(procs: Processes) -> tuple[str | None, subprocess.Popen[bytes] | None, str]:
    """(host:port, process, "") once the emulator answers; (None, None, why) when it cannot run."""
    if shutil.which("gcloud") is None:
        return None, None, "gcloud not found (install the Google Cloud CLI with cloud-firestore-emulator)"
    command = ["gcloud", "emulators", "firestore", "start", "--host-port=127.0.0.1:0", "--quiet"]
    process = procs.spawn("firestore-emulator", command, os.environ)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        for port in listening_ports(process.pid):
            if _answers(f"127.0.0.1:{port}"):
                return f"127.0.0.1:{port}", process, ""
        time.sleep(0.25)
    procs.stop(process)
    return None, None, f"the Firestore emulator did not start: {procs.log('firestore-emulator')[-300:]}"


def _answers(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=1.0) as answer:  # noqa: S310 - loopback
            return bool(answer.status == 200)
    except (OSError, http.client.HTTPException):  # not up yet, or one of its gRPC-only ports
        return False


def listening_ports(root_pid: int) -> list[int]:
    """Ports on 127.0.0.1 listened on by `root_pid` or any of its descendants, lowest first."""
    inodes: set[str] = set()
    for pid in _tree(root_pid):
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
        except OSError:  # the process ended, or its fds closed meanwhile
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):  # a JVM listens on IPv4-mapped IPv6 sockets
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == LISTEN and fields[9] in inodes and address in LOOPBACKS:
                ports.add(int(port, 16))
    return sorted(ports)


def _tree(root_pid: int) -> list[int]:
    """`root_pid` and its descendants, from each process's parent in /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, frontier = [], [root_pid]
    while frontier:
        pid = frontier.pop()
        tree.append(pid)
        frontier.extend(children.get(pid, ()))
    return tree
