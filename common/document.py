"""The cached coin document: what the worker writes and the query service reads.

The same dict goes to every store (SQLite JSON, Firestore fields). Times are
unix seconds; the history is two parallel arrays, not a list of maps, because
it is read on every cache load, and each number array is stored packed in one
form (common/packing.py): a thousand long histories load in well under a second.

Schema 2 (several exchanges): `exchange`/`pair` are the listing's, every
per-exchange listing is kept in `listings`, and `price_exchange`/`price_pair`
name where the last month was read. Schema 1 documents (one Kraken listing)
are still read, as a complete Kraken listing.

Schema 3 (the same fields) packs the history's closes in blocks of days
(`history.closes`: {"b0": ..., "b1": ...}), so that a store able to update part
of a document writes only the blocks a refresh changed; and a store holding
bytes (Firestore) gets packed numbers as bytes (`to_dict(doc, binary=True)`),
not base64 text. Schema 2's single packed string is still read.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from common.candles import utc_from_unix
from common.errors import BadPriceData
from common.exchanges import ARCHIVE, is_archived
from common.listings import ExchangeListing, source_kind
from common.packing import ENCODING, pack, pack_blocks, pack_times, unpack, unpack_times
from common.prices import LastMonth, Listing

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, SCHEMA_VERSION)


@dataclass(frozen=True, slots=True)
class CoinDocument:
    """Everything needed to answer for one coin without calling an exchange.

    The composite history is kept as packed arrays (unix seconds, USD closes): a
    thousand coins of full history then cost megabytes, not tens of them.
    `listing_complete` is False while some source has not answered (`pending`
    names the sources to ask again); an empty `price_exchange`/`price_pair`
    means the listing's.
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
    listings: tuple[ExchangeListing, ...] = ()
    listing_complete: bool = True
    listing_quote: str = "USD"
    listing_source: str = "api"
    price_exchange: str = ""
    price_pair: str = ""
    pending: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.history_times) != len(self.history_closes):
            raise BadPriceData("history times and closes differ in length")
        if is_archived(self.price_exchange):
            raise BadPriceData("the archive never prices the last month")
        if not self.price_exchange:
            object.__setattr__(self, "price_exchange", self.exchange)
            object.__setattr__(self, "price_pair", self.price_pair or self.pair)
        object.__setattr__(self, "listings", tuple(self.listings))
        object.__setattr__(self, "pending", tuple(self.pending))
        object.__setattr__(self, "history_times", array("q", self.history_times))
        object.__setattr__(self, "history_closes", array("d", self.history_closes))

    @property
    def as_of(self) -> datetime:
        """Close time of the latest complete daily candle behind this document."""
        return self.last_month.end

    def with_listing(self, listing: Listing) -> CoinDocument:
        """The same document with a listing kept from an earlier computation."""
        return replace(self, listing=listing)

    def listing_on(self, exchange: str) -> ExchangeListing | None:
        """This coin's listing on one exchange, if it has one; "archive" names the earliest archived one."""
        if exchange == ARCHIVE:
            archived = [x for x in self.listings if x.source == ARCHIVE]
            return min(archived, key=lambda x: x.listing_date, default=None)
        return next((x for x in self.listings if x.exchange == exchange), None)


def is_improvement(new: CoinDocument, old: CoinDocument | None) -> bool:
    """Whether `new` may replace `old`.

    Never replace real data with samples, nor a final listing with a provisional one.
    A final listing may replace a provisional one even with an older as_of: the
    listing is the fact the answer rests on, and the next refresh moves as_of on.
    Otherwise never go back in time; equal as_of is allowed so that a redelivered
    message rewrites identical content.
    """
    if old is None:
        return True
    if new.sample_data and not old.sample_data:
        return False
    if old.listing_complete != new.listing_complete:
        return new.listing_complete
    return new.as_of >= old.as_of


def same_facts(new: CoinDocument, old: CoinDocument | None) -> bool:
    """True when `new` says exactly what `old` says: rewriting it would only move computed_at."""
    return old is not None and replace(new, computed_at=old.computed_at) == old


def _ts(value: datetime) -> int:
    return int(value.timestamp())


def to_dict(doc: CoinDocument, *, binary: bool = False) -> dict[str, Any]:
    """The stored form of a document: JSON-friendly, or with packed numbers as bytes if `binary` (Firestore)."""
    return {**summary_fields(doc, binary=binary), "history": history_field(doc, binary=binary)}


