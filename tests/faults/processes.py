"""Helpers for scenarios that start Delos on a prepared data directory and watch how it ends."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.harness import DelosProcess

EXIT_TIMEOUT_S = 30.0


@dataclass
class Ending:
    """How a process that was expected to stop on its own stopped."""

    code: int
    seconds: float
    logs: str

    def failure_line(self) -> str:
        """The one line that says what is wrong: no traceback, exactly one `delos ...:` line."""
        assert "Traceback" not in self.logs, self.logs
        lines = [line for line in self.logs.splitlines() if line.startswith("delos ")]
        assert len(lines) == 1, self.logs
        return lines[0]


def run_until_exit(args: list[str], env: Mapping[str, str], log: Path, timeout_s: float = EXIT_TIMEOUT_S) -> Ending:
    """Start `delos <args>` and wait (bounded) for it to exit by itself."""
    started = time.monotonic()
    process = DelosProcess(args, env, log)
    try:
        code = process.proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.stop()
        command = " ".join(args)
        raise AssertionError(f"delos {command} still running after {timeout_s:.0f} s:\n{process.logs()}") from None
    seconds = time.monotonic() - started
    process.stop()  # closes the log
    return Ending(code, seconds, process.logs())


def bound_target(process: DelosProcess, timeout_s: float = EXIT_TIMEOUT_S) -> str:
    """The 127.0.0.1:PORT a process started with PORT=0 reports it listens on."""
    return process.target(timeout_s)


def copy_data_dir(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target
