"""Refresh one coin: gather candles, decide the document, apply it if it is better."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from common.candles import DAILY_MINUTES, FIFTEEN_DAY_MINUTES, WEEKLY_MINUTES, CandleSeries, complete
from common.coin import build_document, needs_coarser_history
from common.document import CoinDocument, same_facts
from common.errors import BadPriceData
from common.ports import CoinStore, Pair, PriceSource

log = logging.getLogger(__name__)
# The 30-day window plus the unfinished day and a margin for an exchange that lags a day or two.
DAILY_LOOKBACK = timedelta(days=33)


def refresh_coin(
    symbol: str,
    source: PriceSource,
    store: CoinStore,
    now: datetime,
    *,
    exchange: str,
    force: bool = False,
    sample_data: bool = False,
) -> CoinDocument:
    """Fetch, compute and save one coin's document; returns the document computed.

    A redelivered message finds the same facts and writes nothing, so state stays identical.
    The listing never changes once computed, so an existing document's listing is
    kept (saving the 15-day fetch for old coins) unless `force` asks to recompute.
    Raises the domain errors of the source and the store; writes nothing then.
    """
    pair = source.pair_for(symbol)
    existing = store.get(symbol)
    known = existing.listing if existing is not None and not force and existing.pair == pair.name else None
    weekly = source.candles(pair, WEEKLY_MINUTES)
    coarse = source.candles(pair, FIFTEEN_DAY_MINUTES) if needs_coarser_history(weekly, known) else None
    daily = _recent_daily(source, pair, now)
    doc = build_document(
        symbol=symbol,
        exchange=exchange,
        pair=pair.name,
        weekly=weekly,
        daily=daily,
        now=now,
        known_listing=known,
        coarse=coarse,
        sample_data=sample_data,
    )
    if existing is not None and same_facts(doc, existing):
        log.info("%s unchanged since %s", symbol, doc.as_of.isoformat())
        return existing
    if store.save_if_better(doc):
        log.info("refreshed %s (%s): as_of %s", symbol, pair.name, doc.as_of.isoformat())
    else:
        log.warning("kept the stored %s document: it is newer than what %s returned", symbol, exchange)
    return doc


def _recent_daily(source: PriceSource, pair: Pair, now: datetime) -> CandleSeries:
    """Only the last month of daily candles is needed: asking for just those keeps the answer small.

    A coin that has not traded for a month gets its whole daily history instead, so it is
    still answered (marked stale) rather than failed.
    """
    try:
        recent = source.candles(pair, DAILY_MINUTES, since=now - DAILY_LOOKBACK)
        if complete(recent, now):
            return recent
    except BadPriceData:
        pass  # nothing in the lookback window
    return source.candles(pair, DAILY_MINUTES)
