"""Refresh messages: what Cloud Scheduler, operators and the fan-out publish.

Body is JSON: {"symbols": ["BTC", "ETH"]} or {"all": true}, optional "force": true.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from common.errors import InvalidMessage, InvalidRequest
from common.symbols import normalize_symbol

MAX_MESSAGE_BYTES = 64 * 1024
MAX_SYMBOLS_PER_MESSAGE = 1000


@dataclass(frozen=True, slots=True)
class RefreshRequest:
    """Refresh these coins (or every coin when `all`); `force` recomputes the listing too."""

    symbols: tuple[str, ...] = ()
    all: bool = False
    force: bool = False


def encode(request: RefreshRequest) -> bytes:
    """The JSON body for a refresh message."""
    body: dict[str, object] = {"all": True} if request.all else {"symbols": list(request.symbols)}
    if request.force:
        body["force"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def decode(body: bytes) -> RefreshRequest:
    """Parse and validate a message body; InvalidMessage says why it can never be processed."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"message of {len(body)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidMessage("message is not JSON") from exc
    if not isinstance(data, dict):
        raise InvalidMessage("message must be a JSON object")
    unknown = set(data) - {"symbols", "all", "force"}
    if unknown:
        raise InvalidMessage(f"unknown keys {sorted(unknown)[:5]}: expected symbols, all, force")
    every = data.get("all", False)
    force = data.get("force", False)
    raw_symbols = data.get("symbols", [])
    if not isinstance(every, bool) or not isinstance(force, bool):
        raise InvalidMessage('"all" and "force" must be true or false')
    if not isinstance(raw_symbols, list):
        raise InvalidMessage('"symbols" must be a list of strings')
    if len(raw_symbols) > MAX_SYMBOLS_PER_MESSAGE:
        raise InvalidMessage(f"at most {MAX_SYMBOLS_PER_MESSAGE} symbols per message")
    if every == bool(raw_symbols):
        raise InvalidMessage('give either "symbols" (non-empty) or "all": true')
    try:
        symbols = tuple(dict.fromkeys(normalize_symbol(s) for s in raw_symbols))
    except InvalidRequest as exc:
        raise InvalidMessage(str(exc)) from exc
    return RefreshRequest(symbols=symbols, all=every, force=force)
