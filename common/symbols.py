"""User-typed coin symbols: normalised once, so no user text ever becomes a store key."""

from __future__ import annotations

import re

from common.errors import InvalidRequest

_SYMBOL = re.compile(r"[A-Z0-9]{2,12}")
_MAX_SHOWN = 20


def normalize_symbol(raw: object) -> str:
    """The upper-cased symbol, or InvalidRequest saying what is wrong with it."""
    if not isinstance(raw, str):
        raise InvalidRequest("symbol must be a string")
    if not raw.strip():
        raise InvalidRequest("symbol is empty")
    # ASCII first: some non-ASCII letters upper-case to ASCII ones ("ſol" would become SOL).
    candidate = raw.strip()
    candidate = candidate.upper() if candidate.isascii() else candidate
    # Length first: a megabyte of text is refused without being scanned or echoed back.
    if len(candidate) > 12 or not _SYMBOL.fullmatch(candidate):
        shown = candidate[:_MAX_SHOWN].encode("ascii", "backslashreplace").decode("ascii")
        suffix = "..." if len(candidate) > _MAX_SHOWN else ""
        raise InvalidRequest(f"symbol {shown!r}{suffix} must be 2 to 12 letters or digits, like BTC")
    return candidate


def is_normal_symbol(symbol: str) -> bool:
    """Whether `symbol` is what normalize_symbol makes of some input: a valid symbol, already normal."""
    return len(symbol) <= 12 and _SYMBOL.fullmatch(symbol) is not None
