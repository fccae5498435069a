"""Store keys: only a normalised symbol ever becomes a row key or a document id."""

from __future__ import annotations

from common.errors import InvalidRequest
from common.symbols import normalize_symbol


def symbol_key(symbol: str) -> str:
    """The key for `symbol`; InvalidRequest unless it is already canonical (BTC, not btc or ../x)."""
    key = normalize_symbol(symbol)
    if key != symbol:
        # A document's own symbol must be canonical: storing "btc" under "BTC" would make
        # the key and the document disagree, and readers trust the key.
        raise InvalidRequest(f"symbol {key!r} must be written in canonical form")
    return key
