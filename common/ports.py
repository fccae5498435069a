"""The ports Delos's use cases depend on; adapters implement them structurally.

Each is small and speaks in domain words. Real adapters are named for their
technology (KrakenPriceSource, FirestoreCoinStore, PubSubRefreshQueue); the
embedded ones (SQLite) are the laptop default and the fakes in tests.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from common.candles import CandleSeries
from common.document import CoinDocument
from common.status import RefreshFailure, RefreshOutcome


@dataclass(frozen=True, slots=True)
class Pair:
    """A coin's pair on one exchange: `symbol` is ours (BTC), `name` the exchange's (XXBTZUSD, tBTCUSD).

    `quote` is USD where the exchange has a USD pair, else USDT, else USDC (taken at par with USD).
    """

    symbol: str
    name: str
    quote: str = "USD"


@dataclass(frozen=True, slots=True)
class FirstDay:
    """A coin's listing on one exchange: its first UTC day with a real trade (volume > 0).

    `price_usd` is that day's VWAP where the exchange gives one at daily resolution
    (Kraken from that day's trades, Binance quote volume / base volume, the archive's
    weighted price), else that day's close; never the VWAP of a coarser candle.
    """

    day: datetime  # 00:00 UTC of the first trading day
    price_usd: float
    volume_usd: float  # what traded that day, in the quote currency (at par with USD)
    price_is_vwap: bool


class PriceSource(Protocol):
    """One exchange's (or the archive's) public price history, in its own quote currency.

    Every method raises only domain errors: UnknownSymbol is a definite "no such pair",
    ExchangeUnavailable (RateLimited included) a failure worth retrying later,
    BadPriceData an answer that cannot be used.
    """

    name: str  # one of common.exchanges.ALL_SOURCES

    def pairs(self) -> Sequence[Pair]:
        """Every online pair the exchange lists, one per symbol: USD preferred, else USDT, else USDC."""
        ...

    def pair_for(self, symbol: str) -> Pair:
        """The preferred pair of `symbol`; UnknownSymbol if the exchange has none."""
        ...

    def first_day(self, pair: Pair) -> FirstDay:
        """The listing on this exchange; BadPriceData if the pair never traded."""
        ...

    def daily(self, pair: Pair, since: datetime | None = None) -> CandleSeries:
        """Daily candles (00:00 UTC opens) oldest first, opened at or after `since`; all there are when None.

        Days without trades are left out (never flat zero-volume candles); the last one may be
        unfinished (see CandleSeries.last_committed and candles.complete). An exchange that
        cannot reach its listing day at daily resolution (Kraken: the newest 720 days only)
        returns what it has, and history() covers the rest.
        """
        ...

    def history(self, pair: Pair) -> CandleSeries:
        """The longest close history the exchange gives: daily() where that reaches the listing,
        else its finest interval that does (Kraken: weekly, 15-day when weekly is cut short)."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


class CoinStore(Protocol):
    """Where the worker keeps coin documents."""

    def get(self, symbol: str) -> CoinDocument | None: ...

    def get_many(self, symbols: Sequence[str]) -> dict[str, CoinDocument]:
        """The stored documents of `symbols` in one round trip, by symbol; absent coins are left out."""
        ...

    def save_all_if_better(self, docs: Sequence[CoinDocument]) -> list[bool]:
        """save_if_better for a batch, in as few commits as the store allows; one flag per document."""
        ...

    def save_if_better(self, doc: CoinDocument) -> bool:
        """Upsert unless the stored document is better (see document.is_improvement); True if written."""
        ...

    def record_failure(self, symbol: str, reason: str, at: datetime) -> None:
        """Note for operators why a coin's refresh failed, leaving its document untouched."""
        ...


class Subscription(Protocol):
    """A running change listener; close() stops it."""

    def close(self) -> None: ...


class CoinFeed(Protocol):
    """How the query service learns about coin documents."""

    def load_all(self) -> list[CoinDocument]: ...

    def watch(self, on_change: Callable[[list[CoinDocument]], None], on_health: Callable[[bool], None]) -> Subscription:
        """Call on_change with new or changed documents as they are written; on_health(False) while cut off."""
        ...

    def follow(
        self,
        on_change: Callable[[list[CoinDocument]], None],
        on_health: Callable[[bool], None],
        timeout_s: float,
    ) -> tuple[list[CoinDocument], Subscription]:
        """Every current document, each read once, and a subscription delivering what changes after that read.

        The cold start of the query service: one read per document, however the store delivers it.
        StoreUnavailable when the documents cannot all be read within `timeout_s`: a collection
        that cannot be read is never answered as an empty one.
        """
        ...


class Verdict(enum.Enum):
    """What to do with a delivered message once handled."""

    ACK = "ack"
    NACK = "nack"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a refresh message; a message may be delivered more than once."""

    message_id: str
    body: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)
    delivery_attempt: int = 1


class RefreshQueue(Protocol):
    """At-least-once delivery of refresh messages, with Pub/Sub subscription semantics."""

    def publish(self, body: bytes, attributes: Mapping[str, str] | None = None) -> str:
        """Publish durably; returns the message id."""
        ...

    def consume(self, handler: Callable[[Delivery], Verdict], stop: threading.Event) -> None:
        """Deliver messages to `handler` until `stop` is set; unacked messages are redelivered later."""
        ...


class StatusReader(Protocol):
    """What operators read of the store (`delos status`, `publish --wait`): never the query service's cache."""

    def load_all(self) -> list[CoinDocument]: ...

    def failures(self) -> list[RefreshFailure]:
        """Every coin whose last refresh failed (no save succeeded since), by symbol."""
        ...

    def outcomes_since(self, since: datetime) -> list[RefreshOutcome]:
        """Each coin's latest refresh outcome if recorded at or after `since` (whole seconds), oldest first.

        Reads only what changed since then, so `publish --wait` can poll a thousand coins cheaply.
        """
        ...


class DocumentStore(CoinStore, CoinFeed, StatusReader, Protocol):
    """A store that serves both sides: every adapter of Delos's documents is one."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A refresh message that failed every delivery attempt, as the dead-letter queue holds it.

    `handle` is what acknowledge() needs (the embedded row id, or Pub/Sub's ack id); `dead_at` is
    when it was dead-lettered, where the queue knows it.
    """

    message_id: str
    body: bytes
    attributes: Mapping[str, str]
    delivery_attempts: int
    dead_at: datetime | None
    handle: str


class DeadLetterBox(Protocol):
    """Where dead-lettered refresh messages wait for an operator (`delos dead-letters`)."""

    def peek(self, limit: int) -> list[DeadLetter]:
        """Up to `limit` dead letters, oldest first, left in place (held until release() or acknowledge())."""
        ...

    def acknowledge(self, letter: DeadLetter) -> None:
        """Remove `letter` for good: call only once it has been republished."""
        ...

    def release(self) -> None:
        """Give back every peeked letter not acknowledged, so the next reader sees it at once."""
        ...
