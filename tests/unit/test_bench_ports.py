"""The benchmark finds the ports its servers bound on port 0, and holds the one several processes share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from bench.gcp import listening_ports
from bench.processes import reserved_port

LISTENER = """
import socket, sys, time
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
print(sock.getsockname()[1], flush=True)
time.sleep(30)
"""


@pytest.mark.timeout(30)
def test_the_listening_ports_of_a_process_tree_are_read_from_the_kernel() -> None:
    # The listener is a grandchild, as the emulator's JVM is of gcloud.
    command = [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {LISTENER!r}])"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True) as process:
        try:
            assert process.stdout is not None
            port = int(process.stdout.readline())
            assert port in listening_ports(process.pid)
        finally:
            os.killpg(process.pid, signal.SIGTERM)  # its own process group: the listener too
            process.wait(timeout=10)


def test_no_listening_port_is_found_for_a_process_without_one() -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"]) as process:
        try:
            assert listening_ports(process.pid) == []
        finally:
            process.kill()


def test_a_reserved_port_is_shared_by_a_reuseport_listener_and_taken_by_no_one_else() -> None:
    reservation = reserved_port()
    port = reservation.getsockname()[1]
    with reservation, socket.socket() as server, socket.socket() as intruder:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            accepted, _ = server.accept()
            accepted.close()
        with pytest.raises(OSError):
            intruder.bind(("127.0.0.1", port))  # without SO_REUSEPORT: the port is held
