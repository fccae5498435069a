"""The cached coin document: what the worker writes and the query service reads.

The same dict goes to every store (SQLite JSON, Firestore fields). Times are
unix seconds; the weekly history is two parallel arrays, not a list of maps,
because it is read on every cache load.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from common.candles import utc_from_unix
from common.errors import BadPriceData
from common.prices import LastMonth, Listing

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class CoinDocument:
    """Everything needed to answer for one coin without calling the exchange.

    The weekly history is kept as packed arrays (unix seconds, USD closes): a
    thousand coins of full history then cost megabytes, not tens of them.
    """

    symbol: str
    exchange: str
    pair: str
    listing: Listing
    last_month: LastMonth
    history_times: Sequence[int]
    history_closes: Sequence[float]
    computed_at: datetime
    sample_data: bool = False

    def __post_init__(self) -> None:
        if len(self.history_times) != len(self.history_closes):
            raise BadPriceData("history times and closes differ in length")
        object.__setattr__(self, "history_times", array("q", self.history_times))
        object.__setattr__(self, "history_closes", array("d", self.history_closes))

    @property
    def as_of(self) -> datetime:
        """Close time of the latest complete daily candle behind this document."""
        return self.last_month.end

    def with_listing(self, listing: Listing) -> CoinDocument:
        """The same document with a listing kept from an earlier computation."""
        return replace(self, listing=listing)


def is_improvement(new: CoinDocument, old: CoinDocument | None) -> bool:
    """Whether `new` may replace `old`: never go back in time, never replace real data with samples.

    Equal as_of is allowed so that a redelivered message rewrites identical content.
    """
    if old is None:
        return True
    if new.sample_data and not old.sample_data:
        return False
    return new.as_of >= old.as_of


def same_facts(new: CoinDocument, old: CoinDocument | None) -> bool:
    """True when `new` says exactly what `old` says: rewriting it would only move computed_at."""
    return old is not None and replace(new, computed_at=old.computed_at) == old


def _ts(value: datetime) -> int:
    return int(value.timestamp())


def to_dict(doc: CoinDocument) -> dict[str, Any]:
    """The stored form of a document (JSON- and Firestore-friendly)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "symbol": doc.symbol,
        "exchange": doc.exchange,
        "pair": doc.pair,
        "listing": {
            "date": _ts(doc.listing.date),
            "price_usd": doc.listing.price_usd,
            "interval_minutes": doc.listing.interval_minutes,
            "may_be_truncated": doc.listing.may_be_truncated,
        },
        "last_month": {
            "start": _ts(doc.last_month.start),
            "end": _ts(doc.last_month.end),
            "close_times": [_ts(t) for t in doc.last_month.close_times],
            "closes": list(doc.last_month.closes),
        },
        "history": {
            "times": list(doc.history_times),
            "closes": list(doc.history_closes),
        },
        "as_of": _ts(doc.as_of),
        "computed_at": _ts(doc.computed_at),
        "sample_data": doc.sample_data,
    }


def from_dict(data: Mapping[str, Any]) -> CoinDocument:
    """Parse a stored document; BadPriceData when it is not one this version understands."""
    try:
        if data["schema_version"] != SCHEMA_VERSION:
            raise BadPriceData(f"unsupported schema_version {data['schema_version']!r}")
        listing = data["listing"]
        month = data["last_month"]
        history = data["history"]
        return CoinDocument(
            symbol=str(data["symbol"]),
            exchange=str(data["exchange"]),
            pair=str(data["pair"]),
            listing=Listing(
                date=utc_from_unix(listing["date"]),
                price_usd=float(listing["price_usd"]),
                interval_minutes=int(listing["interval_minutes"]),
                may_be_truncated=bool(listing["may_be_truncated"]),
            ),
            last_month=LastMonth(
                start=utc_from_unix(month["start"]),
                end=utc_from_unix(month["end"]),
                close_times=tuple(utc_from_unix(t) for t in month["close_times"]),
                closes=tuple(float(c) for c in month["closes"]),
            ),
            history_times=_packed("q", history["times"], int),
            history_closes=_packed("d", history["closes"], float),
            computed_at=utc_from_unix(data["computed_at"]),
            sample_data=bool(data.get("sample_data", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadPriceData(f"malformed coin document: {exc!r}") from exc


def _packed(typecode: str, values: Any, convert: Callable[[Any], Any]) -> array[Any]:
    """A packed array of stored numbers; converting one by one only when some are not numbers already.

    Numbers straight from JSON or Firestore pack in one C call, which keeps a
    cold start with a thousand long histories well under a second.
    """
    try:
        return array(typecode, values)
    except TypeError:  # e.g. numbers stored as strings: convert each, as before
        return array(typecode, (convert(v) for v in values))
