"""What every price source said about one coin, and the document decided from it (pure).

The refresh use case gathers one SourceAnswer per enabled source (in parallel, in
the shell) and calls decide_document; the rules themselves live in
common.listings (listing, finality, price exchange) and common.history (charts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from common.candles import CandleSeries
from common.document import CoinDocument
from common.errors import BadPriceData
from common.history import composite, preference, spliced
from common.listings import ExchangeListing, earliest, price_exchange, sorted_listings, traded
from common.prices import last_month_from


@dataclass(frozen=True, slots=True)
class SourceAnswer:
    """One source's answer for one coin.

    `listing` is None when the source has no pair (or it never traded: `no_pair`),
    or when it failed before saying (`failure` set). `series` holds what was read
    this time for the chart (daily and coarser); `daily` the daily candles the last
    month may be read from. A `failure` marks the source to be asked again.
    """

    exchange: str
    pair: str = ""
    listing: ExchangeListing | None = None
    no_pair: bool = False
    series: tuple[CandleSeries, ...] = ()
    daily: CandleSeries | None = None
    failure: str | None = None
    unusable: str | None = None  # why its prices were refused (bad data): said when no document can be built


def _listings(answers: Sequence[SourceAnswer], stored: CoinDocument | None) -> list[ExchangeListing]:
    """Fresh listings, plus stored ones of enabled sources that did not give one now.

    A listing is a past fact: an exchange that fails today, or has since dropped the
    pair, still listed the coin then. A disabled source's listing is not kept.
    """
    found = {a.exchange: a.listing for a in answers if a.listing is not None}
    if stored is not None:
        for answer in answers:
            old = stored.listing_on(answer.exchange)
            if answer.exchange not in found and old is not None:
                found[answer.exchange] = old
    return list(found.values())


def _is_final(answers: Sequence[SourceAnswer], listed: set[str], stored: CoinDocument | None) -> bool:
    """Every source gave a listing or a definite no; a failing source counts as its earlier answer
    when the stored listing was final (it was asked then, and had no pair)."""
    earlier_final = stored is not None and stored.listing_complete
    return all(a.exchange in listed or a.no_pair or (a.failure is not None and earlier_final) for a in answers)


def decide_document(
    symbol: str,
    answers: Sequence[SourceAnswer],
    stored: CoinDocument | None,
    now: datetime,
    *,
    history_since: datetime | None,
    sample_data: bool = False,
) -> CoinDocument:
    """The coin's document from every source's answer; BadPriceData when they cannot support one.

    `answers` are in source order (archive first, then DELOS_EXCHANGES). `stored` is
    the previous document to build on (None on first sight or when forced);
    `history_since` None means the answers hold full histories, else the stored
    history is kept before that time and only later days are recomputed.
    """
    order = tuple(a.exchange for a in answers)
    listings = _listings(answers, stored)
    chosen = earliest(listings, order)
    daily = {a.exchange: traded(a.daily) for a in answers if a.daily is not None and a.daily.candles}
    choice = price_exchange(daily, order, now)
    month = last_month_from(daily[choice.exchange], now)
    if not month.closes:
        raise BadPriceData("no daily candle in the 30 days before the latest one")
    if chosen.listing_date > month.end:
        raise BadPriceData("listing date is after the latest daily candle")
    by_name = {a.exchange: a for a in answers}
    layers = [s for name in preference(choice.exchange, chosen.exchange, order) for s in by_name[name].series]
    times, closes = composite(layers, chosen.listing_date, month.end, now)
    if history_since is not None and stored is not None:
        times, closes = spliced(stored.history_times, stored.history_closes, times, closes, history_since)
    listed = {x.exchange for x in listings}
    return CoinDocument(
        symbol=symbol,
        exchange=chosen.exchange,
        pair=chosen.pair,
        listing=chosen.as_listing(),
        last_month=month,
        history_times=times,
        history_closes=closes,
        computed_at=now,
        sample_data=sample_data,
        listings=sorted_listings(listings, order),
        listing_complete=_is_final(answers, listed, stored),
        listing_quote=chosen.quote,
        listing_source=chosen.source,
        price_exchange=choice.exchange,
        price_pair=by_name[choice.exchange].pair,
        pending=tuple(a.exchange for a in answers if a.failure is not None),
    )
