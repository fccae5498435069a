"""`delos status`: every coin's freshness, listing and last failure, read from the store itself.

The exit code gates a deploy or a cron check: 0 when every coin is fresh and none is failing,
1 otherwise, 3 when the store cannot be read. The query service's cache is never consulted: an
operator wants what the worker wrote, not what one query instance happens to hold.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from common.errors import DelosError
from common.ports import StatusReader
from common.status import CoinStatus, StatusSummary, coin_statuses, summarize

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1
EXIT_UNREADABLE = 3
COLUMNS = ("SYMBOL", "LISTED ON", "LISTING DATE", "PRICES FROM", "AS OF", "STALE", "LISTING", "LAST FAILURE")
MAX_REASON_CHARS = 60


def status(open_reader: Callable[[], StatusReader], now: datetime, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Print the table (or JSON) and the summary; the exit code says whether every coin is healthy."""
    try:
        reader = open_reader()
        rows = coin_statuses(reader.load_all(), reader.failures(), now)
    except (DelosError, OSError) as exc:
        print(f"delos status: cannot read the store: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    summary = summarize(rows)
    if as_json:
        json.dump({"coins": [row_json(row) for row in rows], "summary": summary_json(summary)}, out, indent=2)
        out.write("\n")
    else:
        out.write(table(rows))
        out.write(summary_line(summary) + "\n")
    return EXIT_HEALTHY if summary.healthy else EXIT_UNHEALTHY


def row_cells(row: CoinStatus) -> tuple[str, ...]:
    """The row as table cells, in COLUMNS order; "-" where a coin has no document yet."""
    failure = "-"
    if row.failure is not None:
        reason = row.failure.reason
        reason = reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"
        failure = f"{_when(row.failure.at)} {reason}"
    listing = "-" if row.computed_at is None else ("complete" if row.listing_complete else "provisional")
    return (
        row.symbol + (" (sample)" if row.sample_data else ""),
        row.listing_exchange or "-",
        _day(row.listing_date),
        row.price_exchange or "-",
        _when(row.as_of),
        "yes" if row.stale else "no",
        listing,
        failure,
    )


def table(rows: Sequence[CoinStatus]) -> str:
    """Columns padded to their widest cell; the last column is left ragged."""
    lines = [COLUMNS, *(row_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS) - 1)]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1] + "\n"
        for line in lines
    )


def summary_line(summary: StatusSummary) -> str:
    last = _when(summary.last_refresh) if summary.last_refresh else "never"
    return f"{summary.coins} coins, {summary.stale} stale, {summary.failing} failing, last refresh {last}"


def row_json(row: CoinStatus) -> dict[str, Any]:
    """The row for scripts: ISO 8601 UTC times, null where unknown."""
    failure = None
    if row.failure is not None:
        failure = {"reason": row.failure.reason, "at": _iso(row.failure.at)}
    return {
        "symbol": row.symbol,
        "listing_exchange": row.listing_exchange,
        "listing_date": _iso(row.listing_date),
        "price_exchange": row.price_exchange,
        "as_of": _iso(row.as_of),
        "computed_at": _iso(row.computed_at),
        "stale": row.stale,
        "listing_complete": row.listing_complete,
        "sample_data": row.sample_data,
        "last_failure": failure,
    }


def summary_json(summary: StatusSummary) -> dict[str, Any]:
    return {
        "coins": summary.coins,
        "stale": summary.stale,
        "failing": summary.failing,
        "last_refresh": _iso(summary.last_refresh),
        "healthy": summary.healthy,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _day(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d")
