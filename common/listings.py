"""Which listing a coin has, and which exchange prices its last month: the rules, pure.

Definitions (also in the README):
- a listing on one exchange is its first UTC day with a real trade (volume > 0);
- the listing is the earliest of them; ties go to the order of the sources
  (the archive first, then DELOS_EXCHANGES);
- it is final only when every enabled source answered: a listing, or a definite
  "no such pair". Otherwise it is provisional and the missing sources are retried;
- the price exchange is the first live exchange, in order, whose latest complete
  daily candle closed within the 3 days before now; failing that the one whose
  latest complete candle is newest (ties: order). The archive never prices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from common.candles import Candle, CandleSeries, ValidCandles, complete, validated
from common.errors import BadPriceData
from common.exchanges import ARCHIVE, is_archived
from common.prices import Listing

FRESH_WITHIN = timedelta(days=3)
API = "api"


class FirstDayFacts(Protocol):
    """What an adapter says of a first trading day (common.ports.FirstDay has these)."""

    @property
    def day(self) -> datetime: ...
    @property
    def price_usd(self) -> float: ...
    @property
    def volume_usd(self) -> float: ...


@dataclass(frozen=True, slots=True)
class ExchangeListing:
    """A coin's first trading day on one exchange (or in the archive), prices in USD at par."""

    exchange: str
    pair: str
    quote: str
    source: str  # "api" (a live exchange) or "archive" (files shipped with Delos)
    listing_date: datetime
    listing_price_usd: float
    listing_day_volume_usd: float

    def __post_init__(self) -> None:
        # Chained comparisons are False for NaN: one test covers sign, zero, NaN and infinity.
        if not 0 < self.listing_price_usd < math.inf:
            raise BadPriceData(f"{self.exchange} listing price {self.listing_price_usd!r} is not a positive price")
        # 0 means unknown (a schema-1 document); a first day read from an exchange always has volume.
        if not 0 <= self.listing_day_volume_usd < math.inf:
            raise BadPriceData(f"{self.exchange} listing day volume {self.listing_day_volume_usd!r} is invalid")
        if self.listing_date.tzinfo is None:
            raise BadPriceData("listing date without a time zone")

    @property
    def volume_known(self) -> bool:
        """False for a listing carried over from schema 1, read off a weekly candle: ask again."""
        return self.listing_day_volume_usd > 0

    def as_listing(self) -> Listing:
        """The listing as the lambo arithmetic reads it: one day, never truncated."""
        return Listing(self.listing_date, self.listing_price_usd, interval_minutes=1440, may_be_truncated=False)


def from_first_day(exchange: str, pair: str, quote: str, first: FirstDayFacts) -> ExchangeListing:
    """A per-exchange listing from an exchange's first trading day; BadPriceData without a trade."""
    if not first.volume_usd > 0:
        raise BadPriceData(f"{exchange} gave a first day without trades ({first.volume_usd!r})")
    day = first.day.replace(hour=0, minute=0, second=0, microsecond=0)
    return ExchangeListing(exchange, pair, quote, source_kind(exchange), day, first.price_usd, first.volume_usd)


def source_kind(exchange: str) -> str:
    """ "archive" for the shipped files, "api" for a live exchange."""
    return ARCHIVE if is_archived(exchange) else API


def rank(order: Sequence[str]) -> Mapping[str, int]:
    """Position of each source in the preference order; unknown names sort last."""
    return {name: i for i, name in enumerate(order)}


def sorted_listings(listings: Iterable[ExchangeListing], order: Sequence[str]) -> tuple[ExchangeListing, ...]:
    """Listings earliest first, ties in source order: the first one is the coin's listing."""
    position = rank(order)
    return tuple(sorted(listings, key=lambda x: (x.listing_date, position.get(x.exchange, len(position)))))


def earliest(listings: Iterable[ExchangeListing], order: Sequence[str]) -> ExchangeListing:
    """The coin's listing: the earliest per-exchange one (ties: source order); BadPriceData if none."""
    ordered = sorted_listings(listings, order)
    if not ordered:
        raise BadPriceData("no exchange has a listing for this coin")
    return ordered[0]


def is_final(asked: Sequence[str], listed: Iterable[str], no_pair: Iterable[str]) -> bool:
    """Final when every asked source gave a listing or a definite "no such pair"."""
    answered = set(listed) | set(no_pair)
    return all(name in answered for name in asked)


def traded(series: CandleSeries) -> CandleSeries:
    """The series without flat zero-volume candles: a day without trades has no price."""
    if not series.candles:
        return series
    kept = ValidCandles(c for c in validated(series.candles) if c.volume > 0)  # validating again is free
    return CandleSeries(series.interval_minutes, kept, series.last_committed)


def latest_complete(series: CandleSeries, now: datetime) -> Candle | None:
    """The newest finished candle with trades, or None."""
    done = complete(traded(series), now)
    return done[-1] if done else None


@dataclass(frozen=True, slots=True)
class PriceChoice:
    """The price exchange and whether its latest complete candle is older than FRESH_WITHIN."""

    exchange: str
    stale: bool


def price_exchange(daily: Mapping[str, CandleSeries], order: Sequence[str], now: datetime) -> PriceChoice:
    """The exchange the last month is read from (see the module docstring); BadPriceData if none can."""
    newest: tuple[datetime, str] | None = None
    for name in order:
        if is_archived(name) or name not in daily:
            continue
        latest = latest_complete(daily[name], now)
        if latest is None:
            continue
        closed = latest.close_time(daily[name].interval_minutes)
        if now - closed <= FRESH_WITHIN:
            return PriceChoice(name, stale=False)
        if newest is None or closed > newest[0]:
            newest = (closed, name)
    if newest is None:
        raise BadPriceData("no live exchange has a complete daily candle")
    return PriceChoice(newest[1], stale=True)
