"""Turn one delivered refresh message into coin refreshes, and decide ack or nack."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from common import messages
from common.errors import (
    BadPriceData,
    DelosError,
    ExchangeUnavailable,
    InvalidMessage,
    StoreUnavailable,
    UnknownSymbol,
)
from common.outage import Outage
from common.ports import CoinStore, Delivery, PriceSource, RefreshQueue, Verdict
from ingest_worker.refresh import refresh_coin

log = logging.getLogger(__name__)

# Failures that will not go away by retrying the same message: the coin is marked failed.
PERMANENT: tuple[type[DelosError], ...] = (UnknownSymbol, BadPriceData)
# Failures worth a redelivery: the exchange or the store may be back later.
TRANSIENT: tuple[type[DelosError], ...] = (ExchangeUnavailable, StoreUnavailable)


@dataclass
class RefreshHandler:
    """Handles refresh messages; one instance per worker process.

    `fan_out_queue` set: `{"all": true}` becomes one message per USD pair the
    exchange lists, so each coin is retried and scaled on its own. Unset: `all`
    means the configured coin list, refreshed in this delivery.
    """

    source: PriceSource
    store: CoinStore
    coins: Sequence[str]
    clock: Callable[[], datetime]
    exchange: str = "kraken"
    sample_data: bool = False
    fan_out_queue: RefreshQueue | None = None
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
            )
            return Verdict.ACK
        if request.all and self.fan_out_queue is not None:
            return self._fan_out(request.force)
        symbols = self.coins if request.all else request.symbols
        retry = False
        for symbol in symbols:
            retry |= not self.refresh(symbol, request.force)
            if self.store_outage.down:
                break  # nothing can be saved: the rest waits for the redelivery instead of asking the exchange
        return Verdict.NACK if retry else Verdict.ACK

    def refresh(self, symbol: str, force: bool) -> bool:
        """Refresh one coin; False when the failure is transient and the message should come back."""
        try:
            refresh_coin(
                symbol,
                self.source,
                self.store,
                self.clock(),
                exchange=self.exchange,
                force=force,
                sample_data=self.sample_data,
            )
            self._store_ok()
            return True
        except StoreUnavailable as exc:
            self._store_failed(exc)
            return False
        except UnknownSymbol as exc:
            # Only coins Delos knows get a failure record: junk symbols must not grow the store.
            if self.store.get(symbol) is not None:
                self._mark_failed(symbol, exc)
            else:
                log.warning("ignoring %s: %s", symbol, exc)
            return True
        except PERMANENT as exc:
            self._mark_failed(symbol, exc)
            return True
        except TRANSIENT as exc:
            self._mark_failed(symbol, exc)
            return False
        except Exception as exc:  # a bug must not kill the worker; redelivery then dead-lettering bound it
            log.exception("unexpected error refreshing %s", symbol)
            self._mark_failed(symbol, exc)
            return False

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

    def _mark_failed(self, symbol: str, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        log.warning("refresh of %s failed: %s", symbol, reason)
        try:
            self.store.record_failure(symbol, reason[:500], self.clock())
        except DelosError as store_exc:
            log.warning("could not record the failure of %s: %s", symbol, store_exc)

    def _fan_out(self, force: bool) -> Verdict:
        queue = self.fan_out_queue
        if queue is None:
            raise ValueError("fan-out needs a queue")
        try:
            pairs = self.source.usd_pairs()
        except ExchangeUnavailable as exc:
            log.warning("fan-out postponed, the exchange's pair list is unavailable: %s", exc)
            return Verdict.NACK
        try:
            for pair in pairs:
                body = messages.encode(messages.RefreshRequest(symbols=(pair.symbol,), force=force))
                queue.publish(body, {"origin": "fan-out"})
        except Exception:  # redelivery repeats the fan-out; per-coin refreshes are idempotent
            log.exception("fan-out interrupted; the message will be redelivered")
            return Verdict.NACK
        log.info("fanned out a refresh of %d coins", len(pairs))
        return Verdict.ACK
