"""What every fake exchange puts on the wire: compact JSON, replies, and the failures of plain HTTP."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from fake_exchange.faults import Fault

JSON = "application/json; charset=utf-8"
# (status, body, content type, extra headers)
Reply = tuple[int, bytes, str, dict[str, str]]

_PROXY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


def dumps(payload: object) -> bytes:
    """Compact JSON, as the exchanges send it."""
    return json.dumps(payload, separators=(",", ":")).encode()


def json_reply(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return status, body, JSON, headers or {}


def http_fault(fault: Fault, retry_after_s: int) -> Reply | None:
    """Failures that look the same whichever exchange sits behind the CDN; None for any other fault."""
    if fault is Fault.HTTP_429:
        return 429, b"Too Many Requests", "text/plain", {"Retry-After": str(retry_after_s)}
    if fault is Fault.HTTP_500:
        return 500, b"<html><body>Internal Server Error</body></html>", "text/html", {}
    if fault is Fault.HTTP_503:
        return 503, b"<html><body>Service Unavailable</body></html>", "text/html", {}
    if fault is Fault.HTML:
        return 200, _PROXY_PAGE, "text/html", {}
    return None


def decimals(lows: Iterable[float]) -> int:
    """Enough decimals for five significant digits of the smallest price, like an exchange's price precision."""
    lowest = min((low for low in lows if low > 0), default=1.0)
    return min(12, max(1, 5 - math.floor(math.log10(lowest))))
