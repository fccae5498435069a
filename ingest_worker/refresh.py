"""Refresh one coin: ask every source in parallel, decide the document, apply it if it is better.

Listings and past days never change, so a refresh asks each exchange only for
what is new: its first day only when the stored document lacks it, and daily
candles only from the month before the stored as_of (the last month is read
from the price exchange's candles, which may have changed). A first sight, a forced refresh, a
listing still provisional or a newly found exchange listing reads full histories.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar, cast

from common.candles import DAILY_MINUTES, CandleSeries, complete
from common.document import CoinDocument, same_facts
from common.errors import BadPriceData, ExchangeUnavailable, UnknownSymbol
from common.exchanges import is_archived
from common.listings import ExchangeListing, from_first_day, traded
from common.ports import CoinStore, Pair, PriceSource
from common.sources import SourceAnswer, decide_document

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
# Read again before the stored as_of: the 30-day window the last month needs (even if no new day
# came) plus a margin for an exchange that lagged a day or two behind the one that set as_of.
DAILY_LOOKBACK = timedelta(days=33)


@dataclass(frozen=True, slots=True)
class _First:
    """Step one for one source: its pair and listing, or why there is none."""

    pair: Pair | None = None
    listing: ExchangeListing | None = None
    new: bool = False  # the listing was read now, not carried from the stored document
    no_pair: bool = False
    failure: str | None = None
    unusable: str | None = None  # the pair exists but its first day could not be read from the answer


def refresh_coin(
    symbol: str,
    sources: Sequence[PriceSource],
    store: CoinStore,
    now: datetime,
    *,
    force: bool = False,
    sample_data: bool = False,
) -> CoinDocument:
    """Fetch, decide and save one coin's document; returns the document computed.

    Its `pending` names the sources that failed and must be asked again. Raises
    ExchangeUnavailable when no usable answer came (nothing is written then),
    UnknownSymbol when no source has the coin, and the store's errors.
    """
    existing = store.get(symbol)
    doc = decide_coin(symbol, sources, existing, now, force=force, sample_data=sample_data)
    if existing is not None and same_facts(doc, existing):
        log.info("%s unchanged since %s", symbol, doc.as_of.isoformat())
        return existing
    log_saved(doc, store.save_if_better(doc))
    return doc


def decide_coin(
    symbol: str,
    sources: Sequence[PriceSource],
    existing: CoinDocument | None,
    now: datetime,
    *,
    force: bool = False,
    sample_data: bool = False,
) -> CoinDocument:
    """Ask every source about `symbol` and decide its document from them and `existing` (the stored one).

    Reads and writes no store: the caller read `existing` and saves the result, one coin at a
    time (refresh_coin) or a batch at a time (refresh_coins). Raises as refresh_coin does.
    """
    stored = None if force else existing
    # One thread per source: a rate-limited or slow exchange only delays its own answer.
    firsts = _each(lambda source: _first_day(source, symbol, stored), sources, f"refresh-{symbol}")
    full = stored is None or not stored.listing_complete or bool(stored.pending) or any(f.new for f in firsts)
    since = None if full or stored is None else stored.as_of - DAILY_LOOKBACK
    answers = _each(
        lambda pair: _prices(pair[0], pair[1], since, now), list(zip(sources, firsts, strict=True)), f"refresh-{symbol}"
    )
    try:
        return decide_document(symbol, answers, stored, now, history_since=since, sample_data=sample_data)
    except BadPriceData as exc:
        _raise_for_missing(answers)
        refused = [f"{a.exchange}: {a.unusable}" for a in answers if a.unusable is not None]
        if refused:  # the reason an operator reads names each exchange's bad data, not only the outcome
            raise BadPriceData("; ".join([str(exc), *refused])) from exc
        raise


def log_saved(doc: CoinDocument, written: bool) -> None:
    """The line a save leaves: the listing and its state, or that the stored document was kept."""
    if written:
        state = "final" if doc.listing_complete else f"provisional, waiting for {', '.join(doc.pending)}"
        log.info("refreshed %s: listing on %s (%s), as_of %s", doc.symbol, doc.exchange, state, doc.as_of.isoformat())
    else:
        log.warning("kept the stored %s document: it is newer or more complete", doc.symbol)


def _each(call: Callable[[T], R], items: Sequence[T], name: str) -> list[R]:
    """`call` on every item, each in a daemon thread of its own, results in order.

    Not a ThreadPoolExecutor: its threads are joined at interpreter exit, so a source still waiting
    for a hung exchange when the worker stops (its message already released for redelivery) would
    keep the process alive past its shutdown deadline.
    """
    results: list[R | None] = [None] * len(items)
    errors: list[BaseException] = []

    def run(index: int, item: T) -> None:
        try:
            results[index] = call(item)
        except BaseException as exc:  # raised in the caller's thread below, as pool.map would
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(i, item), name=f"{name}-{i}", daemon=True) for i, item in enumerate(items)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return cast(list[R], results)


def _raise_for_missing(answers: Sequence[SourceAnswer]) -> None:
    """When no document can be built: a transient failure if any source failed, UnknownSymbol if none has it."""
    failed = [f"{a.exchange}: {a.failure}" for a in answers if a.failure is not None]
    if failed:
        raise ExchangeUnavailable("no usable answer yet; " + "; ".join(failed))
    if all(a.no_pair for a in answers):
        raise UnknownSymbol("no enabled exchange has a pair for this symbol")


def _first_day(source: PriceSource, symbol: str, stored: CoinDocument | None) -> _First:
    """The source's pair and listing; the stored listing is kept when it is of the same pair."""
    try:
        pair = source.pair_for(symbol)
        known = stored.listing_on(source.name) if stored is not None else None
        if known is not None and known.pair == pair.name and known.volume_known:
            return _First(pair, known)
        try:
            return _First(pair, from_first_day(source.name, pair.name, pair.quote, source.first_day(pair)), new=True)
        except BadPriceData as exc:
            # Negative prices, an empty answer, rows that are not numbers: not a "no such pair". The listing
            # stays provisional (asked again at the next refresh) so that bad data never makes a later
            # listing final; not pending either, since asking again at once gives the same answer.
            log.warning("%s on %s has no usable first day: %s", symbol, source.name, exc)
            return _First(pair, unusable=str(exc))
    except UnknownSymbol:
        return _First(no_pair=True)
    except ExchangeUnavailable as exc:
        return _First(failure=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug in one adapter must not stop the others; retried like a failure
        log.exception("unexpected error asking %s for %s", source.name, symbol)
        return _First(failure=f"{type(exc).__name__}")


def _prices(source: PriceSource, first: _First, since: datetime | None, now: datetime) -> SourceAnswer:
    """The source's candles: its full history when `since` is None, else its daily candles since then."""
    pair = first.pair
    if pair is None or first.listing is None:
        return SourceAnswer(source.name, no_pair=first.no_pair, failure=first.failure, unusable=first.unusable)
    try:
        # Validated here, so that one exchange's bad candles cost only its own prices.
        if since is None:
            history = traded(source.history(pair))
            daily = history if history.interval_minutes == DAILY_MINUTES else _daily(source, pair, None)
            series = (history, daily) if daily is not history else (history,)
        else:
            daily = _daily(source, pair, since)
            if not complete(daily, now) and not is_archived(source.name):
                daily = _daily(source, pair, None)  # quiet for a month: still answered, marked stale
            series = (daily,)
        return SourceAnswer(source.name, pair.name, first.listing, series=series, daily=daily)
    except BadPriceData as exc:  # asking again gives the same unusable answer: keep the listing, no prices
        log.warning("%s prices of %s are unusable: %s", source.name, pair.symbol, exc)
        return SourceAnswer(source.name, pair.name, first.listing, unusable=str(exc))
    except UnknownSymbol as exc:  # delisted since its pair list was read: a definite "no such pair", not a bug
        log.warning("%s no longer lists %s: %s", source.name, pair.symbol, exc)
        return SourceAnswer(source.name, no_pair=True)
    except ExchangeUnavailable as exc:
        reason = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # as in _first_day: isolate the bug, retry later
        log.exception("unexpected error reading %s prices of %s", source.name, pair.symbol)
        reason = type(exc).__name__
    return SourceAnswer(source.name, pair.name, first.listing, failure=reason)


def _daily(source: PriceSource, pair: Pair, since: datetime | None) -> CandleSeries:
    """Daily candles; an empty answer (no trade since then) is no candles, not an error."""
    try:
        return traded(source.daily(pair, since))
    except BadPriceData:
        if since is None:
            raise
        return CandleSeries(DAILY_MINUTES, ())
