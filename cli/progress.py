"""How `publish --wait` shows progress: rich's bar for a person at a terminal, plain lines for logs and pipes."""

from __future__ import annotations

from typing import Protocol, TextIO

from common.status import WaitProgress


class ProgressView(Protocol):
    """Shows progress as it changes; close() ends the display."""

    def update(self, progress: WaitProgress) -> None: ...

    def close(self) -> None: ...


class PlainLines:
    """One line each time the counts change: for logs and pipes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._last: tuple[int, int] | None = None

    def update(self, progress: WaitProgress) -> None:
        counts = (len(progress.refreshed), len(progress.failed))
        if counts != self._last:
            self._last = counts
            self.out.write(f"{progress.settled}/{progress.total} done: {counts[0]} refreshed, {counts[1]} failed\n")
            self.out.flush()

    def close(self) -> None:
        """Nothing to tear down."""


class ProgressBar:
    """rich's progress bar, on a terminal."""

    def __init__(self, total: int, out: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("refreshing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=Console(file=out),
            transient=False,
        )
        self._task = self._progress.add_task("refresh", total=total, failed=0)
        self._progress.start()

    def update(self, progress: WaitProgress) -> None:
        self._progress.update(self._task, completed=progress.settled, failed=len(progress.failed))

    def close(self) -> None:
        self._progress.stop()


def progress_view(total: int, out: TextIO) -> ProgressView:
    """A bar for a person at a terminal, plain lines for everything else."""
    return ProgressBar(total, out) if out.isatty() else PlainLines(out)
