"""Validated questions, shared by both APIs: turn raw request fields into a cached coin and amounts."""

from __future__ import annotations

import time

from common.document import CoinDocument
from common.errors import InvalidRequest, NotCached, NotReady
from common.exchanges import ASKABLE
from common.listings import ExchangeListing
from common.symbols import normalize_symbol
from query_service.cache import CoinCache, PreparedCoin

STALE_AFTER_S = 3 * 86400.0


def cached_coin(cache: CoinCache, raw_symbol: object) -> PreparedCoin:
    """The cached coin for a user's symbol, or InvalidRequest / NotCached saying what to do."""
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
        raise NotCached(
            f"{symbol} is not cached yet: request it with `delos publish {symbol}` "
            f'(or publish {{"symbols": ["{symbol}"]}} to the refresh topic), then ask again'
        )
    return coin


def is_stale(cache: CoinCache, coin: PreparedCoin) -> bool:
    """Stale when the newest price is over three days old, or the store cannot be reached."""
    return not cache.connected or time.time() - coin.as_of_s > STALE_AFTER_S


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
