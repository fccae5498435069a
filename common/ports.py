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


@dataclass(frozen=True, slots=True)
class Pair:
    """A coin's USD pair on an exchange: `symbol` is ours (BTC), `name` the exchange's (XXBTZUSD)."""

    symbol: str
    name: str


class PriceSource(Protocol):
    """An exchange's public price history."""

    def usd_pairs(self) -> Sequence[Pair]:
        """Every online USD pair, one per symbol."""
        ...

    def pair_for(self, symbol: str) -> Pair:
        """The USD pair of `symbol`; UnknownSymbol if the exchange has none."""
        ...

    def candles(self, pair: Pair, interval_minutes: int, since: datetime | None = None) -> CandleSeries:
        """The candles the exchange has for `pair` at `interval_minutes`, oldest first; only newer than `since`."""
        ...


class CoinStore(Protocol):
    """Where the worker keeps coin documents."""

    def get(self, symbol: str) -> CoinDocument | None: ...

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


class DocumentStore(CoinStore, CoinFeed, Protocol):
    """A store that serves both sides: every adapter of Delos's documents is one."""
