"""Small builders of domain values for tests (shared by contract and other suites)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from common.document import CoinDocument
from common.listings import ExchangeListing
from common.prices import LastMonth, Listing

AS_OF = datetime(2026, 11, 20, tzinfo=UTC)


def make_document(
    symbol: str = "BTC",
    as_of: datetime = AS_OF,
    listing_price: float = 0.05,
    closes: Sequence[float] = (90_000.0, 91_000.5, 92_000.25),
    sample_data: bool = False,
    history_weeks: int = 4,
    listing_complete: bool = True,
) -> CoinDocument:
    """A valid document whose last daily candle closes at `as_of`, with `closes` as its last days."""
    day = timedelta(days=1)
    close_times = tuple(as_of - day * (len(closes) - i) for i in range(len(closes)))
    listed = as_of - timedelta(weeks=history_weeks + 1)
    listings = (
        ExchangeListing("kraken", f"X{symbol}ZUSD", "USD", "api", listed, listing_price, 12_345.5),
        ExchangeListing("binance", f"{symbol}USDT", "USDT", "api", listed + day, listing_price * 2, 0.99),
    )
    return CoinDocument(
        symbol=symbol,
        exchange="kraken",
        pair=f"X{symbol}ZUSD",
        listing=Listing(date=listed, price_usd=listing_price, interval_minutes=10080, may_be_truncated=False),
        last_month=LastMonth(start=as_of - day * 30, end=as_of, close_times=close_times, closes=tuple(closes)),
        history_times=[int((listed + timedelta(weeks=w)).timestamp()) for w in range(history_weeks)],
        history_closes=[listing_price * (2**w) for w in range(history_weeks)],
        computed_at=as_of + timedelta(hours=1),
        sample_data=sample_data,
        listings=listings,
        listing_complete=listing_complete,
        price_exchange="coinbase",
        price_pair=f"{symbol}-USD",
        pending=() if listing_complete else ("bitstamp",),
    )


def unique_name(prefix: str) -> str:
    """A fresh name for a shared backend (collection, topic), so tests never see each other's data."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
