"""What an operator sees of each coin: freshness, listing, last failure (`delos status`, `publish --wait`).

Pure: documents, failures and the time come in; rows and a summary go out. A coin appears if it
has a document or a recorded failure, so a coin that never refreshed still shows its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from common.document import CoinDocument
from common.lambo import is_stale


@dataclass(frozen=True, slots=True)
class RefreshFailure:
    """The last refresh of `symbol` failed at `at` for `reason`, and no save succeeded since."""

    symbol: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """The latest recorded refresh of `symbol`: saved (`ok`) or failed for `reason`, at `at`."""

    symbol: str
    ok: bool
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class WaitProgress:
    """How far a published refresh has got: each requested coin is refreshed, failed or still pending."""

    total: int
    refreshed: frozenset[str]
    failed: tuple[RefreshOutcome, ...]  # by symbol
    pending: frozenset[str]

    @property
    def settled(self) -> int:
        return self.total - len(self.pending)


def wait_progress(symbols: Iterable[str], latest: Mapping[str, RefreshOutcome]) -> WaitProgress:
    """Progress of `symbols` given each coin's latest outcome since the publish (absent: still pending).

    A coin that failed and then saved counts as refreshed: only its latest outcome matters.
    """
    wanted = frozenset(symbols)
    seen = {symbol: latest[symbol] for symbol in wanted if symbol in latest}
    return WaitProgress(
        total=len(wanted),
        refreshed=frozenset(s for s, outcome in seen.items() if outcome.ok),
        failed=tuple(sorted((o for o in seen.values() if not o.ok), key=lambda outcome: outcome.symbol)),
        pending=wanted - seen.keys(),
    )


@dataclass(frozen=True, slots=True)
class CoinStatus:
    """One row of `delos status`; the document's fields are None for a coin that never refreshed."""

    symbol: str
    listing_exchange: str | None
    listing_date: datetime | None
    price_exchange: str | None
    as_of: datetime | None
    computed_at: datetime | None
    stale: bool
    listing_complete: bool
    sample_data: bool
    failure: RefreshFailure | None

    @property
    def healthy(self) -> bool:
        """Neither stale nor failing: what a deploy gate or a cron check wants of every coin."""
        return not self.stale and self.failure is None


@dataclass(frozen=True, slots=True)
class StatusSummary:
    """The summary line: how many coins, how many stale or failing, when the newest refresh was."""

    coins: int
    stale: int
    failing: int
    last_refresh: datetime | None

    @property
    def healthy(self) -> bool:
        return self.stale == 0 and self.failing == 0


def coin_status(symbol: str, doc: CoinDocument | None, failure: RefreshFailure | None, now: datetime) -> CoinStatus:
    """The row of one coin. No document at all counts as stale: there is nothing fresh to answer with."""
    if doc is None:
        return CoinStatus(symbol, None, None, None, None, None, True, False, False, failure)
    return CoinStatus(
        symbol=symbol,
        listing_exchange=doc.exchange,
        listing_date=doc.listing.date,
        price_exchange=doc.price_exchange,
        as_of=doc.as_of,
        computed_at=doc.computed_at,
        stale=is_stale(doc.as_of, now),
        listing_complete=doc.listing_complete,
        sample_data=doc.sample_data,
        failure=failure,
    )


def coin_statuses(docs: Iterable[CoinDocument], failures: Iterable[RefreshFailure], now: datetime) -> list[CoinStatus]:
    """One row per coin that has a document or a failure, by symbol."""
    by_symbol = {doc.symbol: doc for doc in docs}
    failed = {failure.symbol: failure for failure in failures}
    return [coin_status(s, by_symbol.get(s), failed.get(s), now) for s in sorted(by_symbol.keys() | failed.keys())]


def summarize(rows: Sequence[CoinStatus]) -> StatusSummary:
    """Counts over the rows, and the newest computed_at among them."""
    refreshed = [row.computed_at for row in rows if row.computed_at is not None]
    return StatusSummary(
        coins=len(rows),
        stale=sum(row.stale for row in rows),
        failing=sum(row.failure is not None for row in rows),
        last_refresh=max(refreshed, default=None),
    )
