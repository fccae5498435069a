"""Turn one delivered refresh message into coin refreshes, and decide ack or nack."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
from common.ports import CoinStore, Delivery, PriceSource, RefreshQueue, Verdict
from ingest_worker.refresh import refresh_coin

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
IGNORED = "ignored"  # a symbol Delos does not know and the exchange does not list


def _delivery_fields(delivery: Delivery) -> dict[str, object]:
    return {"message_id": delivery.message_id, "delivery_attempt": delivery.delivery_attempt}


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
        for symbol in symbols:
            started = time.perf_counter()
            outcome = self._refresh(symbol, request.force)
            retry |= outcome == RETRY
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            REFRESHES.add(1, {"outcome": outcome, "exchange": self.exchange})
            REFRESH_DURATION.record(duration_ms, {"exchange": self.exchange})
            log.info(
                "refresh of %s: %s",
                symbol,
                outcome,
                extra={
                    **_delivery_fields(delivery),
                    "symbol": symbol,
                    "exchange": self.exchange,
                    "outcome": outcome,
                    "duration_ms": duration_ms,
                },
            )
        return Verdict.NACK if retry else Verdict.ACK

    def refresh(self, symbol: str, force: bool) -> bool:
        """Refresh one coin; False when the failure is transient and the message should come back."""
        return self._refresh(symbol, force) != RETRY

    def _refresh(self, symbol: str, force: bool) -> str:
        """Refresh one coin and name the outcome (one of OUTCOMES)."""
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
            return REFRESHED
        except UnknownSymbol as exc:
            # Only coins Delos knows get a failure record: junk symbols must not grow the store.
            if self.store.get(symbol) is not None:
                self._mark_failed(symbol, exc)
                return FAILED
            log.warning("ignoring %s: %s", symbol, exc, extra={"symbol": symbol, "exchange": self.exchange})
            return IGNORED
        except PERMANENT as exc:
            self._mark_failed(symbol, exc)
            return FAILED
        except TRANSIENT as exc:
            self._mark_failed(symbol, exc)
            return RETRY
        except Exception as exc:  # a bug must not kill the worker; redelivery then dead-lettering bound it
            log.exception("unexpected error refreshing %s", symbol, extra={"symbol": symbol, "exchange": self.exchange})
            self._mark_failed(symbol, exc)
            return RETRY

    def _mark_failed(self, symbol: str, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        fields = {"symbol": symbol, "exchange": self.exchange}
        log.warning("refresh of %s failed: %s", symbol, reason, extra=fields)
        try:
            self.store.record_failure(symbol, reason[:500], self.clock())
        except DelosError as store_exc:
            log.warning("could not record the failure of %s: %s", symbol, store_exc, extra=fields)

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
        log.info(
            "fanned out a refresh of %d coins", len(pairs), extra={"exchange": self.exchange, "outcome": "fanned_out"}
        )
        return Verdict.ACK
