"""The Firestore emulator for the gcp-mode figures: started with gcloud on a free loopback port, or skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request

from bench.processes import Processes, free_port

READY_TIMEOUT_S = 90.0  # a JVM: several seconds, more on a busy machine
PROJECT = "delos-bench"


def start_firestore(procs: Processes) -> tuple[str | None, subprocess.Popen[bytes] | None, str]:
    """(host:port, process, "") once the emulator answers; (None, None, why) when it cannot run."""
    if shutil.which("gcloud") is None:
        return None, None, "gcloud not found (install the Google Cloud CLI with cloud-firestore-emulator)"
    host = f"127.0.0.1:{free_port()}"
    command = ["gcloud", "emulators", "firestore", "start", f"--host-port={host}", "--quiet"]
    process = procs.spawn("firestore-emulator", command, os.environ)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://{host}/", timeout=1.0) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return host, process, ""
        except OSError:
            time.sleep(0.25)
    procs.stop(process)
    return None, None, f"the Firestore emulator did not start: {procs.log('firestore-emulator')[-300:]}"
