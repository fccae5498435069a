"""Domain errors, translated once at each boundary.

Hierarchy (the servicer maps these to gRPC codes in one table; the worker
decides ack/nack by class in one function):

    DelosError
    ├── InvalidRequest        bad user input            -> INVALID_ARGUMENT
    ├── NotCached             coin not in the cache yet -> NOT_FOUND
    ├── NotReady              cache still loading       -> UNAVAILABLE
    ├── InvalidMessage        poison refresh message    -> logged, acked, dropped
    ├── UnknownSymbol         exchange has no USD pair  -> coin marked failed, no retry
    ├── BadPriceData          exchange data unusable    -> coin marked failed, no retry
    ├── ExchangeUnavailable   transient: 5xx, timeout   -> retried, then nack
    │   └── RateLimited       exchange asked us to slow -> retried, then nack
    ├── StoreUnavailable      the document store failed -> nack (redelivered); at start, exit 1
    ├── StoreDamaged          a store file lost data    -> the process stops (exit 1): restore or reset
    └── Misconfigured         the setup is wrong        -> the process stops (exit 2): fix the configuration
        └── DataDirUnusable   DELOS_DATA_DIR unusable (cannot be created, read or written)
"""

from __future__ import annotations


class DelosError(Exception):
    """Base of every error Delos raises on purpose."""


class InvalidRequest(DelosError):
    """The caller sent something Delos cannot answer; the message says what."""


class NotCached(DelosError):
    """The coin is valid but has no cached document yet."""


class NotReady(DelosError):
    """The service has not finished loading what it answers from; retry shortly."""


class InvalidMessage(DelosError):
    """A refresh message that can never be processed, however often it is delivered."""


class UnknownSymbol(DelosError):
    """The exchange has no USD pair for this symbol."""


class BadPriceData(DelosError):
    """The exchange answered, but with prices Delos refuses to compute from."""


class ExchangeUnavailable(DelosError):
    """A transient exchange failure: worth retrying later."""


class RateLimited(ExchangeUnavailable):
    """The exchange asked us to slow down; `retry_after_s` is its hint, if any."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreUnavailable(DelosError):
    """The document store could not be read or written."""


class StoreDamaged(DelosError):
    """A store's file is not whole (truncated, cut, corrupt): serving from it would hide lost data."""


class Misconfigured(DelosError):
    """Delos cannot start as configured (a port in use, no credentials): an operator must fix it."""


class DataDirUnusable(Misconfigured):
    """The data directory cannot be created, read or written."""
