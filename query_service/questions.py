"""Validated questions, shared by both APIs: turn raw request fields into a cached coin and amounts.

Status texts reach end users through proxies and front ends, so they say what is wrong with the
request in the caller's words; what an operator could do about it goes to the logs instead.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from common import lambo
from common.document import CoinDocument
from common.errors import InvalidRequest, NotCached, NotReady
from common.exchanges import ASKABLE
from common.listings import ExchangeListing
from common.symbols import normalize_symbol
from query_service.cache import CoinCache, PreparedCoin

log = logging.getLogger(__name__)

MISS_NOTE_INTERVAL_S = 60.0


class MissNotes:
    """Operator hints about coins asked for but not cached: one log line a minute at most, symbols only."""

    def __init__(self, interval_s: float = MISS_NOTE_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._last_note_s = -float("inf")
        self._unnoted = 0

    def note(self, symbol: str, now_s: float) -> bool:
        """Count a miss; log it (with the misses held back since the last line) when the interval is over."""
        if now_s - self._last_note_s < self.interval_s:
            self._unnoted += 1
            return False
        log.info(
            "asked for %s, which is not cached (%d other misses since the last note); if it should be served, "
            'publish a refresh: `delos publish %s` or {"symbols": ["%s"]} to the refresh topic',
            symbol,
            self._unnoted,
            symbol,
            symbol,
        )
        self._last_note_s, self._unnoted = now_s, 0
        return True


MISSES = MissNotes()


def cached_coin(cache: CoinCache, raw_symbol: object) -> PreparedCoin:
    """The cached coin for a user's symbol, or InvalidRequest / NotCached saying what is wrong."""
    if type(raw_symbol) is str:
        # The cache holds normalised symbols only (see CoinCache.update), so a symbol found as typed
        # is already normal: the checks below are for the others.
        found = cache.get(raw_symbol)
        if found is not None:
            return found
    symbol = normalize_symbol(raw_symbol)
    coin = cache.get(symbol)
    if coin is None:
        if not cache.loaded:
            raise NotReady("the cache is still loading; retry in a moment")
        MISSES.note(symbol, time.monotonic())
        raise NotCached(f"no price data for {symbol}; check the symbol, or try again later")
    return coin


def is_stale(cache: CoinCache, coin: PreparedCoin) -> bool:
    """Stale as the domain says (common.lambo.is_stale), or while the store cannot be reached."""
    return not cache.connected or lambo.is_stale(coin.doc.as_of, datetime.now(UTC))


def listing_at(doc: CoinDocument, exchange: str) -> ExchangeListing:
    """The coin's listing on the exchange a request names; InvalidRequest / NotCached saying why not."""
    name = exchange.strip().lower()
    if name not in ASKABLE:
        raise InvalidRequest(f"exchange must be one of {', '.join(ASKABLE)}, got {exchange[:40]!r}")
    found = doc.listing_on(name)
    if found is None:
        listed = ", ".join(x.exchange for x in doc.listings) or "none known yet"
        raise NotCached(f"{doc.symbol} has no listing on {name} (listed on: {listed})")
    return found
