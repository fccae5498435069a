"""Turn one delivered refresh message into coin refreshes, and decide ack or nack."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from opentelemetry import metrics

from common import messages
from common.errors import (
    BadPriceData,
    DelosError,
    ExchangeUnavailable,
    InvalidMessage,
    StoreUnavailable,
    UnknownSymbol,
)
from common.exchanges import is_archived
from common.outage import Outage
from common.ports import CoinStore, Delivery, PriceSource, RefreshQueue, Verdict
from ingest_worker.batch import COINS_IN_FLIGHT, Refreshed, refresh_coins

log = logging.getLogger(__name__)
# No-ops unless DELOS_METRICS installed a meter provider (backends/metrics.py).
_meter = metrics.get_meter("delos.ingest_worker")
REFRESHES = _meter.create_counter("delos.refreshes", unit="{refresh}", description="coin refreshes by outcome")
REFRESH_DURATION = _meter.create_histogram("delos.refresh.duration", unit="ms", description="one coin's refresh")

# Failures that will not go away by retrying the same message: the coin is marked failed.
PERMANENT: tuple[type[DelosError], ...] = (UnknownSymbol, BadPriceData)
# Failures worth a redelivery: the exchange or the store may be back later.
TRANSIENT: tuple[type[DelosError], ...] = (ExchangeUnavailable, StoreUnavailable)

# The `outcome` log field of one coin's refresh.
REFRESHED = "refreshed"  # document saved (or already identical)
FAILED = "failed"  # permanent failure, recorded on the coin; the message is acked
RETRY = "retry"  # transient failure, recorded; the message is nacked and comes back
PROVISIONAL = "provisional"  # saved, but some exchange did not answer: nacked, to ask it again soon
IGNORED = "ignored"  # a symbol Delos does not know and the exchange does not list


def _delivery_fields(delivery: Delivery) -> dict[str, object]:
    return {"message_id": delivery.message_id, "delivery_attempt": delivery.delivery_attempt}


@dataclass
class RefreshHandler:
    """Handles refresh messages; one instance per worker process.

    `sources` are the enabled price sources in preference order (the archive
    first, then DELOS_EXCHANGES). `fan_out_queue` set: `{"all": true}` becomes one
    message per symbol any live exchange has a pair for, so each coin is retried
    and scaled on its own. Unset: `all` means the configured coin list, refreshed
    in this delivery.
    """

    sources: Sequence[PriceSource]
    store: CoinStore
    coins: Sequence[str]
    clock: Callable[[], datetime]
    sample_data: bool = False
    fan_out_queue: RefreshQueue | None = None
    coins_in_flight: int = COINS_IN_FLIGHT
    # The store's health as this worker sees it: an unwritable store is reported once a minute, not per coin,
    # to the log and to `on_store_status` (the worker's status file), with "ok" once it is over.
    store_outage: Outage = field(default_factory=Outage)
    on_store_status: Callable[[str], None] = lambda status: None

    def __call__(self, delivery: Delivery) -> Verdict:
        try:
            request = messages.decode(delivery.body)
        except InvalidMessage as exc:
            log.warning(
                "dropping invalid message %s (delivery attempt %d): %s",
                delivery.message_id,
                delivery.delivery_attempt,
                exc,
                extra={**_delivery_fields(delivery), "outcome": "invalid_message"},
            )
            return Verdict.ACK
        if request.all and self.fan_out_queue is not None:
            return self._fan_out(request.force)
        symbols = self.coins if request.all else request.symbols
        retry = False
        for refreshed in self._refresh_all(symbols, request.force):
            outcome, exchange = self._outcome(refreshed)
            retry |= outcome in (RETRY, PROVISIONAL)
            duration_ms = round(refreshed.seconds * 1000, 1)
            for name in exchange.split(",") if exchange else ("",):
                REFRESHES.add(1, {"outcome": outcome, "exchange": name})
            REFRESH_DURATION.record(duration_ms, {"outcome": outcome})
            log.info(
                "refresh of %s: %s",
                refreshed.symbol,
                outcome,
                extra={
                    **_delivery_fields(delivery),
                    "symbol": refreshed.symbol,
                    "exchange": exchange,
                    "outcome": outcome,
                    "duration_ms": duration_ms,
                },
            )
            if self.store_outage.down:
                break  # nothing can be saved: the rest waits for the redelivery instead of asking the exchanges
        return Verdict.NACK if retry else Verdict.ACK

    def _refresh_all(self, symbols: Sequence[str], force: bool) -> Iterator[Refreshed]:
        """Every coin's refresh (one read of the batch, batched writes); a failed batch read fails each coin."""
        try:
            yield from refresh_coins(
                symbols,
                self.sources,
                self.store,
                self.clock(),
                force=force,
                sample_data=self.sample_data,
                coins_in_flight=self.coins_in_flight,
            )
        except Exception as exc:  # the documents could not be read: nothing was asked, every coin retries
            log.warning("could not read the documents of %d coins: %s", len(symbols), exc)
            for symbol in dict.fromkeys(symbols):
                yield Refreshed(symbol, None, exc, False, 0.0)

    def _outcome(self, refreshed: Refreshed) -> tuple[str, str]:
        """One coin's outcome, and the exchanges it concerns (the price exchange, or those pending)."""
        symbol, doc, exc = refreshed.symbol, refreshed.doc, refreshed.error
        if isinstance(exc, StoreUnavailable):
            self._store_failed(exc)
            return RETRY, ""
        if exc is not None or doc is None:
            return self._failed(symbol, exc or RuntimeError("no document"), refreshed.known)
        self._store_ok()
        if doc.pending:
            # Some exchange failed: the provisional document is stored and answered now, and the
            # message is nacked so that the redelivery asks those exchanges again soon, rather than
            # waiting a whole refresh interval with a listing that may be wrong. Only transient
            # failures are pending (a definite "no such pair" is an answer), so this ends once the
            # exchange is back, or when the subscription's dead-letter policy gives up.
            log.warning("%s: %s did not answer; the refresh will be retried", symbol, ", ".join(doc.pending))
            return PROVISIONAL, ",".join(doc.pending)
        return REFRESHED, doc.price_exchange

    def _store_ok(self) -> None:
        lasted = self.store_outage.recovered(self.clock().timestamp())
        if lasted is not None:
            log.warning("the store takes writes again after %.0f s; refreshes resume", lasted)
            self.on_store_status("ok")

    def _store_failed(self, exc: StoreUnavailable) -> None:
        now = self.clock().timestamp()
        _, report = self.store_outage.failed(str(exc), now)
        if report:
            log.error(
                "store unwritable, refreshes wait for it (redelivered with backoff; reported once a minute): %s",
                self.store_outage.status(now),
            )
            self.on_store_status(self.store_outage.status(now))

    def _failed(self, symbol: str, exc: Exception, known: bool) -> tuple[str, str]:
        """The outcome of a refresh that raised; only coins the store knows get a failure record."""
        if isinstance(exc, UnknownSymbol):
            # Junk symbols must not grow the store.
            if known:
                self._mark_failed(symbol, exc)
                return FAILED, ""
            log.warning("ignoring %s: %s", symbol, exc, extra={"symbol": symbol})
            return IGNORED, ""
        if isinstance(exc, PERMANENT):
            self._mark_failed(symbol, exc)
            return FAILED, ""
        if isinstance(exc, TRANSIENT):
            # With one exchange down, a junk symbol cannot be told from a coin listed only there:
            # it is retried, but only a coin the store knows gets a failure record.
            if known:
                self._mark_failed(symbol, exc)
            else:
                log.warning("refresh of %s postponed: %s", symbol, exc, extra={"symbol": symbol})
            return RETRY, ""
        # A bug must not kill the worker; redelivery then dead-lettering bound it.
        log.error("unexpected error refreshing %s", symbol, exc_info=exc, extra={"symbol": symbol})
        self._mark_failed(symbol, exc)
        return RETRY, ""

    def _mark_failed(self, symbol: str, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        fields = {"symbol": symbol}
        log.warning("refresh of %s failed: %s", symbol, reason, extra=fields)
        try:
            self.store.record_failure(symbol, reason[:500], self.clock())
        except DelosError as store_exc:
            log.warning("could not record the failure of %s: %s", symbol, store_exc, extra=fields)

    def _fan_out(self, force: bool) -> Verdict:
        queue = self.fan_out_queue
        if queue is None:
            raise ValueError("fan-out needs a queue")
        symbols = listed_symbols(self.sources)
        if symbols is None:
            return Verdict.NACK
        try:
            for symbol in symbols:
                body = messages.encode(messages.RefreshRequest(symbols=(symbol,), force=force))
                queue.publish(body, {"origin": "fan-out"})
        except Exception:  # redelivery repeats the fan-out; per-coin refreshes are idempotent
            log.exception("fan-out interrupted; the message will be redelivered")
            return Verdict.NACK
        log.info("fanned out a refresh of %d coins", len(symbols), extra={"outcome": "fanned_out"})
        return Verdict.ACK


def listed_symbols(sources: Sequence[PriceSource]) -> list[str] | None:
    """What `{"all": true}` fans out to: every symbol some live exchange has a pair for; None when no
    exchange's list could be read.

    An exchange whose list is unavailable is left out of this round (logged): its coins that
    other exchanges list are still refreshed, and each refresh asks every exchange anyway.
    """
    symbols: set[str] = set()
    answered = False
    for source in sources:
        if is_archived(source.name):
            continue  # the archive only adds history to coins an exchange lists
        try:
            symbols.update(pair.symbol for pair in source.pairs())
            answered = True
        except ExchangeUnavailable as exc:
            log.warning("fan-out without %s: its pair list is unavailable: %s", source.name, exc)
    if not answered:
        log.warning("fan-out postponed: no exchange's pair list is available")
        return None
    return sorted(symbols)
