"""`delos dead-letters --replay` on the embedded backend with a publish that lingers after it commits.

Run as `python -m tests.e2e.slow_replay DATA_DIR SECONDS`: a test SIGKILLs it mid-way, most likely in
the window between a committed publish and its acknowledgement, the worst place to die.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path

from backends.sqlite_dead_letters import SQLiteDeadLetters
from backends.sqlite_queue import SQLiteRefreshQueue
from cli.dead_letters import dead_letters


class LingeringQueue:
    """The real embedded queue; each publish returns only `linger_s` after it committed."""

    def __init__(self, queue: SQLiteRefreshQueue, linger_s: float) -> None:
        self.queue = queue
        self.linger_s = linger_s

    def publish(self, body: bytes, attributes: Mapping[str, str] | None = None) -> str:
        message_id = self.queue.publish(body, attributes)
        print(f"published {message_id}", flush=True)
        time.sleep(self.linger_s)
        return message_id


def main(data_dir: Path, linger_s: float) -> int:
    queue_path = data_dir / "queue.sqlite3"
    return dead_letters(
        lambda: SQLiteDeadLetters(queue_path),
        list,
        lambda: LingeringQueue(SQLiteRefreshQueue(queue_path), linger_s),
        limit=1000,
        replay=True,
    )


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), float(sys.argv[2])))