def summary_fields(doc: CoinDocument, *, binary: bool = False) -> dict[str, Any]:
    """Every stored field but the history: the few hundred bytes a daily refresh mostly changes."""
    return {
        "schema_version": SCHEMA_VERSION,
        "symbol": doc.symbol,
        "exchange": doc.exchange,
        "pair": doc.pair,
        "listings": [_listing_dict(x) for x in doc.listings],
        "listing_complete": doc.listing_complete,
        "listing_quote": doc.listing_quote,
        "listing_source": doc.listing_source,
        "price_exchange": doc.price_exchange,
        "price_pair": doc.price_pair,
        "pending": list(doc.pending),
        "listing": {
            "date": _ts(doc.listing.date),
            "price_usd": doc.listing.price_usd,
            "interval_minutes": doc.listing.interval_minutes,
            "may_be_truncated": doc.listing.may_be_truncated,
        },
        "last_month": {
            "start": _ts(doc.last_month.start),
            "end": _ts(doc.last_month.end),
            "close_times": {"runs": pack_times([_ts(t) for t in doc.last_month.close_times])},
            "closes": pack("d", doc.last_month.closes, binary=binary),
        },
        "as_of": _ts(doc.as_of),
        "computed_at": _ts(doc.computed_at),
        "sample_data": doc.sample_data,
    }


def history_field(doc: CoinDocument, *, binary: bool = False) -> dict[str, Any]:
    """The stored history: its times as runs, its closes in blocks (common/packing.py)."""
    return {
        "encoding": ENCODING,
        "times": {"runs": pack_times(doc.history_times)},
        "closes": pack_blocks(doc.history_closes, binary=binary),
    }


def _listing_dict(listing: ExchangeListing) -> dict[str, Any]:
    return {
        "exchange": listing.exchange,
        "pair": listing.pair,
        "quote": listing.quote,
        "source": listing.source,
        "date": _ts(listing.listing_date),
        "price_usd": listing.listing_price_usd,
        "day_volume_usd": listing.listing_day_volume_usd,
    }


def _listing_from(data: Mapping[str, Any]) -> ExchangeListing:
    return ExchangeListing(
        exchange=str(data["exchange"]),
        pair=str(data["pair"]),
        quote=str(data["quote"]),
        source=str(data["source"]),
        listing_date=utc_from_unix(data["date"]),
        listing_price_usd=float(data["price_usd"]),
        listing_day_volume_usd=float(data["day_volume_usd"]),
    )


def _multi_exchange_fields(data: Mapping[str, Any], listing: Listing) -> dict[str, Any]:
    """Schema 2's fields; for schema 1, what it meant: one complete listing on its exchange."""
    if data["schema_version"] == 1:
        # Schema 1 kept no first-day volume (0 = unknown), and its price was a weekly VWAP:
        # a refresh asks that exchange for its first day again.
        exchange = str(data["exchange"])
        old = ExchangeListing(
            exchange, str(data["pair"]), "USD", source_kind(exchange), listing.date, listing.price_usd, 0.0
        )
        return {"listing_complete": True, "listings": (old,)}
    return {
        "listings": tuple(_listing_from(x) for x in data["listings"]),
        "listing_complete": bool(data["listing_complete"]),
        "listing_quote": str(data["listing_quote"]),
        "listing_source": str(data["listing_source"]),
        "price_exchange": str(data["price_exchange"]),
        "price_pair": str(data["price_pair"]),
        "pending": tuple(str(x) for x in data["pending"]),
    }


def from_dict(data: Mapping[str, Any]) -> CoinDocument:
    """Parse a stored document; BadPriceData when it is not one this version understands."""
    try:
        if data["schema_version"] not in READABLE_VERSIONS:
            raise BadPriceData(f"unsupported schema_version {data['schema_version']!r}")
        listing = data["listing"]
        month = data["last_month"]
        history = data["history"]
        first = Listing(
            date=utc_from_unix(listing["date"]),
            price_usd=float(listing["price_usd"]),
            interval_minutes=int(listing["interval_minutes"]),
            may_be_truncated=bool(listing["may_be_truncated"]),
        )
        return CoinDocument(
            symbol=str(data["symbol"]),
            exchange=str(data["exchange"]),
            pair=str(data["pair"]),
            listing=first,
            last_month=LastMonth(
                start=utc_from_unix(month["start"]),
                end=utc_from_unix(month["end"]),
                close_times=tuple(utc_from_unix(t) for t in unpack_times(month["close_times"])),
                closes=tuple(unpack("d", month["closes"], float)),
            ),
            history_times=unpack_times(history["times"]),
            history_closes=unpack("d", history["closes"], float),
            computed_at=utc_from_unix(data["computed_at"]),
            sample_data=bool(data.get("sample_data", False)),
            **_multi_exchange_fields(data, first),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadPriceData(f"malformed coin document: {exc!r}") from exc
