"""The worker's health as a small file beside the embedded store, for operators and `delos status`.

The file has a fixed size and is rewritten in place, so it can still say "the store is failing" on a
disk that is full: overwriting blocks a file already owns needs no free space.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATUS_FILE = "worker-status.json"
STATUS_BYTES = 2048
STORE_CHARS = 1500  # leaves room for the rest, escapes included, so the JSON is never cut


class WorkerStatus:
    """Writes {"store": "ok" | "failing for ...", "pid": ..., "updated_at": ...} to `path`, best effort."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, store: str, now: datetime) -> None:
        """Record the store's health as the worker last saw it; never raises (health must not hurt work)."""
        fields = {"store": store[:STORE_CHARS], "pid": os.getpid(), "updated_at": now.isoformat(timespec="seconds")}
        body = json.dumps(fields)
        data = body.encode()[: STATUS_BYTES - 1].ljust(STATUS_BYTES - 1) + b"\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.pwrite(fd, data, 0)
            finally:
                os.close(fd)
        except OSError as exc:
            log.debug("could not write %s: %s", self.path, exc)


def read_status(path: Path) -> dict[str, Any] | None:
    """The last status a worker wrote at `path`, or None when there is none (or it is unreadable)."""
    try:
        parsed = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None
