"""`delos publish ... --wait`: publish a refresh, then follow the store until every coin has an outcome.

A coin is done when the store records its save or its failure at or after the publish (the worker
writes both; see StatusReader.outcomes_since). Only what changed since the last poll is read, so
following a thousand-coin refresh costs about one read per coin. A progress bar on a terminal,
one line per change otherwise; then the failures, and an exit code for scripts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from cli.progress import ProgressView, progress_view
from common.errors import DelosError
from common.ports import StatusReader
from common.settings import Settings
from common.status import RefreshOutcome, WaitProgress, wait_progress

EXIT_REFRESHED = 0
EXIT_FAILED = 1
EXIT_UNREADABLE = 3
EXIT_TIMED_OUT = 4
POLL_S = 1.0
MAX_PENDING_SHOWN = 20


@dataclass
class Follower:
    """Polls the store for outcomes since the publish, keeping each coin's latest."""

    reader: StatusReader
    since: datetime
    latest: dict[str, RefreshOutcome] = field(default_factory=dict)

    def poll(self, symbols: Sequence[str]) -> WaitProgress:
        # Re-read from the newest outcome seen (inclusive, whole seconds): a write in the same
        # second as the previous poll is not missed, and rereading it is harmless.
        cursor = max((outcome.at for outcome in self.latest.values()), default=self.since)
        for outcome in self.reader.outcomes_since(cursor):
            self.latest[outcome.symbol] = outcome
        return wait_progress(symbols, self.latest)


def publish_and_wait(
    publish: Callable[[], str],
    reader: StatusReader,
    symbols: Sequence[str],
    *,
    timeout_s: float,
    view: ProgressView,
    out: TextIO = sys.stdout,
    poll_s: float = POLL_S,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Publish (via `publish`), follow until every symbol has an outcome or `timeout_s` passes, report."""
    # Whole seconds: what the stores keep. A refresh finished earlier in this same second counts as done.
    since = now().replace(microsecond=0)
    try:
        message_id = publish()
    except DelosError as exc:
        print(f"delos publish: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    out.write(f"published {message_id}; waiting for {len(symbols)} coin(s), at most {timeout_s:g} s\n")
    out.flush()
    follower = Follower(reader, since)
    deadline = monotonic() + timeout_s
    try:
        while True:
            progress = follower.poll(symbols)
            view.update(progress)
            if not progress.pending or monotonic() >= deadline:
                break
            sleep(min(poll_s, max(0.0, deadline - monotonic())))
    except DelosError as exc:
        view.close()
        print(f"delos publish: cannot follow the store: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    view.close()
    return report(progress, out)


def report(progress: WaitProgress, out: TextIO) -> int:
    """The summary, the failures table, what never finished; the exit code for all of it."""
    out.write(
        f"{len(progress.refreshed)} refreshed, {len(progress.failed)} failed, "
        f"{len(progress.pending)} not finished, of {progress.total}\n"
    )
    if progress.failed:
        width = max(len("SYMBOL"), *(len(outcome.symbol) for outcome in progress.failed))
        out.write(f"{'SYMBOL'.ljust(width)}  {'FAILED AT'.ljust(17)}  REASON\n")
        for outcome in progress.failed:
            at = outcome.at.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")
            out.write(f"{outcome.symbol.ljust(width)}  {at}  {outcome.reason or '-'}\n")
    if progress.pending:
        shown = sorted(progress.pending)[:MAX_PENDING_SHOWN]
        more = f" and {len(progress.pending) - len(shown)} more" if len(progress.pending) > len(shown) else ""
        out.write(f"timed out waiting for {', '.join(shown)}{more}\n")
        return EXIT_TIMED_OUT
    return EXIT_FAILED if progress.failed else EXIT_REFRESHED


def publish_with_wait(settings: Settings, symbols: Sequence[str], every: bool, force: bool, timeout_s: float) -> int:
    """`delos publish SYMBOL ... --wait` / `--all --wait`: compose the adapters, then publish_and_wait."""
    import bootstrap
    from common import messages
    from common.errors import InvalidRequest
    from common.symbols import normalize_symbol

    if every == bool(symbols):
        print("delos publish: give SYMBOL ... or --all", file=sys.stderr)
        return 2
    try:
        request = messages.RefreshRequest(symbols=tuple(normalize_symbol(s) for s in symbols), all=every, force=force)
        expected = list(request.symbols) if not every else expand_all(settings)
    except InvalidRequest as exc:
        print(f"delos publish: {exc}", file=sys.stderr)
        return 2
    except DelosError as exc:
        print(f"delos publish: cannot list the coins --all covers: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    body = messages.encode(request)

    def publish() -> str:
        return bootstrap.refresh_queue(settings).publish(body, {"origin": "delos-publish"})

    try:
        reader = bootstrap.status_reader(settings)
    except (DelosError, OSError) as exc:
        print(f"delos publish: cannot read the store: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    return publish_and_wait(
        publish, reader, expected, timeout_s=timeout_s, view=progress_view(len(expected), sys.stdout)
    )


def expand_all(settings: Settings) -> list[str]:
    """The coins `{"all": true}` refreshes: DELOS_COINS embedded; in gcp mode the symbols the worker's
    fan-out publishes (ingest_worker.handler.listed_symbols, over the same live exchanges)."""
    if settings.backend != "gcp":
        return list(settings.coins)
    import bootstrap
    from ingest_worker.handler import listed_symbols

    sources = bootstrap.live_sources(settings)
    try:
        return listed_symbols(sources) or []
    finally:
        for source in sources:
            source.close()
