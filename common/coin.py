"""Build a coin's document from the exchange's candles (the "decide" step of a refresh)."""

from __future__ import annotations

from datetime import datetime

from common.candles import WEEKLY_MINUTES, CandleSeries, complete, validated
from common.document import CoinDocument
from common.errors import BadPriceData
from common.prices import Listing, is_possibly_truncated, last_month_from, listing_from


def needs_coarser_history(weekly: CandleSeries, known_listing: Listing | None) -> bool:
    """True when the listing must be read from 15-day candles: weekly may not reach back far enough."""
    return known_listing is None and is_possibly_truncated(weekly)


def build_document(
    *,
    symbol: str,
    exchange: str,
    pair: str,
    weekly: CandleSeries,
    daily: CandleSeries,
    now: datetime,
    known_listing: Listing | None = None,
    coarse: CandleSeries | None = None,
    sample_data: bool = False,
) -> CoinDocument:
    """A complete, validated document; BadPriceData if the candles cannot support one.

    `known_listing` (from an earlier document) is kept as is: a listing never changes.
    `coarse` is the 15-day series, used when weekly history may be cut short.
    """
    if weekly.interval_minutes != WEEKLY_MINUTES:
        raise ValueError(f"history needs weekly candles, got {weekly.interval_minutes} minutes")
    if known_listing is not None:
        listing = known_listing
    elif is_possibly_truncated(weekly) and coarse is not None:
        listing = listing_from(coarse)
    else:
        listing = listing_from(weekly)
    month = last_month_from(daily, now)
    if not month.closes:
        raise BadPriceData("no daily candle in the 30 days before the latest one")
    if listing.date > month.end:
        raise BadPriceData("listing date is after the latest daily candle")
    weeks = complete(CandleSeries(weekly.interval_minutes, validated(weekly.candles), weekly.last_committed), now)
    times = [int(c.open_time.timestamp()) for c in weeks]
    history = [c.close for c in weeks]
    # End the chart on the latest daily close, so it reaches "now" between weekly closes.
    latest = int(month.close_times[-1].timestamp())
    if not times or latest > times[-1]:
        times.append(latest)
        history.append(month.closes[-1])
    return CoinDocument(
        symbol=symbol,
        exchange=exchange,
        pair=pair,
        listing=listing,
        last_month=month,
        history_times=times,
        history_closes=history,
        computed_at=now,
        sample_data=sample_data,
    )
